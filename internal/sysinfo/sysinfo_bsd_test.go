//go:build freebsd || openbsd || netbsd

package sysinfo

import "testing"

func TestDistribution_BSD(t *testing.T) {
	name, version, err := distribution("FreeBSD", "14.1-RELEASE")
	if err != nil || name != "FreeBSD" || version != "14.1-RELEASE" {
		t.Errorf("distribution(FreeBSD, 14.1-RELEASE) = %q, %q, %v; want the kernel's name and release", name, version, err)
	}
}
