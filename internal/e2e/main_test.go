package e2e

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines outlive the tests: each env waits
// for its own, and this catches what escaped them (HTTP transports, readers
// of process output, proxies).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to within for every goroutine but this one and
// the runtime's own to end, and returns the stacks of those left.
func leakedGoroutines(within time.Duration) string {
	deadline := time.Now().Add(within)
	for {
		var left []string
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 || harmless(g) { // the first is this goroutine
				continue
			}
			left = append(left, g)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// harmless reports goroutines that the runtime and the standard library
// keep for the life of the process.
func harmless(stack string) bool {
	for _, s := range []string{
		"os/signal.signal_recv",
		"os/signal.loop",
		"runtime.ensureSigM",
		"testing.(*M).startAlarm",
		"testing.runTests.func1", // the test timeout's timer
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return strings.TrimSpace(stack) == ""
}
