package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/bench"
	"github.com/otto-automation/otto/internal/testbin"
)

// TestHarness runs otto-bench small, so that CI proves the harness works:
// the scale steps and the per-frame comparison on 20 clients, 10 s of
// hostile input and the crash test on 20 hosts. The numbers are not
// judged here; `make bench` is for them.
//
// It runs otto-bench as a binary built without the race detector, as
// users run it: under -race, this test binary's clients would derive
// their keys about ten times slower, which makes a client slower to
// acknowledge a new PSK than the server waits (see "A PSK rotation can
// strand a slow client" in docs/benchmarks.md) and the test several
// times longer.
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and clients for about a minute")
	}
	otto, ottoTest := testbin.Otto(t), testbin.OttoTest(t)
	dir := t.TempDir()
	benchBin := filepath.Join(dir, "otto-bench")
	// With the test knobs, for the per-frame sweep's clients.
	build := exec.Command("go", "build", "-tags", testbin.Tag, "-o", benchBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building otto-bench: %v\n%s", err, out)
	}
	jsonOut := filepath.Join(dir, "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"--otto", otto, "--otto-test", ottoTest, "--dir", filepath.Join(dir, "work"), "--json-out", jsonOut,
		"--n", "20", "--per-frame-n", "20", "--mib-hosts", "10", "--repeat", "1",
		"--hostile", "10s", "--crash", "--crash-n", "20"}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, benchBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // otto-bench cleans up on SIGINT
	cmd.WaitDelay = time.Minute
	start := time.Now()
	err := cmd.Run()
	t.Logf("otto-bench %s took %s:\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), out.String())
	if err != nil {
		t.Fatalf("otto-bench: %v: %s", err, errOut.String())
	}

	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("the JSON report does not parse: %v", err)
	}
	var names []string
	for _, p := range rep.Phases {
		names = append(names, p.Name)
		if p.OK != p.Hosts || p.WallMS <= 0 {
			t.Errorf("phase %q: ok %d of %d hosts, wall %g ms", p.Name, p.OK, p.Hosts, p.WallMS)
		}
	}
	for _, want := range []string{"register", "warm-up", "sweep", "true on all", "1 MiB output", "PSK rotation",
		"sweep after rotation", "sweep, key per frame", "crash: warm-up"} {
		if !slices.Contains(names, want) {
			t.Errorf("report phases = %q, want one named %q", names, want)
		}
	}
	if rep.Hostile == nil || rep.Hostile.Requests < 50 || rep.Hostile.ByStatus["500"] != 0 || rep.Hostile.ServerDied {
		t.Errorf("hostile report = %+v, want at least 50 requests, no 500, server alive", rep.Hostile)
	}
	if c := rep.Crash; c == nil || c.RunsAcked == 0 || c.ReachableAfterRuns != 20 || c.ReachableAfterRot != 20 || c.HostsInSync != 20 ||
		c.RotationsKept != c.RotationsAcked || len(c.Problems) > 0 {
		t.Errorf("crash report = %+v, want every host reachable and in sync, every acknowledged change kept", rep.Crash)
	}
	if len(rep.Failures) > 0 {
		t.Errorf("report failures: %q", rep.Failures)
	}
	// The table is printed.
	if !strings.Contains(out.String(), "p50/host") || !strings.Contains(out.String(), "all checks passed") {
		t.Errorf("otto-bench output lacks the table or the verdict")
	}
}

// TestRoutesMatchDocs keeps the route list the fuzzer sends to
// (apitype.Routes) in step with the route headings of docs/api.md, in their
// order.
func TestRoutesMatchDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range regexp.MustCompile("(?m)^### `([A-Z]+ /api[^`]*)`").FindAllStringSubmatch(string(doc), -1) {
		want = append(want, m[1])
	}
	var got []string
	for _, rt := range apitype.Routes() {
		got = append(got, rt.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("apitype.Routes() differs from docs/api.md:\n got %q\nwant %q", got, want)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--n", "x"}, 2},
		{[]string{"--n", "0"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"--no-such-flag"}, 2},
		{[]string{"--help"}, 0},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errOut); code != tc.code {
			t.Errorf("run(%q) = %d, want %d; stderr %s", tc.args, code, tc.code, errOut.String())
		}
	}
}
