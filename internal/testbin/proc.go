package testbin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// AdminPasswordVar is the variable that sets the first admin's password of
// a new "otto server" data directory (no forced change at first login).
const AdminPasswordVar = "OTTO_ADMIN_PASSWORD"

// ServerArgs are the arguments of "otto server" on dataDir, listening on
// listen ("127.0.0.1:0" for a free port, learnt from ServerListening).
func ServerArgs(dataDir, listen string) []string {
	return []string{"server", "--data-dir", dataDir, "--listen", listen}
}

// ClientArgs are the arguments of "otto client" on the config file config.
func ClientArgs(config string) []string {
	return []string{"client", "--config", config}
}

// WriteClientConfig writes a client's config file (mode 0600): listening on
// listen ("127.0.0.1:0" for a free port, learnt from ClientListening), with
// psk, accepting connections from allowFrom (none: the client's default).
func WriteClientConfig(path, listen, psk string, allowFrom ...string) error {
	cfg := fmt.Sprintf("listen_addr = %q\npsk = %q\n", listen, psk)
	if len(allowFrom) > 0 {
		quoted := make([]string, len(allowFrom))
		for i, a := range allowFrom {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		cfg += "allow_from = [" + strings.Join(quoted, ", ") + "]\n"
	}
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// Options say how Start runs a process.
type Options struct {
	// Env is the process's whole environment; nil means this process's.
	Env []string
	// Dir is its working directory; "" means this process's.
	Dir string
	// Stdout and Stderr receive its output; nil discards it.
	Stdout, Stderr io.Writer
	// Session makes the process the leader of a new session, so that what
	// it leaves behind can be found by its session ID (its PID). Without
	// it, the process leads a new process group in this session.
	Session bool
	// DieWithParent has the kernel kill the process when this one dies,
	// even by SIGKILL (Linux; ignored elsewhere), so that a killed
	// benchmark leaves no server behind.
	DieWithParent bool
}

// Proc is a process that Start started.
type Proc struct {
	Cmd  *exec.Cmd
	Pid  int
	done chan struct{}
	err  error // Wait's error, once done is closed
}

// waitDelay bounds Wait once the process exited: a leftover child that
// holds the output pipes must not block it.
const waitDelay = 5 * time.Second

// Start starts bin with args as o says, and reaps it when it exits.
func Start(bin string, args []string, o Options) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = o.Env, o.Dir
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: o.Session, Setpgid: !o.Session}
	cmd.WaitDelay = waitDelay
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	wait := func() {
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}
	if o.DieWithParent {
		dieWithParent(cmd.SysProcAttr)
		// The parent-death signal fires when the thread that started the
		// child ends, not the process: start it on a locked thread that
		// lives until the child was reaped.
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
			wait()
		}()
	} else {
		go wait()
	}
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s %s: %w", bin, strings.Join(args, " "), err)
	}
	p.Pid = cmd.Process.Pid
	return p, nil
}

// Done is closed once the process exited and was reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is Wait's error: nil for a clean exit, an *exec.ExitError otherwise.
// Call it once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Stop sends sig to the process (a negative pid for its whole process
// group, as a terminal's Ctrl-C does, when group is set) and waits for it
// to exit; after grace it kills it. It reports whether sig was enough.
func (p *Proc) Stop(sig syscall.Signal, group bool, grace time.Duration) bool {
	if p.Exited() {
		return true
	}
	pid := p.Pid
	if group {
		pid = -pid
	}
	syscall.Kill(pid, sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		p.Kill()
		return false
	}
}

// Kill kills the process at once, as a crash would, and waits until it
// was reaped.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.done
}
