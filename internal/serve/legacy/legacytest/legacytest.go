// Package legacytest gives tests the data directory of a real otto 0.10.6
// server, with what its API answered for that data (see
// ../testdata/otto-0.10.6-data/README.md).
package legacytest

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Secrets of the fixture, from its expected/secrets.txt.
const (
	AdminPassword = "fixture-admin-pw"
	AlicePassword = "fixture-alice-pw"
	AliceAPIKey   = "otto_jTyP4DHZGt6L9dX7b9BHxgLVyGR9BcCbZG08jDLBS3TVRrk95BDsY06WSrP"
)

// Dir is the fixture: the folder holding data/ and expected/. Tests must
// not change it; use Copy for that.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "otto-0.10.6-data")
}

// Expected returns the path of expected/name, what 0.x answered.
func Expected(name string) string { return filepath.Join(Dir(), "expected", name) }

// Copy copies the fixture's data/ into a temporary directory of t and
// returns the copy's data/.
func Copy(t testing.TB) string {
	t.Helper()
	src := filepath.Join(Dir(), "data")
	dst := filepath.Join(t.TempDir(), "data")
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
