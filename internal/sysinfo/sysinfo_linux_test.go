package sysinfo

import (
	"os"
	"testing"
)

func TestDistribution_ThisHost(t *testing.T) {
	var want map[string]string
	for _, p := range osReleasePaths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		want, err = parseOSRelease(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if want == nil {
		t.Skip("skipping: this host has no os-release")
	}
	name, version, err := distribution("", "")
	wantName, wantVersion := distributionFrom(want)
	if err != nil || name != wantName || version != wantVersion {
		t.Errorf("distribution() = %q, %q, %v; want %q, %q, nil", name, version, err, wantName, wantVersion)
	}
}
