package exec

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func assertFile(t *testing.T, path string, mode os.FileMode, data string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&allowedModeBits != mode {
		t.Errorf("%s has mode %v, want a regular file with mode %v", path, fi.Mode(), mode)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != data {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
}

func TestModeFromUnix(t *testing.T) {
	tests := []struct {
		bits uint32
		want os.FileMode
	}{
		{0o644, 0o644},
		{0o755, 0o755},
		{0, 0},
		{0o4755, os.ModeSetuid | 0o755},
		{0o2750, os.ModeSetgid | 0o750},
		{0o1777, os.ModeSticky | 0o777},
		{0o170644, 0o644},
	}
	for _, tt := range tests {
		if got := ModeFromUnix(tt.bits); got != tt.want {
			t.Errorf("ModeFromUnix(%#o) = %v, want %v", tt.bits, got, tt.want)
		}
	}
}

// TestPlaceFile is not parallel: it sets the process umask to prove that
// modes do not depend on it.
func TestPlaceFile(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	dir := t.TempDir()
	tests := []struct {
		name string
		mode os.FileMode
		data string
	}{
		{"new/sub/plain", 0o644, "plain"},
		{"exec", 0o755, "#!/bin/sh\n"},
		{"none", 0, ""},
		{"setuid", ModeFromUnix(0o4755), "suid"},
		{"group", ModeFromUnix(0o2770), "sgid"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := PlaceFile(File{Path: path, Owner: Credential{Inherit: true}, Mode: tt.mode, Data: []byte(tt.data)}); err != nil {
			t.Fatalf("PlaceFile(%s) = %v", tt.name, err)
		}
		assertFile(t, path, tt.mode, tt.data)
	}
	for _, d := range []string{"new", "new/sub"} {
		fi, err := os.Stat(filepath.Join(dir, d))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("created parent %s has mode %v, want 0755 under umask 077", d, fi.Mode().Perm())
		}
	}

	// Replacing a regular file: new content and mode, no temporary left.
	path := filepath.Join(dir, "exec")
	if err := PlaceFile(File{Path: path, Owner: Credential{Inherit: true}, Mode: 0o600, Data: []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, 0o600, "v2")
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(tests) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the placed files", names)
	}
}

func TestPlaceFile_Owner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: giving a file to another user needs root; run the tests as root to cover it")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "owned")
	mode := ModeFromUnix(0o4750) // setuid must survive the chown
	if err := PlaceFile(File{Path: path, Owner: Credential{UID: 65534, GID: 65533}, Mode: mode, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, mode, "x")
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 65533 {
		t.Errorf("%s is owned by %d:%d, want 65534:65533", path, st.Uid, st.Gid)
	}
}

func TestPlaceFile_Refused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		path, kind string
	}{{sub, "directory"}, {link, "symbolic link"}, {fifo, "named pipe"}} {
		err := PlaceFile(File{Path: tt.path, Owner: Credential{Inherit: true}, Mode: 0o644, Data: []byte("new")})
		want := "exec: file " + tt.path + ": refusing to replace a " + tt.kind
		if !errors.Is(err, ErrNotRegularFile) || err.Error() != want {
			t.Errorf("PlaceFile(%s) = %v, want %q (ErrNotRegularFile)", tt.kind, err, want)
		}
	}
	assertFile(t, target, 0o644, "keep") // not written through the link
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v, %v", fi, err)
	}

	invalid := []File{
		{Path: "relative/path", Owner: Credential{Inherit: true}, Mode: 0o644},
		{Path: "", Owner: Credential{Inherit: true}, Mode: 0o644},
		{Path: filepath.Join(dir, "m"), Owner: Credential{Inherit: true}, Mode: os.ModeDir | 0o755},
		{Path: filepath.Join(dir, "m"), Owner: Credential{Inherit: true}, Mode: 0o4755}, // raw bits, not ModeFromUnix
	}
	for _, f := range invalid {
		if err := PlaceFile(f); !errors.Is(err, ErrInvalid) {
			t.Errorf("PlaceFile(%q, %v) = %v, want ErrInvalid", f.Path, f.Mode, err)
		}
	}

	// A parent that is a file.
	err := PlaceFile(File{Path: filepath.Join(target, "child"), Owner: Credential{Inherit: true}, Mode: 0o644})
	if err == nil {
		t.Error("PlaceFile(below a regular file) = nil, want an error")
	}

	// Another owner without root: refused before anything is written.
	owned := filepath.Join(dir, "newdir", "owned")
	err = placeFile(File{Path: owned, Owner: Credential{UID: 65534, GID: 65534}, Mode: 0o644}, 1000, 1000)
	if !errors.Is(err, ErrNeedRoot) {
		t.Errorf("placeFile(owner 65534, client uid 1000) = %v, want ErrNeedRoot", err)
	}
	if _, err := os.Lstat(filepath.Dir(owned)); err == nil {
		t.Errorf("refused placeFile still created %s", filepath.Dir(owned))
	}
}
