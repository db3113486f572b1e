package sysinfo

import (
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDistributionFromFixtures(t *testing.T) {
	tests := []struct {
		file          string
		name, version string
	}{
		{"debian12", "Debian GNU/Linux", "12 (bookworm)"},
		{"ubuntu2404", "Ubuntu", "24.04.1 LTS (Noble Numbat)"},
		{"alpine", "Alpine Linux", "3.20.3"}, // no VERSION: VERSION_ID
		{"rhel9", "Red Hat Enterprise Linux", "9.4 (Plow)"},
		{"arch", "Arch Linux", ""}, // rolling: neither VERSION nor VERSION_ID
		{"id-only", "tinyos", "2.1"},
		{"quoting", `Single $quoted "name" \n`, "7.0 \"beta\" $HOME \\ ` \\q"},
	}
	for _, tt := range tests {
		f, err := os.Open(filepath.Join("testdata", "os-release", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		vars, err := parseOSRelease(f)
		f.Close()
		if err != nil {
			t.Errorf("parseOSRelease(%s) = %v", tt.file, err)
			continue
		}
		name, version := distributionFrom(vars)
		if name != tt.name || version != tt.version {
			t.Errorf("distributionFrom(%s) = %q, %q; want %q, %q", tt.file, name, version, tt.name, tt.version)
		}
	}
}

func TestParseOSRelease_Quoting(t *testing.T) {
	f, err := os.Open("testdata/os-release/quoting")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := parseOSRelease(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"NAME":         `Single $quoted "name" \n`,
		"VERSION":      "7.0 \"beta\" $HOME \\ ` \\q",
		"ID":           "unquoted with escapes",
		"INDENTED":     "spaced",
		"CONCAT":       "a bc d",
		"EMPTY":        "",
		"EMPTY_QUOTED": "",
		"MULTI":        "line one\nline two",
		"CONTINUED":    "joined here",
		"CRLF":         "windows",
		"HASH":         "value#not-a-comment",
		"EQUALS":       "a=b=c",
		"DUP":          "second",
		"UTF8":         "Café ☕",
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := got[k]; !ok || v != want[k] {
			t.Errorf("parseOSRelease(quoting)[%s] = %q (present %v), want %q", k, v, ok, want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("parseOSRelease(quoting) has unexpected %s=%q", k, got[k])
		}
	}
}

func TestParseOSRelease_Snippets(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"A=1", map[string]string{"A": "1"}}, // no final newline
		{"A=\"unterminated", map[string]string{"A": "unterminated"}},
		{"A='x'\"y\"z", map[string]string{"A": "xyz"}},
		{"A=it's", map[string]string{"A": "it's"}}, // quotes inside an unquoted value are literal
		{"=novalue\nB=2", map[string]string{"B": "2"}},
		{"#A=1\n  # B=2\nC=3", map[string]string{"C": "3"}},
		{"A=x\\\ny", map[string]string{"A": "xy"}},
		{"A=trailing\\ ", map[string]string{"A": "trailing "}}, // an escaped blank stays
	}
	for _, tt := range tests {
		got, err := parseOSRelease(strings.NewReader(tt.in))
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("parseOSRelease(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}

	if _, err := parseOSRelease(strings.NewReader(strings.Repeat("A=1\n", maxOSRelease))); err == nil {
		t.Errorf("parseOSRelease(%d bytes) = nil error, want too large", 4*maxOSRelease)
	}
}

func TestDistributionFrom_Defaults(t *testing.T) {
	name, version := distributionFrom(map[string]string{})
	if name != "Linux" || version != "" {
		t.Errorf("distributionFrom(empty) = %q, %q; want \"Linux\", \"\" (os-release(5) defaults)", name, version)
	}
}

func utsname(sysname, release string) *unix.Utsname {
	var u unix.Utsname
	copy(u.Sysname[:], sysname)
	copy(u.Release[:], release)
	copy(u.Nodename[:], "ignored")
	return &u
}

func TestFromUtsname(t *testing.T) {
	tests := []struct{ sysname, release string }{
		{"Linux", "6.1.0-18-amd64"},
		{"FreeBSD", "14.1-RELEASE-p5"},
		{"OpenBSD", "7.5"},
		{"NetBSD", "10.0"},
		{"", ""},
	}
	for _, tt := range tests {
		name, release := fromUtsname(utsname(tt.sysname, tt.release))
		if name != tt.sysname || release != tt.release {
			t.Errorf("fromUtsname(%q, %q) = %q, %q", tt.sysname, tt.release, name, release)
		}
	}
	// A field that fills its whole array has no NUL terminator.
	var u unix.Utsname
	full := strings.Repeat("x", len(u.Sysname))
	if name, _ := fromUtsname(utsname(full, "")); name != full {
		t.Errorf("fromUtsname(full-length sysname) = %d bytes, want %d", len(name), len(full))
	}
}

func TestProperties(t *testing.T) {
	props, err := Properties()
	if err != nil {
		t.Logf("Properties() reported %v; checking what it returned", err)
	}
	keys := slices.Sorted(maps.Keys(props))
	want := []string{"distribution_name", "distribution_version", "hostname", "kernel_name", "kernel_version"}
	if !slices.Equal(keys, want) {
		t.Fatalf("Properties() keys = %q, want %q", keys, want)
	}
	if h, herr := os.Hostname(); herr == nil && props[KeyHostname] != h {
		t.Errorf("hostname = %q, want %q", props[KeyHostname], h)
	}
	wantKernel := map[string]string{"linux": "Linux", "freebsd": "FreeBSD", "openbsd": "OpenBSD", "netbsd": "NetBSD"}[runtime.GOOS]
	if props[KeyKernelName] != wantKernel || props[KeyKernelVersion] == "" {
		t.Errorf("kernel = %q %q, want %q and a version", props[KeyKernelName], props[KeyKernelVersion], wantKernel)
	}
	if err == nil && props[KeyDistributionName] == "" {
		t.Errorf("distribution_name is empty without an error")
	}
	t.Logf("properties: %q", props)
}

func FuzzParseOSRelease(f *testing.F) {
	ents, err := os.ReadDir("testdata/os-release")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata/os-release", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := parseOSRelease(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for k, v := range vars {
			if k == "" || len(k)+len(v) > len(data) {
				t.Errorf("parseOSRelease gave %q=%q from %d bytes", k, v, len(data))
			}
		}
	})
}
