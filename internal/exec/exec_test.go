package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestRun_ExitCode(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, 1, 3, 255} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			r := Run(context.Background(), helperJob(t, "exit", strconv.Itoa(code)), nil)
			if r.Err != nil || r.ExitCode != code || r.Signal != 0 || r.Canceled || r.TimedOut {
				t.Errorf("Run(exit %d) = code %d, signal %v, err %v, canceled %v, timed out %v; want code %d and nothing else",
					code, r.ExitCode, r.Signal, r.Err, r.Canceled, r.TimedOut, code)
			}
			if r.Elapsed <= 0 {
				t.Errorf("Run(exit %d).Elapsed = %v, want > 0", code, r.Elapsed)
			}
		})
	}
}

func TestRun_Streams(t *testing.T) {
	t.Parallel()
	r := Run(context.Background(), helperJob(t, "streams", ""), nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got, want := string(r.Stdout), "out1\nout2\n"; got != want {
		t.Errorf("Stdout = %q, want %q", got, want)
	}
	if got, want := string(r.Stderr), "err1\nerr2\n"; got != want {
		t.Errorf("Stderr = %q, want %q", got, want)
	}
}

// TestRun_Env is not parallel: it sets a variable in the client's own
// environment to show it does not reach the script.
func TestRun_Env(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		path string
		want string
	}{
		{"nothing", nil, "", "OTTO_EXEC_HELPER=env\n"},
		{"vars and path", map[string]string{"A": "1", "B": "two words", "C": ""}, "/opt/bin:/usr/bin",
			"A=1\nB=two words\nC=\nOTTO_EXEC_HELPER=env\nPATH=/opt/bin:/usr/bin\n"},
		{"env PATH wins", map[string]string{"PATH": "/mine"}, "/client", "OTTO_EXEC_HELPER=env\nPATH=/mine\n"},
	}
	t.Setenv("OTTO_CLIENT_SECRET", "must not leak") // in the client's environment, not the script's
	for _, tt := range tests {
		j := helperJob(t, "env", "")
		for k, v := range tt.env {
			j.Env[k] = v
		}
		j.Path = tt.path
		r := Run(context.Background(), j, nil)
		if r.Err != nil {
			t.Fatalf("%s: %v", tt.name, r.Err)
		}
		if got := string(r.Stdout); got != tt.want {
			t.Errorf("%s: environment = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRun_EnvInvalid(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{{"": "x"}, {"A=B": "x"}, {"A\x00": "x"}, {"A": "x\x00y"}} {
		j := helperJob(t, "env", "")
		for k, v := range env {
			j.Env[k] = v
		}
		r := Run(context.Background(), j, nil)
		if !errors.Is(r.Err, ErrInvalid) || r.ExitCode != -1 || len(r.Stdout) != 0 {
			t.Errorf("Run(env %q) = err %v, code %d, stdout %q; want ErrInvalid, -1, nothing", env, r.Err, r.ExitCode, r.Stdout)
		}
	}
}

func TestBuildEnv(t *testing.T) {
	// A nil list would make os/exec hand the script the client's whole
	// environment.
	env, path, err := buildEnv(nil, "")
	if env == nil || len(env) != 0 || path != "" || err != nil {
		t.Errorf("buildEnv(nil, \"\") = %#v, %q, %v; want an empty non-nil list", env, path, err)
	}
	env, path, err = buildEnv(map[string]string{"B": "2", "A": "1"}, "/bin")
	if want := []string{"A=1", "B=2", "PATH=/bin"}; !slices.Equal(env, want) || path != "/bin" || err != nil {
		t.Errorf("buildEnv(A, B, /bin) = %q, %q, %v; want %q, \"/bin\", nil", env, path, err, want)
	}
}

func TestRun_Dir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct{ dir, want string }{{dir, dir}, {"", "/"}} {
		j := helperJob(t, "pwd", "")
		j.Dir = tt.dir
		r := Run(context.Background(), j, nil)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if got := strings.TrimSpace(string(r.Stdout)); got != tt.want {
			t.Errorf("Run(Dir %q) ran in %q, want %q", tt.dir, got, tt.want)
		}
	}

	j := helperJob(t, "pwd", "")
	j.Dir = filepath.Join(dir, "missing")
	r := Run(context.Background(), j, nil)
	if r.Err == nil || r.ExitCode != -1 || !strings.HasPrefix(r.Err.Error(), "exec: ") {
		t.Errorf("Run(missing Dir) = err %v, code %d; want an \"exec: \" error and -1", r.Err, r.ExitCode)
	}
}

func TestRun_ScriptFile(t *testing.T) {
	t.Parallel()
	j := helperJob(t, "scriptfile", "the script text")
	r := Run(context.Background(), j, nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got, want := string(r.Stdout), "mode=700 text=the script text"; got != want {
		t.Errorf("script saw %q, want %q", got, want)
	}
	assertEmptyDir(t, j.TempDir)

	// Also removed when the script never starts.
	j.Executable = filepath.Join(t.TempDir(), "no-such-interpreter")
	if r := Run(context.Background(), j, nil); r.Err == nil {
		t.Errorf("Run(missing executable).Err = nil, want an error")
	}
	assertEmptyDir(t, j.TempDir)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

func TestRun_Executable(t *testing.T) {
	t.Parallel()
	j := Job{Executable: "sh", Script: []byte("echo via PATH"), Path: "relative/dir:/bin:/usr/bin", Cred: Credential{Inherit: true}, TempDir: t.TempDir()}
	r := Run(context.Background(), j, nil)
	if r.Err != nil || string(r.Stdout) != "via PATH\n" {
		t.Errorf("Run(sh via Path) = err %v, stdout %q; want nil, %q", r.Err, r.Stdout, "via PATH\n")
	}

	j.Executable = "otto-no-such-program"
	if r := Run(context.Background(), j, nil); r.Err == nil || !strings.Contains(r.Err.Error(), "not found") {
		t.Errorf("Run(unknown executable).Err = %v, want \"not found\"", r.Err)
	}

	j.Executable = ""
	if r := Run(context.Background(), j, nil); !errors.Is(r.Err, ErrInvalid) {
		t.Errorf("Run(no executable).Err = %v, want ErrInvalid", r.Err)
	}
}

func TestRun_Files(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := helperJob(t, "echo", "ran")
	j.Files = []File{
		{Path: filepath.Join(dir, "a/b/one"), Owner: Credential{Inherit: true}, Mode: 0o640, Data: []byte("one")},
		{Path: filepath.Join(dir, "two"), Owner: Credential{Inherit: true}, Mode: 0o755, Data: []byte("two")},
	}
	r := Run(context.Background(), j, nil)
	if r.Err != nil || string(r.Stdout) != "ran" {
		t.Fatalf("Run = err %v, stdout %q; want nil, %q", r.Err, r.Stdout, "ran")
	}
	for _, f := range j.Files {
		assertFile(t, f.Path, f.Mode, string(f.Data))
	}

	// A file that cannot be placed stops the run before the script starts.
	blocker := filepath.Join(dir, "blocker")
	if err := os.Mkdir(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	j.Files = []File{{Path: blocker, Owner: Credential{Inherit: true}, Mode: 0o644}}
	r = Run(context.Background(), j, nil)
	if !errors.Is(r.Err, ErrNotRegularFile) || r.ExitCode != -1 || len(r.Stdout) != 0 {
		t.Errorf("Run(file over a directory) = err %v, code %d, stdout %q; want ErrNotRegularFile, -1, nothing", r.Err, r.ExitCode, r.Stdout)
	}
	assertEmptyDir(t, j.TempDir)
}

func TestRun_LiveOutput(t *testing.T) {
	t.Parallel()
	const n = 10
	j := helperJob(t, "lines", fmt.Sprintf("%d 30ms", n))
	j.OutputInterval = 20 * time.Millisecond

	type call struct {
		at             time.Time
		stdout, stderr []byte // as passed
		copied         string // copy taken during the call
	}
	var (
		calls    []call
		inFlight atomic.Int32
		returned atomic.Bool
	)
	r := Run(context.Background(), j, func(stdout, stderr []byte) {
		if inFlight.Add(1) != 1 {
			t.Error("onOutput called concurrently")
		}
		defer inFlight.Add(-1)
		if returned.Load() {
			t.Error("onOutput called after Run returned")
		}
		calls = append(calls, call{time.Now(), stdout, stderr, string(stdout)})
		time.Sleep(5 * time.Millisecond) // a slow consumer must not break anything
	})
	returned.Store(true)
	if r.Err != nil {
		t.Fatal(r.Err)
	}

	var want strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if string(r.Stdout) != want.String() {
		t.Errorf("Stdout = %q, want %q", r.Stdout, want.String())
	}
	if len(calls) < 3 {
		t.Fatalf("onOutput called %d times for %d lines 30 ms apart, want at least 3", len(calls), n)
	}
	prev := ""
	for i, c := range calls {
		if string(c.stdout) != c.copied {
			t.Errorf("call %d: snapshot changed after the call: %q, was %q", i, c.stdout, c.copied)
		}
		if len(c.stderr) != 0 {
			t.Errorf("call %d: stderr = %q, want empty", i, c.stderr)
		}
		if !strings.HasPrefix(c.copied, prev) || len(c.copied) <= len(prev) {
			t.Errorf("call %d: snapshot %q does not extend the previous %q", i, c.copied, prev)
		}
		if !strings.HasPrefix(want.String(), c.copied) {
			t.Errorf("call %d: snapshot %q is not a prefix of the whole output", i, c.copied)
		}
		if i > 0 {
			// A ticker may deliver a tick late, never early; allow a little
			// scheduling slack.
			if gap := c.at.Sub(calls[i-1].at); gap < j.OutputInterval-5*time.Millisecond {
				t.Errorf("call %d came %v after the previous, want at least %v", i, gap, j.OutputInterval)
			}
		}
		prev = c.copied
	}
}

func TestRun_NoOutputNoCalls(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	// Process start-up alone spans many 1 ms intervals.
	j := helperJob(t, "exit", "0")
	j.OutputInterval = time.Millisecond
	r := Run(context.Background(), j, func(_, _ []byte) { calls.Add(1) })
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := calls.Load(); got != 0 {
		t.Errorf("onOutput called %d times for a silent script, want 0", got)
	}
}

func TestRun_OutputLimit(t *testing.T) {
	t.Parallel()
	j := helperJob(t, "flood", "100000")
	j.OutputLimit = 1000
	r := Run(context.Background(), j, nil)
	if r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("Run(flood) = err %v, code %d; want nil, 0", r.Err, r.ExitCode)
	}
	want := strings.Repeat("x", 1000) + "\n[otto: output truncated after 1000 bytes]\n"
	if string(r.Stdout) != want {
		t.Errorf("Stdout = %d bytes ending %q, want %d bytes ending %q", len(r.Stdout), tail(r.Stdout), len(want), tail([]byte(want)))
	}
	// The script ran to its end: its last write, after the flood, is there.
	if got := string(r.Stderr); got != "done\n" {
		t.Errorf("Stderr = %q, want %q", got, "done\n")
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-50):] }

// readyOutput returns an onOutput that closes ready once stdout holds marker.
func readyOutput(marker string) (func(stdout, stderr []byte), chan struct{}) {
	ready := make(chan struct{})
	var once sync.Once
	return func(stdout, _ []byte) {
		if bytes.Contains(stdout, []byte(marker)) {
			once.Do(func() { close(ready) })
		}
	}, ready
}

func TestRun_CancelKillsGrandchild(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	j := helperJob(t, "spawn", pidFile)
	j.Grace = 10 * time.Second // SIGTERM alone must do it: Run returns long before
	j.OutputInterval = 10 * time.Millisecond
	onOutput, ready := readyOutput("grandchild ready")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan Result)
	go func() { done <- Run(ctx, j, onOutput) }()

	select {
	case <-ready:
	case r := <-done:
		t.Fatalf("script ended before it was ready: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("script not ready after 10s")
	}
	canceled := time.Now()
	cancel()
	r := <-done
	if took := time.Since(canceled); took > 5*time.Second {
		t.Errorf("Run returned %v after cancel, want well under the grace %v: SIGTERM did not reach the whole group", took, j.Grace)
	}
	if r.Err != nil || !r.Canceled || r.TimedOut || r.ExitCode != 128+int(syscall.SIGTERM) || r.Signal != syscall.SIGTERM {
		t.Errorf("Run(canceled) = err %v, canceled %v, timed out %v, code %d, signal %v; want nil, true, false, %d, SIGTERM",
			r.Err, r.Canceled, r.TimedOut, r.ExitCode, r.Signal, 128+int(syscall.SIGTERM))
	}
	assertGone(t, pidFile)
}

func TestRun_CancelIgnoringSIGTERM(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	j := helperJob(t, "spawn", pidFile+"\nignore")
	j.Grace = 300 * time.Millisecond
	j.OutputInterval = 10 * time.Millisecond
	onOutput, ready := readyOutput("grandchild ready")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan Result)
	go func() { done <- Run(ctx, j, onOutput) }()
	select {
	case <-ready:
	case r := <-done:
		t.Fatalf("script ended before it was ready: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("script not ready after 10s")
	}
	canceled := time.Now()
	cancel()
	r := <-done
	took := time.Since(canceled)
	if r.Err != nil || !r.Canceled || r.ExitCode != 128+int(syscall.SIGKILL) || r.Signal != syscall.SIGKILL {
		t.Errorf("Run(canceled, ignoring SIGTERM) = err %v, canceled %v, code %d, signal %v; want nil, true, %d, SIGKILL",
			r.Err, r.Canceled, r.ExitCode, r.Signal, 128+int(syscall.SIGKILL))
	}
	if took < j.Grace || took > j.Grace+3*time.Second {
		t.Errorf("Run returned %v after cancel, want between the grace %v and grace+3s", took, j.Grace)
	}
	assertGone(t, pidFile)
}

func TestRun_Timeout(t *testing.T) {
	t.Parallel()
	j := helperJob(t, "sleep", "")
	j.Timeout = 200 * time.Millisecond
	j.Grace = 200 * time.Millisecond
	r := Run(context.Background(), j, nil)
	if r.Err != nil || !r.TimedOut || r.Canceled || r.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("Run(timeout) = err %v, timed out %v, canceled %v, code %d; want nil, true, false, %d",
			r.Err, r.TimedOut, r.Canceled, r.ExitCode, 128+int(syscall.SIGTERM))
	}
	if r.Elapsed < j.Timeout || r.Elapsed > 5*time.Second {
		t.Errorf("Run(timeout).Elapsed = %v, want about %v", r.Elapsed, j.Timeout)
	}
}

func TestRun_CanceledBeforeStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	j := helperJob(t, "echo", "ran")
	placed := filepath.Join(t.TempDir(), "placed")
	j.Files = []File{{Path: placed, Owner: Credential{Inherit: true}, Mode: 0o644}}
	r := Run(ctx, j, nil)
	if !errors.Is(r.Err, ErrCanceled) || !errors.Is(r.Err, context.Canceled) || !r.Canceled || r.ExitCode != -1 || len(r.Stdout) != 0 {
		t.Errorf("Run(done ctx) = err %v, canceled %v, code %d, stdout %q; want ErrCanceled, true, -1, nothing", r.Err, r.Canceled, r.ExitCode, r.Stdout)
	}
	if _, err := os.Lstat(placed); err == nil {
		t.Errorf("Run(done ctx) placed %s, want nothing placed", placed)
	}
}

func TestRun_Concurrent(t *testing.T) {
	t.Parallel()
	const n = 20
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := range n {
		j := helperJob(t, "echo", fmt.Sprintf("run %d\n", i))
		wg.Go(func() { results[i] = Run(context.Background(), j, nil) })
	}
	wg.Wait()
	for i, r := range results {
		if want := fmt.Sprintf("run %d\n", i); r.Err != nil || string(r.Stdout) != want {
			t.Errorf("run %d = err %v, stdout %q; want nil, %q", i, r.Err, r.Stdout, want)
		}
	}
}

// TestRun_RefusedWithoutRoot runs Run as if the client were uid 1000.
func TestRun_RefusedWithoutRoot(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "ran")
	j := Job{Executable: "/bin/sh", Script: []byte("touch " + marker), Cred: Credential{UID: 0, GID: 0}, TempDir: t.TempDir()}
	r := run(context.Background(), j, nil, 1000, 1000)
	const want = "exec: running as uid 0 requires the client to run as root (it runs as uid 1000)"
	if !errors.Is(r.Err, ErrNeedRoot) || r.Err.Error() != want || r.ExitCode != -1 {
		t.Errorf("run(as uid 0, client uid 1000) = err %v, code %d; want %q, -1", r.Err, r.ExitCode, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the script ran although it was refused")
	}
	assertEmptyDir(t, j.TempDir)
}

// TestRun_AsOtherUser needs root: it runs a script as nobody (65534) and
// checks its ids and that no supplementary group came along.
func TestRun_AsOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: running a script as another user needs root; run the tests as root to cover it")
	}
	// Give the test process a supplementary group, so that dropping them is
	// observable. Setgroups affects the whole process; this test is not
	// parallel, so nothing else runs meanwhile.
	old, err := syscall.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setgroups([]int{0, 4}); err != nil {
		t.Logf("cannot set supplementary groups (%v); checking the drop with the groups we have: %v", err, old)
	} else {
		defer syscall.Setgroups(old)
	}

	j := Job{
		Executable: "/bin/sh",
		Script:     []byte("id -u; id -g; id -G\n"),
		Path:       "/usr/bin:/bin",
		Cred:       Credential{UID: 65534, GID: 65534},
		// The script file must be reachable by nobody: t.TempDir is 0700.
		TempDir: "",
	}
	r := Run(context.Background(), j, nil)
	if r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("Run(as 65534) = err %v, code %d, stderr %q", r.Err, r.ExitCode, r.Stderr)
	}
	if got, want := string(r.Stdout), "65534\n65534\n65534\n"; got != want {
		t.Errorf("id -u; id -g; id -G as 65534 printed %q, want %q", got, want)
	}
}

// assertGone waits until the process whose pid is in pidFile no longer
// exists (a zombie waiting for its reaper counts as gone).
func assertGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// The state follows the parenthesised command name.
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
				return
			}
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d still running 5s after Run returned", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
