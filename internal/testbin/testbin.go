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

// Tag is the build tag of otto's test knobs: what only a test or a
// benchmark uses but must run in a real otto process lives in files named
// knobs_ottotest.go, built only with -tags ottotest, each beside a knobs.go
// that is its no-op counterpart. They are OTTO_CLIENT_TEST_HANG_AT (the
// client hangs at a step of a PSK update, for TestPSKUpdateCrash to kill
// it there), OTTO_BENCH_DERIVE_PER_FRAME=1 (the server derives the key for
// every frame, as 0.x did, through fleet.Config.DeriveKeyPerFrame) and
// client.ServeOptions.DeriveKeyPerFrame (the same for otto-bench's
// in-process clients). Release builds (make build, make cross) never set
// it, and CI (.ci/run) fails if bin/otto holds a knob. OttoTest and
// otto-bench build otto with it; otto-bench itself needs it for its
// per-frame sweep (make bench sets it).
const Tag = "ottotest"

// binary is one build of otto, made on first use.
type binary struct {
	tags string // -tags of the build; "" for none
	once sync.Once
	path string
	err  error
	out  []byte
}

var (
	release  = &binary{}
	withTags = &binary{tags: Tag}
)

// Otto returns the path of a freshly built otto binary. The first call
// builds it (from the module root, with the race detector off and the
// flags of "make build", as users get it); later calls reuse it. The
// binary lives in a temporary directory that is left for the OS to clean,
// since it outlives any one test.
func Otto(tb testing.TB) string {
	tb.Helper()
	return release.get(tb)
}

// OttoTest is Otto built with -tags ottotest (see Tag): the release
// binary plus the test knobs. Use it only for the process whose knob a
// test sets.
func OttoTest(tb testing.TB) string {
	tb.Helper()
	return withTags.get(tb)
}

func (b *binary) get(tb testing.TB) string {
	tb.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "otto-testbin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "otto")
		args := []string{"build", "-trimpath", "-ldflags=-s -w"}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.Command("go", append(args, "-o", b.path, ".")...)
		cmd.Dir = moduleRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		tb.Fatalf("building otto (tags %q): %v\n%s", b.tags, b.err, b.out)
	}
	return b.path
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
