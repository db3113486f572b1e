// Command otto-bench proves otto's budgets on loopback: a real otto server
// (the built binary, as a subprocess) and many real client daemons in this
// process, driven through the REST API. See docs/benchmarks.md.
//
//	go run -tags ottotest ./cmd/otto-bench           # N = 100 and 1,000
//	go run -tags ottotest ./cmd/otto-bench --n 5000  # a bigger fleet
//	go run ./cmd/otto-bench --soak 30m               # flat RSS and descriptors under load
//	go run ./cmd/otto-bench --hostile 5m             # the API under a fuzzer
//	go run ./cmd/otto-bench --crash                  # kill -9 mid-fan-out and mid-rotation
//
// The per-frame sweep of the scale run needs otto-bench built with -tags
// ottotest (internal/testbin.Tag), as make bench does; without it, the
// sweep is skipped unless --per-frame-n asks for it, which then fails.
//
// It exits 0 when every check passed, 1 when one failed and 2 on a usage
// error. Budgets are reported; --check-budgets makes a missed one fail.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otto-automation/otto/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is otto-bench from flags to exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("otto-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o            bench.Options
		ns           string
		scale        bool
		checkBudgets bool
	)
	fs.StringVar(&ns, "n", "100,1000", "fleet sizes of the scale run, comma-separated")
	fs.BoolVar(&scale, "scale", false, "run the scale measurements too when --soak, --hostile or --crash is given (they are the default otherwise)")
	fs.IntVar(&o.MiBHosts, "mib-hosts", 100, "hosts of the 1 MiB output run (at most N)")
	fs.IntVar(&o.Repeat, "repeat", 3, "measured sweeps and `true` runs per N; the median is reported")
	fs.IntVar(&o.RotateParallel, "rotate-parallel", 16, "PSK rotations requested at once (the in-process clients derive each new key on this machine's CPUs)")
	fs.IntVar(&o.WarmUpParallel, "warmup-parallel", 4, "hosts contacted at once during warm-ups, whose first contacts rotate every PSK (the default, 64, has all in-process clients derive keys at once)")
	fs.Func("server-env", "add KEY=VALUE to the server's environment, e.g. GOMEMLIMIT=100MiB (repeatable; for experiments)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("%q is not KEY=VALUE", v)
		}
		o.ServerEnv = append(o.ServerEnv, v)
		return nil
	})
	fs.IntVar(&o.PerFrameN, "per-frame-n", 100, "fleet size of the sweep with the key derived per frame (0 skips it; each host costs ~0.4 s of CPU; needs otto-bench built with -tags ottotest)")
	fs.DurationVar(&o.Soak, "soak", 0, "run the soak for this long (e.g. 30m)")
	fs.IntVar(&o.SoakClients, "soak-clients", 200, "clients of the soak")
	fs.DurationVar(&o.SoakSample, "soak-sample", 10*time.Second, "how often the soak samples the server")
	fs.DurationVar(&o.SoakRunEvery, "soak-run-every", 5*time.Second, "how often the soak starts a run on every client")
	fs.IntVar(&o.SoakRate, "soak-rate", 100, "API requests per second of the soak's load generator")
	fs.DurationVar(&o.Hostile, "hostile", 0, "fuzz the API for this long (e.g. 5m)")
	fs.IntVar(&o.HostileWorkers, "hostile-workers", 8, "concurrent fuzzing connections")
	fs.Int64Var(&o.HostileSeed, "hostile-seed", 0, "the fuzzer's seed (0: random, printed)")
	fs.BoolVar(&o.Crash, "crash", false, "kill -9 the server during a fan-out and during rotations, and check what survived")
	fs.IntVar(&o.CrashN, "crash-n", 100, "clients of the crash test")
	fs.StringVar(&o.Otto, "otto", "", "the otto binary to test (default: build one)")
	fs.StringVar(&o.OttoTest, "otto-test", "", "the otto binary built with -tags ottotest, the server of the per-frame sweep (default: build one)")
	fs.StringVar(&o.Dir, "dir", "", "working directory, kept (default: a temporary one, removed)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary working directory")
	fs.StringVar(&o.JSONOut, "json-out", "", "write the report as JSON to this file")
	fs.BoolVar(&o.Verbose, "v", false, "log the clients' warnings to clients.log in the working directory")
	fs.BoolVar(&checkBudgets, "check-budgets", false, "exit 1 when a budget is missed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: otto-bench [flags]\n\nMeasures otto on loopback with a real server and real clients; see docs/benchmarks.md.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "otto-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	otherMode := o.Soak > 0 || o.Hostile > 0 || o.Crash
	nSet, perFrameSet := false, false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "n" || f.Name == "per-frame-n" {
			nSet = true
		}
		perFrameSet = perFrameSet || f.Name == "per-frame-n"
	})
	if !otherMode || scale || nSet {
		sizes, err := parseSizes(ns)
		if err != nil {
			fmt.Fprintf(stderr, "otto-bench: --n: %v\n", err)
			return 2
		}
		o.Ns = sizes
	} else {
		o.PerFrameN = 0
	}
	if o.PerFrameN > 0 && !perFrameSet && !bench.PerFrameBuilt {
		fmt.Fprintln(stderr, "otto-bench: no per-frame sweep: this otto-bench was built without -tags ottotest (make bench sets it)")
		o.PerFrameN = 0
	}
	o.Out = stdout
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "otto-bench: %v\n", err)
		return 1
	}
	if checkBudgets {
		for _, b := range rep.Budgets {
			if !b.Pass {
				fmt.Fprintf(stderr, "otto-bench: budget missed: %s: %g %s\n", b.What, b.Measured, b.Unit)
				return 1
			}
		}
	}
	return 0
}

// parseSizes parses "100,1000".
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a fleet size", f)
		}
		out = append(out, n)
	}
	return out, nil
}
