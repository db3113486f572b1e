// Package testbin runs the otto binary as its own processes, for whatever
// drives a real otto from outside: the end-to-end tests (internal/e2e,
// ottoctl's), otto-bench and "otto demo". It builds the binary (Otto,
// OttoTest, Build), starts it and stops it (Start, Proc), writes a client's
// config (ClientConfig) and waits for the line a process logs once it
// listens (Output, ServerListening, ClientListening).
//
// It does not import package testing, so that otto-bench and the otto
// binary (for "otto demo") may use it: the build helpers take a TB, which
// *testing.T and *testing.B are.
package testbin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
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

// TB is the part of testing.TB the build helpers use.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// binary is one build of otto, made on first use.
type binary struct {
	tags string // -tags of the build; "" for none
	once sync.Once
	path string
	err  error
}

var (
	release  = &binary{}
	withTags = &binary{tags: Tag}
)

// Otto returns the path of a freshly built otto binary. The first call
// builds it (with the race detector off and the flags of "make build", as
// users get it); later calls reuse it. The binary lives in a temporary
// directory that is left for the OS to clean, since it outlives any one
// test.
func Otto(tb TB) string {
	tb.Helper()
	return release.get(tb)
}

// OttoTest is Otto built with -tags ottotest (see Tag): the release
// binary plus the test knobs. Use it only for the process whose knob a
// test sets.
func OttoTest(tb TB) string {
	tb.Helper()
	return withTags.get(tb)
}

func (b *binary) get(tb TB) string {
	tb.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "otto-testbin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "otto")
		b.err = Build(context.Background(), b.path, b.tags)
	})
	if b.err != nil {
		tb.Fatalf("%v", b.err)
	}
	return b.path
}

// Build builds otto into the file out as a release is built (CGO_ENABLED=0,
// -trimpath, stripped), with the build tags tags ("" for none). It runs
// "go build" in this module's root when that is on disk (a test), or else
// in the current directory, which must be inside the module (go run
// ./cmd/otto-bench).
func Build(ctx context.Context, out, tags string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", out, "github.com/otto-automation/otto")...)
	if root := moduleRoot(); root != "" {
		cmd.Dir = root
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building otto (tags %q): %w\n%s", tags, err, b)
	}
	return nil
}

// moduleRoot returns the module's root directory as this file was compiled
// in it, or "" if it is not there (a -trimpath build elsewhere).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return ""
	}
	return root
}
