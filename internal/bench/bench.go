package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/otto-automation/otto/internal/testbin"
)

// Options say what Run does. The zero value of a mode's field turns the
// mode off.
type Options struct {
	// Otto is the otto binary to run as the server; "" builds one.
	Otto string
	// OttoTest is the otto binary built with -tags ottotest that serves
	// the per-frame sweep (it has the per-frame knob, see
	// internal/testbin.Tag); "" builds one when PerFrameN > 0.
	OttoTest string
	// Dir is where the data directories, configs and logs go; "" makes a
	// temporary directory, removed at the end unless Keep is set.
	Dir  string
	Keep bool
	// Out receives the progress lines and the tables.
	Out     io.Writer
	Verbose bool // log the clients' warnings to clients.log under Dir
	// JSONOut, if set, is the file the report is written to as JSON.
	JSONOut string

	// Scale mode: for each fleet size in Ns, the sweep, `true` on all,
	// 1 MiB of output on MiBHosts hosts and the rotation of every PSK.
	Ns       []int
	MiBHosts int // hosts of the 1 MiB run; at most N
	Repeat   int // measured sweeps and `true` runs per N; the median is reported
	// WarmUpParallel is Network.MaxParallel during warm-ups; 0 means 4.
	WarmUpParallel int
	// RotateParallel is how many PSK rotations are requested at once.
	RotateParallel int
	// ServerEnv is added to the server's environment (GOGC=..., GOMEMLIMIT=...),
	// for experiments.
	ServerEnv []string
	// PerFrameN is the fleet size of the heartbeat sweep with the key
	// derived per frame on both sides; 0 skips it. It needs this program
	// built with -tags ottotest (see PerFrameBuilt).
	PerFrameN int

	// Soak mode: mixed API load and a run every SoakRunEvery on
	// SoakClients clients, for Soak.
	Soak         time.Duration
	SoakClients  int
	SoakSample   time.Duration // how often RSS and descriptors are sampled
	SoakRunEvery time.Duration
	SoakRate     int // API requests per second of the load generator

	// Hostile mode: the API under a fuzzing client for Hostile.
	Hostile        time.Duration
	HostileWorkers int
	// HostileSeed seeds the fuzzer; 0 picks one (printed, for replay).
	HostileSeed int64

	// Crash mode: kill -9 during a fan-out and during rotations on CrashN
	// hosts.
	Crash  bool
	CrashN int
}

// Bench runs the modes of one invocation.
type Bench struct {
	opts     Options
	out      io.Writer
	dir      string
	otto     string
	ottoTest string // the per-frame sweep's server (Options.OttoTest)
	report   *Report
}

// ErrFailed means a check failed: a host unreachable, output lost, a 500,
// a change lost in a crash. The report says which.
var ErrFailed = errors.New("bench: checks failed")

// Run runs the modes opts selects, prints their tables to opts.Out and
// returns the report. It returns an error matching ErrFailed when a check
// failed (budgets are reported, not checked).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Repeat <= 0 {
		opts.Repeat = 1
	}
	if opts.RotateParallel <= 0 {
		opts.RotateParallel = 16
	}
	if opts.PerFrameN > 0 && !PerFrameBuilt {
		return nil, fmt.Errorf("bench: the per-frame sweep needs otto-bench built with -tags %s (make bench does; see internal/testbin.Tag), or no per-frame sweep (--per-frame-n 0)", testbin.Tag)
	}
	b := &Bench{opts: opts, out: opts.Out, report: newReport()}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "otto-bench-")
		if err != nil {
			return nil, err
		}
		dir = d
		if !opts.Keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b.dir = dir
	b.logf("working directory %s", dir)

	b.otto = opts.Otto
	if b.otto == "" {
		b.logf("building otto")
		bin, err := BuildOtto(ctx, dir)
		if err != nil {
			return nil, err
		}
		b.otto = bin
	}
	b.ottoTest = opts.OttoTest
	if b.ottoTest == "" && opts.PerFrameN > 0 {
		b.logf("building otto -tags %s, for the per-frame sweep", testbin.Tag)
		bin, err := BuildOttoTest(ctx, dir)
		if err != nil {
			return nil, err
		}
		b.ottoTest = bin
	}
	b.report.Machine = describeMachine(b.otto)
	b.logf("open files limit %d", raiseFileLimit())

	var errs []error
	note := func(err error) {
		if err != nil {
			b.report.fail("%v", err)
			errs = append(errs, err)
			b.logf("FAILED: %v", err)
		}
	}
	for _, n := range opts.Ns {
		if ctx.Err() != nil {
			break
		}
		note(b.scale(ctx, n))
	}
	if opts.PerFrameN > 0 && ctx.Err() == nil {
		note(b.perFrame(ctx, opts.PerFrameN))
	}
	if opts.Soak > 0 && ctx.Err() == nil {
		note(b.soak(ctx))
	}
	if opts.Hostile > 0 && ctx.Err() == nil {
		note(b.hostile(ctx))
	}
	if opts.Crash && ctx.Err() == nil {
		note(b.crash(ctx))
	}
	if ctx.Err() != nil {
		note(fmt.Errorf("interrupted: %w", context.Cause(ctx)))
	}
	b.report.finish()
	b.report.print(b.out)
	if opts.JSONOut != "" {
		data, err := json.MarshalIndent(b.report, "", "  ")
		if err == nil {
			err = os.WriteFile(opts.JSONOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			return b.report, fmt.Errorf("writing %s: %w", opts.JSONOut, err)
		}
		b.logf("wrote %s", opts.JSONOut)
	}
	if len(errs) > 0 {
		return b.report, fmt.Errorf("%w: %w", ErrFailed, errors.Join(errs...))
	}
	return b.report, nil
}

// logf prints a progress line with the time since the start.
func (b *Bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "[%7.1fs] %s\n", time.Since(b.report.start).Seconds(), fmt.Sprintf(format, args...))
}

// keepLog copies a failed server's log next to the report when the
// directory is removed, so a failure can be read: the last 8 KiB to Out.
func (b *Bench) keepLog(path string) {
	if b.opts.Dir != "" || b.opts.Keep {
		b.logf("server log: %s", path)
		return
	}
	fmt.Fprintf(b.out, "--- last lines of %s ---\n", filepath.Base(path))
	copyTail(b.out, path, 8<<10)
	fmt.Fprintln(b.out, "---")
}

// median returns the index of the median of vals.
func median(vals []time.Duration) int {
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(vals[a] - vals[b]) })
	return idx[(len(idx)-1)/2]
}
