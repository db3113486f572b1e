// Package exec runs one script on this machine: it places the script's
// files, writes the script to a private temporary file, and runs it as
// "Executable <tempfile>" with exactly the given environment, in the given
// working directory, as the given user (supplementary groups dropped), in a
// new process group. Output goes live to a callback; cancel (or a timeout)
// sends SIGTERM to the whole group, then SIGKILL after a grace period.
//
// The script's stdin is /dev/null. No shell is involved in starting the
// script: nothing from the Job is ever interpolated into a command line. The
// package knows nothing of the wire protocol; the client translates.
//
// It builds on Linux, FreeBSD, OpenBSD and NetBSD (any Unix with
// SysProcAttr.Setpgid and SysProcAttr.Credential).
package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults for the Job fields whose zero value means "the default".
const (
	// DefaultOutputLimit caps each of stdout and stderr: 64 MiB keeps a
	// runaway script from exhausting the client's memory while staying far
	// above what a person reads.
	DefaultOutputLimit = 64 << 20
	// DefaultGrace is the time between SIGTERM and SIGKILL on cancel: long
	// enough for a script to clean up, short enough for a person waiting.
	DefaultGrace = 5 * time.Second
	// DefaultOutputInterval is the shortest time between two onOutput calls,
	// the protocol's "at most every ~50 ms".
	DefaultOutputInterval = 50 * time.Millisecond
)

// Job describes one script run. As with os/exec.Cmd, the zero value of each
// field has a documented meaning; only Executable is required.
type Job struct {
	// Executable is the program that runs the script, such as "/bin/sh" or
	// "python3"; it is started as "Executable <tempfile>". A name without a
	// slash is looked up in the script's PATH (see Path), skipping relative
	// entries; if the script has no PATH, in the client's own. It must not
	// be empty.
	Executable string

	// Script is the script's text. It is written to a fresh temporary file
	// of mode 0700 (owned by Cred's user when that is not the client's), in
	// TempDir, which is removed when the script ends. nil means an empty
	// script.
	Script []byte

	// TempDir is where the script's temporary file goes. "" means
	// os.TempDir(). When the script runs as another user, that user must be
	// able to reach the directory.
	TempDir string

	// Env is the script's whole environment: it gets exactly these
	// variables plus PATH, nothing of the client's own. nil means none. A
	// name that is empty or contains '=' or NUL, or a value with NUL, is an
	// error (ErrInvalid).
	Env map[string]string

	// Path is the PATH given to the script when Env has no PATH of its own;
	// a PATH in Env wins. "" means no PATH unless Env has one.
	Path string

	// Dir is the script's working directory. "" means "/", never the
	// client's own working directory (a relative Dir, though, is relative
	// to it). A Dir that does not exist or that Cred's user cannot enter
	// makes Run fail with Result.Err set.
	Dir string

	// Cred is the user the script runs as. The zero value means uid 0,
	// gid 0; set Inherit to run as the client's own user. Other ids need the
	// client to run as root (ErrNeedRoot otherwise, and nothing runs).
	// Supplementary groups are always dropped when the ids are set.
	Cred Credential

	// Files are placed with PlaceFile, in order, before the script is
	// written or started. The first failure ends the run: Result.Err says
	// which file, the script does not run, and files already placed stay.
	Files []File

	// OutputLimit caps each of stdout and stderr, in bytes. Past the cap the
	// script keeps running and its further output on that stream is
	// dropped; the stream then ends with one line
	// "\n[otto: output truncated after N bytes]\n". 0 or less means
	// DefaultOutputLimit.
	OutputLimit int

	// OutputInterval is the shortest time between two calls of Run's
	// onOutput. 0 or less means DefaultOutputInterval.
	OutputInterval time.Duration

	// Grace is how long a canceled script's process group has between
	// SIGTERM and SIGKILL. 0 or less means DefaultGrace.
	Grace time.Duration

	// Timeout, when positive, cancels the script (as if ctx were canceled)
	// once it has run this long; Result.TimedOut is then set. 0 or less
	// means no timeout.
	Timeout time.Duration
}

// Result is the outcome of Run.
type Result struct {
	// ExitCode is the script's exit status. A script killed by a signal
	// gets 128 plus the signal number, as shells report it (143 after
	// SIGTERM, 137 after SIGKILL). It is -1 when the script did not run
	// (Err is set).
	ExitCode int
	// Signal is the signal that killed the script, or 0 if it exited.
	Signal syscall.Signal
	// Stdout and Stderr are the whole output, each capped as Job.OutputLimit
	// says. The caller must not modify them.
	Stdout, Stderr []byte
	// Elapsed is the time from starting the script to its end (0 if it
	// never started).
	Elapsed time.Duration
	// Err is an exec-level failure: the script could not be started (bad
	// Job, credential refused, a file not placed, executable not found,
	// working directory missing, context done before the start). It is nil
	// whenever the script ran, whatever its exit code.
	Err error
	// Canceled reports that ctx was done (before the start, or while the
	// script ran and it was signaled).
	Canceled bool
	// TimedOut reports that Job.Timeout expired and the script was signaled.
	TimedOut bool
}

// errTimeout is the cause given to the run's context when Job.Timeout
// expires, to tell it from the caller's cancel.
var errTimeout = errors.New("exec: script timed out")

// Run runs j and returns its result; it never panics on a bad Job and every
// failure is in Result.Err.
//
// onOutput, if not nil, gets the whole output so far (snapshots, not
// deltas), at most once per Job.OutputInterval and only when the output
// grew since the last call. Calls are never concurrent and never happen
// after Run returns (Run waits for a call in progress). The slices stay
// valid and unchanged after the call; onOutput must not modify them. There
// is no last call at the end: the Result carries the final output.
//
// When ctx is done (or Job.Timeout expires) while the script runs, its
// whole process group gets SIGTERM, and SIGKILL once Job.Grace has passed
// if any member is left. Run then returns only when every member of the group
// has exited or been sent SIGKILL. Processes that left the group (setsid,
// daemons) are not followed; if they hold the output pipes open, Run stops
// reading them one second after the SIGKILL.
//
// When the script exits by itself, background processes it left in its group
// keep running; if they hold stdout or stderr open, Run stops waiting for
// them after Job.Grace plus one second and returns.
func Run(ctx context.Context, j Job, onOutput func(stdout, stderr []byte)) Result {
	return run(ctx, j, onOutput, os.Geteuid(), os.Getegid())
}

func run(ctx context.Context, j Job, onOutput func(stdout, stderr []byte), euid, egid int) Result {
	fail := func(err error) Result { return Result{ExitCode: -1, Err: err} }

	if j.OutputLimit <= 0 {
		j.OutputLimit = DefaultOutputLimit
	}
	if j.OutputInterval <= 0 {
		j.OutputInterval = DefaultOutputInterval
	}
	if j.Grace <= 0 {
		j.Grace = DefaultGrace
	}
	if j.Dir == "" {
		j.Dir = "/"
	}
	if j.Executable == "" {
		return fail(&wrapError{msg: "exec: no executable given", sentinel: ErrInvalid})
	}
	env, pathEnv, err := buildEnv(j.Env, j.Path)
	if err != nil {
		return fail(err)
	}
	if err := checkCredential(j.Cred, "running as", euid, egid); err != nil {
		return fail(err)
	}
	cred := sysCredential(j.Cred, euid)
	if ctx.Err() != nil {
		r := fail(&wrapError{msg: "exec: canceled before the script started", sentinel: ErrCanceled, cause: context.Cause(ctx)})
		r.Canceled = true
		return r
	}
	for _, f := range j.Files {
		if err := placeFile(f, euid, egid); err != nil {
			return fail(err)
		}
	}
	// After the files: a Job may bring its own interpreter.
	exe, err := lookPath(j.Executable, pathEnv)
	if err != nil {
		return fail(err)
	}

	script, err := writeScript(j.TempDir, j.Script, cred)
	if err != nil {
		return fail(err)
	}
	defer os.Remove(script)

	// Elapsed covers the Timeout's whole span, so a timed-out run never
	// reports less than its Timeout.
	start := time.Now()
	runCtx := ctx
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, j.Timeout, errTimeout)
		defer cancel()
	}

	out := &output{limit: j.OutputLimit}
	cmd := osexec.CommandContext(runCtx, exe, script)
	cmd.Env = env
	cmd.Dir = j.Dir
	cmd.Stdout = streamWriter{out, 0}
	cmd.Stderr = streamWriter{out, 1}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	k := &killer{grace: j.Grace, cmd: cmd}
	cmd.Cancel = k.cancel
	// The backstop for pipes held open by processes outside the group:
	// after our own SIGKILL, give the group a second to let go.
	cmd.WaitDelay = j.Grace + time.Second

	if err := cmd.Start(); err != nil {
		if runCtx.Err() != nil {
			// Canceled while the files were being placed, or a Timeout too
			// short to start anything.
			r := fail(&wrapError{msg: "exec: canceled before the script started", sentinel: ErrCanceled, cause: context.Cause(runCtx)})
			r.Canceled = ctx.Err() != nil
			r.TimedOut = !r.Canceled
			return r
		}
		return fail(fmt.Errorf("exec: starting %s: %w", exe, err))
	}

	var stopReport func()
	if onOutput != nil {
		stopReport = report(out, j.OutputInterval, onOutput)
	}

	waitErr := cmd.Wait()
	signaled := k.finish()
	elapsed := time.Since(start)
	if stopReport != nil {
		stopReport()
	}

	r := Result{Elapsed: elapsed}
	r.Stdout, r.Stderr, _ = out.snapshot()
	if cmd.ProcessState == nil {
		// Wait failed before the process was reaped; should not happen
		// once Start succeeded.
		r.ExitCode = -1
		r.Err = fmt.Errorf("exec: waiting for %s: %w", exe, waitErr)
		return r
	}
	r.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.Signal = ws.Signal()
		r.ExitCode = 128 + int(r.Signal)
	}
	if signaled {
		if ctx.Err() == nil && errors.Is(context.Cause(runCtx), errTimeout) {
			r.TimedOut = true
		} else {
			r.Canceled = true
		}
	}
	return r
}

// report calls onOutput from one goroutine whenever out grew, at most once
// per interval. The returned function stops it and waits for it to finish.
func report(out *output, interval time.Duration, onOutput func(stdout, stderr []byte)) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		// A timer rearmed from each check, not a ticker: a ticker that
		// delivers a tick late can deliver the next one soon after, and two
		// calls would come closer than interval.
		t := time.NewTimer(interval)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			select {
			case <-done:
				return
			default:
			}
			checked := time.Now()
			so, se, v := out.snapshot()
			if v != last {
				last = v
				onOutput(so, se)
			}
			t.Reset(interval - time.Since(checked))
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// killer signals a started command's process group on cancel.
type killer struct {
	grace time.Duration
	cmd   *osexec.Cmd

	mu     sync.Mutex
	termed bool          // SIGTERM was sent to the group
	timer  *time.Timer   // sends SIGKILL to the group after grace
	killed chan struct{} // closed once SIGKILL was sent
}

// cancel is the Cmd's Cancel: SIGTERM to the whole group, SIGKILL after the
// grace period. os/exec calls it at most once, when the context is done.
func (k *killer) cancel() error {
	// If the leader has exited already, the script ended by itself; treat it
	// like a normal end rather than signaling a group whose id may be free.
	if err := k.cmd.Process.Signal(syscall.Signal(0)); errors.Is(err, os.ErrProcessDone) {
		return os.ErrProcessDone
	}
	pgid := k.cmd.Process.Pid
	k.mu.Lock()
	defer k.mu.Unlock()
	k.termed = true
	k.killed = make(chan struct{})
	k.timer = time.AfterFunc(k.grace, func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		close(k.killed)
	})
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// finish runs after Wait. If the group was sent SIGTERM, it waits until the
// group is empty or the SIGKILL went out, so no member outlives Run
// unsignaled and no timer outlives Run. It reports whether the group was
// signaled.
func (k *killer) finish() bool {
	k.mu.Lock()
	termed, timer, killed := k.termed, k.timer, k.killed
	k.mu.Unlock()
	if !termed {
		return false
	}
	pgid := k.cmd.Process.Pid
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		// kill(-pgid, 0) fails with ESRCH once no process is in the group.
		// Zombies still count, so a slow reaper only delays us until the
		// SIGKILL, which is harmless.
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			if !timer.Stop() {
				<-killed
			}
			return true
		}
		select {
		case <-killed:
			return true
		case <-tick.C:
		}
	}
}

// buildEnv turns env and path into the script's environment, sorted by
// name, and returns the PATH the script will see.
func buildEnv(env map[string]string, path string) ([]string, string, error) {
	list := make([]string, 0, len(env)+1) // never nil: nil would inherit the client's
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, "", &wrapError{msg: fmt.Sprintf("exec: environment variable name %q is not valid", k), sentinel: ErrInvalid}
		}
		if strings.ContainsRune(v, 0) {
			return nil, "", &wrapError{msg: fmt.Sprintf("exec: environment variable %s contains a NUL byte", k), sentinel: ErrInvalid}
		}
		list = append(list, k+"="+v)
	}
	pathEnv, ok := env["PATH"]
	if !ok && path != "" {
		pathEnv = path
		list = append(list, "PATH="+path)
	}
	slices.Sort(list)
	return list, pathEnv, nil
}

// lookPath resolves name the way the script's own shell would: a name with
// a slash is used as it is, one without is searched in pathEnv (absolute
// entries only, so a relative entry never picks up a program from the
// working directory). With no pathEnv, the client's PATH is searched.
func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if pathEnv == "" {
		p, err := osexec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("exec: executable %q not found in the client's PATH", name)
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: executable %q not found in PATH %s", name, pathEnv)
}

// writeScript writes the script to a new 0700 temporary file and gives it to
// cred's user, if any, so that user can read it.
func writeScript(dir string, data []byte, cred *syscall.Credential) (name string, err error) {
	f, err := os.CreateTemp(dir, "otto-script-*")
	if err != nil {
		return "", fmt.Errorf("exec: creating the script file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("exec: writing the script file: %w", cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("exec: writing the script file: %w", err)
	}
	if cred != nil {
		if err := f.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return "", fmt.Errorf("exec: giving the script file to uid %d: %w", cred.Uid, err)
		}
	}
	if err := f.Chmod(0o700); err != nil {
		return "", fmt.Errorf("exec: setting the script file's mode: %w", err)
	}
	return f.Name(), nil
}
