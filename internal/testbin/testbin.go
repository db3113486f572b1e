// Package testbin builds the otto binary once per test process, for tests
// that run the real binary (as client, server or ottoctl) on loopback.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Otto returns the path of a freshly built otto binary. The first call
// builds it (from the module root, with the race detector off and the
// flags of "make build", as users get it); later calls reuse it. The binary lives in a temporary directory that
// is left for the OS to clean, since it outlives any one test.
func Otto(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "otto-testbin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "otto")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", build.path, ".")
		cmd.Dir = moduleRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		tb.Fatalf("building otto: %v\n%s", build.err, build.out)
	}
	return build.path
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
