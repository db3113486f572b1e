package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a file to place on this machine before a script runs, or on its
// own (the protocol's upload actions).
type File struct {
	// Path is the absolute path of the file. Missing parent directories are
	// created with mode 0755, owned by the client's user.
	Path string
	// Owner is the file's owner. The zero value means uid 0, gid 0; set
	// Inherit to keep the client's own user.
	Owner Credential
	// Mode is the file's permission bits, set exactly whatever the umask:
	// the zero value means mode 0000. Only os.ModePerm, os.ModeSetuid,
	// os.ModeSetgid and os.ModeSticky may be set; convert raw Unix bits (for
	// example 04755) with ModeFromUnix.
	Mode os.FileMode
	// Data is the file's content. nil means an empty file.
	Data []byte
}

// ModeFromUnix converts Unix permission bits (such as 0644 or 04755) to an
// os.FileMode: the low nine bits as they are, 04000, 02000 and 01000 to
// os.ModeSetuid, os.ModeSetgid and os.ModeSticky. Bits above 07777 are
// ignored.
func ModeFromUnix(bits uint32) os.FileMode {
	m := os.FileMode(bits) & os.ModePerm
	if bits&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if bits&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if bits&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

const allowedModeBits = os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky

// PlaceFile writes f atomically: a temporary file in the same directory gets
// the data, the owner, then the mode, is synced, and is renamed over the
// target, so a reader sees either the old file or the whole new one. It
// creates missing parent directories (0755). It never writes through or
// replaces anything that is not a regular file: a directory, symbolic link,
// device, named pipe or socket at f.Path is refused with ErrNotRegularFile.
// Giving the file to another user needs root (ErrNeedRoot).
func PlaceFile(f File) error {
	return placeFile(f, os.Geteuid(), os.Getegid())
}

func placeFile(f File, euid, egid int) (err error) {
	if f.Path == "" || !filepath.IsAbs(f.Path) {
		return &wrapError{msg: fmt.Sprintf("exec: file path %q is not absolute", f.Path), sentinel: ErrInvalid}
	}
	path := filepath.Clean(f.Path)
	if f.Mode&^allowedModeBits != 0 {
		return &wrapError{
			msg:      fmt.Sprintf("exec: file %s: mode %v is not a permission mode (use ModeFromUnix for Unix bits)", path, f.Mode),
			sentinel: ErrInvalid,
		}
	}
	if err := checkCredential(f.Owner, "giving "+path+" to", euid, egid); err != nil {
		return err
	}

	dir := filepath.Dir(path)
	if err := mkdirAll(dir); err != nil {
		return fmt.Errorf("exec: file %s: creating parent directory: %w", path, err)
	}
	if err := checkRegular(path); err != nil {
		return err
	}

	tmp, err := os.CreateTemp(dir, ".otto-tmp-*")
	if err != nil {
		return fmt.Errorf("exec: file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	if _, err := tmp.Write(f.Data); err != nil {
		return fmt.Errorf("exec: file %s: writing: %w", path, err)
	}
	// Owner before mode: chown clears the setuid and setgid bits.
	if !f.Owner.Inherit {
		if err := tmp.Chown(int(f.Owner.UID), int(f.Owner.GID)); err != nil {
			return fmt.Errorf("exec: file %s: setting owner %d:%d: %w", path, f.Owner.UID, f.Owner.GID, err)
		}
	}
	if err := tmp.Chmod(f.Mode); err != nil {
		return fmt.Errorf("exec: file %s: setting mode %v: %w", path, f.Mode, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("exec: file %s: syncing: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("exec: file %s: closing: %w", path, err)
	}
	// Check again just before the rename, to narrow the window in which
	// something else could appear. rename(2) itself never follows a symbolic
	// link at the target and fails on a directory.
	if err := checkRegular(path); err != nil {
		return err
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("exec: file %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// checkRegular refuses path if something other than a regular file is there.
func checkRegular(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("exec: file %s: %w", path, err)
	}
	if fi.Mode().IsRegular() {
		return nil
	}
	return &wrapError{
		msg:      fmt.Sprintf("exec: file %s: refusing to replace a %s", path, describeType(fi.Mode())),
		sentinel: ErrNotRegularFile,
	}
}

func describeType(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeNamedPipe != 0:
		return "named pipe"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "file that is not a regular file"
}

// mkdirAll is os.MkdirAll with every directory it creates set to exactly
// 0755, whatever the umask: a script running as another user must be able to
// reach the files placed for it.
func mkdirAll(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if fi.IsDir() {
			return nil
		}
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Created meanwhile by someone else; fine if it is a directory.
			if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
				return nil
			}
		}
		return err
	}
	return os.Chmod(dir, 0o755)
}

// syncDir makes a rename in dir durable. Failure is ignored: some file
// systems cannot sync a directory, and the rename itself has succeeded.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
