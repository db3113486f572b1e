package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/otto-automation/otto/internal/testbin"
)

// Timeouts of the server process.
const (
	// serverStartTimeout bounds the wait for a server's "listening" line.
	serverStartTimeout = 60 * time.Second
	// serverStopTimeout is how long a server gets to stop on SIGTERM
	// (its own grace is 10 s for requests plus the runs' cancel grace)
	// before it is killed.
	serverStopTimeout = 30 * time.Second
)

// The server's per-frame knob, which only a build with -tags ottotest has
// (testbin.Tag): the variable, and the line the server logs when it is on.
const (
	envDerivePerFrame = "OTTO_BENCH_DERIVE_PER_FRAME"
	logDerivePerFrame = "deriving the key for every frame"
)

// BuildOtto builds the otto binary into dir and returns its path, as a
// release is built (testbin.Build).
func BuildOtto(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "otto")
	return bin, testbin.Build(ctx, bin, "")
}

// BuildOttoTest is BuildOtto with -tags ottotest, for a server with the
// per-frame knob: the release binary plus the test knobs.
func BuildOttoTest(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "otto-"+testbin.Tag)
	return bin, testbin.Build(ctx, bin, testbin.Tag)
}

// serverOptions change how a server starts.
type serverOptions struct {
	// perFrame sets OTTO_BENCH_DERIVE_PER_FRAME=1, and the start fails
	// unless the server says it derives per frame: the otto binary must
	// have been built with -tags ottotest.
	perFrame bool
	env      []string // more of the environment
}

// server is an otto server process.
type server struct {
	otto     string
	dataDir  string
	logPath  string
	password string
	opts     serverOptions

	proc *testbin.Proc
	pid  int
	url  string
	done <-chan struct{} // closed when the process was reaped

	started time.Time // when the process started

	mu     sync.Mutex
	panics []string // log lines that mention a panic
	sweeps int      // background sweeps logged ("heartbeat sweep done")
	derive bool     // the server logged that it derives the key per frame
}

// startServer starts "otto server" on dataDir with a random port on
// 127.0.0.1 and waits until it listens. Its log goes to logPath (appended,
// so a restarted server adds to it).
func startServer(ctx context.Context, otto, dataDir, logPath, password string, opts serverOptions) (*server, error) {
	s := &server{otto: otto, dataDir: dataDir, logPath: logPath, password: password, opts: opts}
	return s, s.start(ctx)
}

func (s *server) start(ctx context.Context) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Dir(s.dataDir),
		testbin.AdminPasswordVar + "=" + s.password,
	}
	if s.opts.perFrame {
		env = append(env, envDerivePerFrame+"=1")
	}
	env = append(env, s.opts.env...)
	// The server dies with this process even when it is killed.
	p, err := testbin.Start(s.otto, testbin.ServerArgs(s.dataDir, "127.0.0.1:0"),
		testbin.Options{Env: env, Stdout: logFile, Stderr: pw, DieWithParent: true})
	pw.Close()
	if err != nil {
		pr.Close()
		logFile.Close()
		return err
	}
	s.proc, s.pid, s.done = p, p.Pid, p.Done()
	s.started = time.Now()

	listening := make(chan string, 1)
	go func() {
		defer logFile.Close()
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if m := testbin.ServerListening.FindStringSubmatch(line); m != nil {
				select {
				case listening <- m[2]:
				default:
				}
			}
			if strings.Contains(line, logDerivePerFrame) {
				s.mu.Lock()
				s.derive = true
				s.mu.Unlock()
			}
			if strings.Contains(line, `msg="heartbeat sweep done"`) {
				s.mu.Lock()
				s.sweeps++
				s.mu.Unlock()
			}
			if strings.Contains(strings.ToLower(line), "panic") {
				s.mu.Lock()
				if len(s.panics) < 20 {
					s.panics = append(s.panics, line)
				}
				s.mu.Unlock()
			}
		}
	}()
	t := time.NewTimer(serverStartTimeout)
	defer t.Stop()
	select {
	case s.url = <-listening:
		// The server logs that it derives per frame before it listens,
		// and the log is read in order.
		s.mu.Lock()
		derive := s.derive
		s.mu.Unlock()
		if s.opts.perFrame && !derive {
			s.kill()
			return fmt.Errorf("otto server %s does not derive the key per frame (no %q in its log): build it with -tags %s", s.otto, logDerivePerFrame, testbin.Tag)
		}
		return nil
	case <-s.done:
		return fmt.Errorf("otto server exited at start (%v); see %s", s.exitErr(), s.logPath)
	case <-t.C:
		s.kill()
		return fmt.Errorf("otto server did not listen within %s; see %s", serverStartTimeout, s.logPath)
	case <-ctx.Done():
		s.kill()
		return context.Cause(ctx)
	}
}

// exitErr is the process's exit, once done.
func (s *server) exitErr() error { return s.proc.Err() }

// alive reports whether the process still runs.
func (s *server) alive() bool { return !s.proc.Exited() }

// backgroundSweeps is how many sweeps the server ran on its own.
func (s *server) backgroundSweeps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sweeps
}

// panicLines returns the log lines that mention a panic.
func (s *server) panicLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.panics...)
}

// kill sends SIGKILL and waits for the process to be reaped.
func (s *server) kill() { s.proc.Kill() }

// stop sends SIGTERM, and SIGKILL if the server has not stopped within
// serverStopTimeout. It reports an exit other than a clean one.
func (s *server) stop() error {
	if s.proc == nil || !s.alive() {
		return nil
	}
	if !s.proc.Stop(syscall.SIGTERM, false, serverStopTimeout) {
		return fmt.Errorf("otto server did not stop within %s of SIGTERM; killed", serverStopTimeout)
	}
	return s.exitErr()
}

// restart starts the server again on the same data directory (after a
// kill); the URL changes.
func (s *server) restart(ctx context.Context) error {
	if s.alive() {
		return errors.New("bench: restart of a server that still runs")
	}
	return s.start(ctx)
}

// procStats is what /proc says about a process.
type procStats struct {
	RSS     int64         // VmRSS, bytes
	HWM     int64         // VmHWM (peak RSS since start or the last resetPeak), bytes
	Anon    int64         // RssAnon, bytes: the heap and stacks, without mapped files
	File    int64         // RssFile, bytes: mapped files (the bbolt database)
	Threads int           // OS threads
	CPU     time.Duration // utime+stime
	FDs     int           // open file descriptors
}

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// 100 on every Linux configuration in use.
const clockTick = 10 * time.Millisecond

// readProc reads pid's statistics from /proc.
func readProc(pid int) (procStats, error) {
	var st procStats
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "VmRSS":
			st.RSS = n << 10
		case "VmHWM":
			st.HWM = n << 10
		case "RssAnon":
			st.Anon = n << 10
		case "RssFile":
			st.File = n << 10
		case "Threads":
			st.Threads = int(n)
		}
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name, field 2, may hold spaces: count from its ")".
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return st, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(fields[12], 10, 64) // field 15
	st.CPU = time.Duration(utime+stime) * clockTick
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		st.FDs = len(ents)
	}
	return st, nil
}

// resetPeak makes pid's VmHWM start again from its current RSS.
func resetPeak(pid int) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// selfCPU is this process's CPU time (the in-process clients and the
// harness itself).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// usage is the server's resource use over one measured phase.
type usage struct {
	PeakRSS   int64         // the highest RSS seen: VmHWM after a reset, or a sample
	PeakAnon  int64         // the highest RssAnon sampled: heap and stacks, without the mapped database
	CPU       time.Duration // server CPU time used
	BenchCPU  time.Duration // this process's CPU time used (the clients)
	EndRSS    int64
	EndFDs    int
	sampleMax int64
}

// meter measures a server process over a phase: reset its peak, sample
// its RSS every 20 ms (VmHWM alone would do, but a kernel without
// clear_refs keeps the lifetime peak), and read its CPU time.
type meter struct {
	pid      int
	start    procStats
	benchCPU time.Duration
	stop     chan struct{}
	done     chan struct{}
	max      int64
	maxAnon  int64
}

func startMeter(pid int) *meter {
	resetPeak(pid)
	m := &meter{pid: pid, stop: make(chan struct{}), done: make(chan struct{}), benchCPU: selfCPU()}
	m.start, _ = readProc(pid)
	m.max, m.maxAnon = m.start.RSS, m.start.Anon
	go func() {
		defer close(m.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
			if st, err := readProc(pid); err == nil {
				m.max, m.maxAnon = max(m.max, st.RSS), max(m.maxAnon, st.Anon)
			}
		}
	}()
	return m
}

func (m *meter) end() usage {
	close(m.stop)
	<-m.done
	st, _ := readProc(m.pid)
	u := usage{CPU: st.CPU - m.start.CPU, BenchCPU: selfCPU() - m.benchCPU, EndRSS: st.RSS, EndFDs: st.FDs, sampleMax: m.max}
	u.PeakRSS = max(st.HWM, m.max)
	u.PeakAnon = max(st.Anon, m.maxAnon)
	return u
}

// copyTail copies the last n bytes of the file at path to w, for an error
// report.
func copyTail(w io.Writer, path string, n int64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	io.Copy(w, f)
}
