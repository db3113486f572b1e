package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/otto-automation/otto/internal/testbin"
)

// adminPassword is the first admin's password of every test server
// (OTTO_ADMIN_PASSWORD: no forced change).
const adminPassword = "e2e-admin-password-0"

// Deadlines of the waits. They are far above what the steps take on an
// idle machine (a few hundred milliseconds), since CI machines are loaded;
// a wait that reaches one is a hang, not slowness.
const (
	startWithin = 60 * time.Second // a process logs that it listens
	stopWithin  = 20 * time.Second // a process exits after SIGTERM (the client gives scripts 10 s)
	awaitWithin = 60 * time.Second // a state the test waits for through the API
	pollEvery   = 50 * time.Millisecond
)

// env is one test's world: a temporary directory, the processes started in
// it and the goroutines of the harness. Its cleanup stops the processes,
// checks that none of their descendants remain and that the harness's
// goroutines ended, and prints the processes' output if the test failed.
type env struct {
	t   *testing.T
	bin string
	dir string

	mu    sync.Mutex
	procs []*proc
	seq   int

	goroutines sync.WaitGroup
	transport  *http.Transport
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, bin: testbin.Otto(t), dir: t.TempDir()}
	e.transport = http.DefaultTransport.(*http.Transport).Clone()
	// After TempDir, so that it runs before the directory is removed.
	t.Cleanup(e.cleanup)
	return e
}

// next returns a number unique within the env, for names and files.
func (e *env) next() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return e.seq
}

// goroutine runs fn in a goroutine that cleanup waits for.
func (e *env) goroutine(fn func()) {
	e.goroutines.Add(1)
	go func() {
		defer e.goroutines.Done()
		fn()
	}()
}

func (e *env) cleanup() {
	t := e.t
	e.mu.Lock()
	procs := slices.Clone(e.procs)
	e.mu.Unlock()
	// Clients first, so that the server does not log their going away.
	slices.Reverse(procs)
	for _, p := range procs {
		p.stop()
	}
	for _, p := range procs {
		if left := awaitSessionEmpty(p.pid, 10*time.Second); len(left) > 0 {
			t.Errorf("%s (pid %d) left processes behind, killed now:\n%s", p.name, p.pid, strings.Join(left, "\n"))
		}
	}
	e.transport.CloseIdleConnections()
	done := make(chan struct{})
	go func() {
		e.goroutines.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("goroutines of the test harness still run 10s after the processes stopped")
	}
	if t.Failed() {
		for _, p := range e.procs {
			t.Logf("--- %s (pid %d, %s) stdout:\n%s", p.name, p.pid, p.exitText(), p.stdout.String())
			t.Logf("--- %s (pid %d) stderr:\n%s", p.name, p.pid, p.stderr.String())
		}
	}
}

// waitFor polls cond until it reports true, failing the test with what
// and cond's last explanation after within.
func waitFor(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", within, what, last)
		}
		time.Sleep(pollEvery)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// DeadPort returns a loopback port where connections are refused, and
// keeps it so for the rest of the test: a socket bound there that never
// listens, so no other process can take the port meanwhile.
func (e *env) DeadPort() int {
	e.t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		e.t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		e.t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

// ---- processes ----

// proc is a running otto process, the leader of its own session: every
// process it starts (scripts in their own process groups included) stays
// in that session, which is how cleanup finds leftovers.
type proc struct {
	env            *env
	name           string
	pid            int
	cmd            *exec.Cmd
	stdout, stderr *testbin.Output
	done           chan struct{} // closed when the process exited
	waitErr        error         // Wait's error, once done
}

// startProc starts the otto binary with args, in e's directory, with the
// test's environment minus any OTTO_ or REGISTER_ variable, plus extraEnv.
func (e *env) startProc(name string, extraEnv []string, args ...string) *proc {
	e.t.Helper()
	return e.startBin(e.bin, name, extraEnv, args...)
}

// startBin is startProc with another otto binary, such as
// testbin.OttoTest's for a process whose test knob a test sets.
func (e *env) startBin(bin, name string, extraEnv []string, args ...string) *proc {
	e.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = e.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTTO_") && !strings.HasPrefix(kv, "REGISTER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second // a leftover holding the pipes must not block Wait
	p := &proc{env: e, name: name, cmd: cmd, stdout: &testbin.Output{}, stderr: &testbin.Output{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("starting %s: %v", name, err)
	}
	p.pid = cmd.Process.Pid
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	e.goroutine(func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit status, -1 if a signal ended it. Call it
// once done is closed.
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

func (p *proc) exitText() string {
	if !p.exited() {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// awaitExit waits for the process to exit by itself and returns its code.
func (p *proc) awaitExit(within time.Duration) int {
	p.env.t.Helper()
	select {
	case <-p.done:
		return p.exitCode()
	case <-time.After(within):
		p.env.t.Fatalf("%s did not exit within %v", p.name, within)
		return 0
	}
}

// signal sends sig to the process and waits for it to exit; it kills it
// if it does not within stopWithin. It reports whether sig was enough.
func (p *proc) signal(sig syscall.Signal) bool {
	return p.signalTo(p.pid, sig)
}

// signalGroup is signal to the process's whole process group, as a
// terminal sends Ctrl-C.
func (p *proc) signalGroup(sig syscall.Signal) bool {
	return p.signalTo(-p.pid, sig)
}

func (p *proc) signalTo(pid int, sig syscall.Signal) bool {
	if p.exited() {
		return true
	}
	syscall.Kill(pid, sig)
	select {
	case <-p.done:
		return true
	case <-time.After(stopWithin):
		p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL.
func (p *proc) stop() { p.signal(syscall.SIGTERM) }

// Kill ends the process at once, as a crash would.
func (p *proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// MustCleanShutdown stops the process with SIGTERM and fails the test
// unless it exits with status 0 in time.
func (p *proc) MustCleanShutdown() {
	p.env.t.Helper()
	if !p.signal(syscall.SIGTERM) {
		p.env.t.Fatalf("%s did not stop within %v of SIGTERM", p.name, stopWithin)
	}
	if code := p.exitCode(); code != 0 {
		p.env.t.Fatalf("%s exited with %s after SIGTERM, want status 0", p.name, p.cmd.ProcessState)
	}
}

// awaitLog waits for a line of the process's stderr (or stdout) to match
// re, and returns the submatches.
func (p *proc) awaitLog(re *regexp.Regexp) []string {
	p.env.t.Helper()
	var m []string
	waitFor(p.env.t, startWithin, fmt.Sprintf("%s to log %q", p.name, re), func() (bool, string) {
		if m = re.FindStringSubmatch(p.stderr.String()); m != nil {
			return true, ""
		}
		if m = re.FindStringSubmatch(p.stdout.String()); m != nil {
			return true, ""
		}
		if p.exited() {
			p.env.t.Fatalf("%s exited (%s) before logging %q:\n%s%s", p.name, p.exitText(), re, p.stdout, p.stderr)
		}
		return false, "not yet"
	})
	return m
}

// sessionMembers lists the live processes of session sid as "pid cmdline".
// Zombies are left out: a process that was killed and reparented to a PID
// 1 that does not reap is gone for every purpose but the process table.
func sessionMembers(sid int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		st, err := procStat(pid)
		if err != nil || st.session != sid || st.state == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return out
}

type stat struct {
	state   string
	session int
}

// procStat reads the state and session of pid from /proc/pid/stat.
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return stat{}, errors.New("malformed stat")
	}
	sid, err := strconv.Atoi(f[3])
	return stat{state: f[0], session: sid}, err
}

// processGone reports whether pid no longer runs (it may be a zombie).
func processGone(pid int) bool {
	st, err := procStat(pid)
	return err != nil || st.state == "Z"
}

// awaitSessionEmpty waits for session sid to have no live process, and
// kills and returns those still there after within.
func awaitSessionEmpty(sid int, within time.Duration) []string {
	deadline := time.Now().Add(within)
	for {
		left := sessionMembers(sid)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, l := range left {
				pid, _ := strconv.Atoi(strings.Fields(l)[0])
				syscall.Kill(pid, syscall.SIGKILL)
			}
			return left
		}
		time.Sleep(pollEvery)
	}
}

// ---- server ----

// server is a running "otto server" on a free loopback port, and an API
// client signed in as admin with an API key.
type server struct {
	*proc
	env     *env
	dataDir string
	URL     string
	apiKey  string
	http    *http.Client
}

// StartServer starts a server with a fresh data directory.
func (e *env) StartServer() *server {
	e.t.Helper()
	s := &server{env: e, dataDir: filepath.Join(e.dir, fmt.Sprintf("server-%d", e.next()))}
	s.http = &http.Client{Transport: e.transport, Timeout: 2 * awaitWithin}
	s.start()
	s.apiKey = s.newAPIKey(adminPassword)
	return s
}

// AttachServer is a server that another process started (otto demo), at
// url, signed in as admin with password.
func (e *env) AttachServer(url, password string) *server {
	e.t.Helper()
	s := &server{env: e, URL: url}
	s.http = &http.Client{Transport: e.transport, Timeout: 2 * awaitWithin}
	s.apiKey = s.newAPIKey(password)
	return s
}

func (s *server) start() {
	s.env.t.Helper()
	s.proc = s.env.startProc("server", []string{"OTTO_ADMIN_PASSWORD=" + adminPassword},
		"server", "--data-dir", s.dataDir, "--listen", "127.0.0.1:0")
	s.URL = s.awaitLog(testbin.ServerListening)[2]
}

// Restart stops the server cleanly and starts it again on its data
// directory (on another port).
func (s *server) Restart() {
	s.env.t.Helper()
	s.MustCleanShutdown()
	s.start()
}

// newAPIKey logs in as admin with a session cookie and issues an API key.
func (s *server) newAPIKey(password string) string {
	t := s.env.t
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: s.env.transport, Jar: jar, Timeout: awaitWithin}
	post := func(path string, body any) json.RawMessage {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-OTTO-CSRF", "1")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		var env envelope
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s: HTTP %d: %s (%v)", path, resp.StatusCode, env.Error.Message, err)
		}
		return env.Data
	}
	post("/api/login", map[string]string{"Username": "admin", "Password": password})
	var key struct{ APIKey string }
	if err := json.Unmarshal(post("/api/users/user/admin/apikey", nil), &key); err != nil || key.APIKey == "" {
		t.Fatalf("no API key in the answer: %v", err)
	}
	return key.APIKey
}

// envelope is the API's answer.
type envelope struct {
	Code  int `json:"code"`
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Data json.RawMessage `json:"data"`
}

// request builds an API request authenticated with the admin's key.
func (s *server) request(ctx context.Context, method, path string, in any) *http.Request {
	s.env.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			s.env.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	if err != nil {
		s.env.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OTTO-USERNAME", "admin")
	req.Header.Set("X-OTTO-API-KEY", s.apiKey)
	return req
}

// Call sends an API request and decodes the answer's data into out (if
// not nil). It returns the HTTP status and the error message of a failure;
// a failure to talk to the server at all fails the test.
func (s *server) Call(method, path string, in, out any) (int, string) {
	t := s.env.t
	t.Helper()
	resp, err := s.http.Do(s.request(context.Background(), method, path, in))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: HTTP %d, not an envelope: %v", method, path, resp.StatusCode, err)
	}
	if env.Code != resp.StatusCode {
		t.Errorf("%s %s: HTTP %d but the envelope says %d", method, path, resp.StatusCode, env.Code)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, env.Error.Message
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, env.Data, err)
		}
	}
	return resp.StatusCode, ""
}

// MustCall is Call that fails the test unless the answer is 200.
func (s *server) MustCall(method, path string, in, out any) {
	s.env.t.Helper()
	if code, msg := s.Call(method, path, in, out); code != http.StatusOK {
		s.env.t.Fatalf("%s %s: HTTP %d: %s", method, path, code, msg)
	}
}

// SetOptions lays opts over the server's options.
func (s *server) SetOptions(opts map[string]any) {
	s.env.t.Helper()
	s.MustCall("POST", "/api/options", opts, nil)
}

// host is the API's Host.
type host struct {
	ID              int64
	Name            string
	Address         string
	Port            uint32
	PSK             string
	LastPSKRotate   time.Time
	RotateOnContact bool
	GroupIDs        []int64
	Enabled         bool
}

// hostStatus is an entry of GET /api/heartbeat.
type hostStatus struct {
	HostID      int64
	Address     string
	IsReachable bool
	LastAttempt time.Time
	LastReply   time.Time
	Error       string
	Version     string
	Properties  map[string]string
}

// MustAddHost adds cl as a host (named after it, with its address and
// PSK, in the default group); edits may change the request's fields.
func (s *server) MustAddHost(cl *client, edits ...func(req map[string]any)) host {
	s.env.t.Helper()
	req := map[string]any{"Name": cl.Name, "Address": "127.0.0.1", "Port": cl.Port, "PSK": cl.PSK}
	for _, edit := range edits {
		edit(req)
	}
	return s.MustCreateHost(req)
}

// MustCreateHost adds a host from the fields of PUT /api/hosts/host.
func (s *server) MustCreateHost(req map[string]any) host {
	s.env.t.Helper()
	var h host
	s.MustCall("PUT", "/api/hosts/host", req, &h)
	return h
}

// Host reads a host as an admin sees it.
func (s *server) Host(id int64) host {
	s.env.t.Helper()
	var h host
	s.MustCall("GET", fmt.Sprintf("/api/hosts/host/%d", id), nil, &h)
	return h
}

// Heartbeat contacts host id now and returns its status.
func (s *server) Heartbeat(id int64) hostStatus {
	s.env.t.Helper()
	var st hostStatus
	s.MustCall("POST", fmt.Sprintf("/api/hosts/host/%d/heartbeat", id), nil, &st)
	return st
}

// AwaitHeartbeat sends heartbeats to h until it answers one.
func (s *server) AwaitHeartbeat(h host) hostStatus {
	s.env.t.Helper()
	var st hostStatus
	waitFor(s.env.t, awaitWithin, fmt.Sprintf("host %q to answer a heartbeat", h.Name), func() (bool, string) {
		st = s.Heartbeat(h.ID)
		return st.IsReachable, st.Error
	})
	return st
}

// Statuses is GET /api/heartbeat.
func (s *server) Statuses() map[int64]hostStatus {
	s.env.t.Helper()
	var byKey map[string]hostStatus
	s.MustCall("GET", "/api/heartbeat", nil, &byKey)
	out := make(map[int64]hostStatus, len(byKey))
	for k, st := range byKey {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil || id != st.HostID {
			s.env.t.Fatalf("GET /api/heartbeat: key %q holds the status of host %d", k, st.HostID)
		}
		out[id] = st
	}
	return out
}

// group is the API's Group.
type group struct {
	ID        int64
	Name      string
	ScriptIDs []int64
}

// MustGroup creates a group.
func (s *server) MustGroup(name string) group {
	s.env.t.Helper()
	var g group
	s.MustCall("PUT", "/api/groups/group", map[string]any{"Name": name}, &g)
	return g
}

// GroupNamed finds a group by name.
func (s *server) GroupNamed(name string) group {
	s.env.t.Helper()
	var gs []group
	s.MustCall("GET", "/api/groups", nil, &gs)
	for _, g := range gs {
		if g.Name == name {
			return g
		}
	}
	s.env.t.Fatalf("no group %q in %+v", name, gs)
	return group{}
}

// MustScript creates a /bin/sh script with body, running as the client's
// user, and returns its ID.
func (s *server) MustScript(body string, edits ...func(req map[string]any)) int64 {
	s.env.t.Helper()
	req := map[string]any{"Name": fmt.Sprintf("script-%d", s.env.next()), "Executable": "/bin/sh", "Script": body,
		"RunAs": map[string]any{"Inherit": true}}
	for _, edit := range edits {
		edit(req)
	}
	var sc struct{ ID int64 }
	s.MustCall("PUT", "/api/scripts/script", req, &sc)
	return sc.ID
}

// MustUpload uploads data as an attachment with the form fields given
// (Path, Mode, UID, GID, Inherit, Name) and returns its ID.
func (s *server) MustUpload(data string, fields map[string]string) int64 {
	t := s.env.t
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "data.txt")
	io.WriteString(fw, data)
	mw.Close()
	req, _ := http.NewRequest("PUT", s.URL+"/api/attachments", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-OTTO-USERNAME", "admin")
	req.Header.Set("X-OTTO-API-KEY", s.apiKey)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("PUT /api/attachments: %v", err)
	}
	defer resp.Body.Close()
	var env envelope
	var a struct{ ID int64 }
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 200 || json.Unmarshal(env.Data, &a) != nil {
		t.Fatalf("PUT /api/attachments: HTTP %d: %s (%v)", resp.StatusCode, env.Error.Message, err)
	}
	return a.ID
}

// run is the API's Run.
type run struct {
	ID         int64
	BatchID    string
	ScriptID   int64
	ScriptName string
	HostID     int64
	HostName   string
	StartedBy  string
	State      string
	Started    time.Time
	Finished   time.Time
	Duration   time.Duration
	ExitCode   int
	Success    bool
	Error      string
	Stdout     string
	Stderr     string
	Truncated  bool
}

func (r run) ended() bool { return r.State == "done" || r.State == "failed" || r.State == "canceled" }

// batch is the answer of POST /api/runs.
type batch struct {
	srv     *server
	BatchID string
	Runs    []run
}

// MustStart starts script scriptID on hosts and groups.
func (s *server) MustStart(scriptID int64, hostIDs, groupIDs []int64) *batch {
	s.env.t.Helper()
	b := &batch{srv: s}
	s.MustCall("POST", "/api/runs", map[string]any{"ScriptID": scriptID, "HostIDs": hostIDs, "GroupIDs": groupIDs}, b)
	if b.BatchID == "" || len(b.Runs) == 0 {
		s.env.t.Fatalf("POST /api/runs answered no batch or no runs: %+v", b)
	}
	return b
}

// AwaitEnd polls the batch until every run ended, and returns them (in
// the history's order, without output).
func (b *batch) AwaitEnd(within time.Duration) []run {
	b.srv.env.t.Helper()
	var runs []run
	waitFor(b.srv.env.t, within, "the runs of batch "+b.BatchID+" to end", func() (bool, string) {
		runs = nil
		b.srv.MustCall("GET", "/api/runs/batch/"+b.BatchID, nil, &runs)
		var states []string
		for _, r := range runs {
			if !r.ended() {
				states = append(states, fmt.Sprintf("run %d on %s is %s", r.ID, r.HostName, r.State))
			}
		}
		return len(states) == 0, strings.Join(states, "; ")
	})
	return runs
}

// runHandle follows one run.
type runHandle struct {
	srv *server
	ID  int64
	run run // as started
}

// MustRun creates a script with body and starts it on h.
func (s *server) MustRun(body string, h host) *runHandle {
	s.env.t.Helper()
	b := s.MustStart(s.MustScript(body), []int64{h.ID}, nil)
	return &runHandle{srv: s, ID: b.Runs[0].ID, run: b.Runs[0]}
}

// Get reads the run with its output.
func (r *runHandle) Get() run {
	r.srv.env.t.Helper()
	var out run
	r.srv.MustCall("GET", fmt.Sprintf("/api/runs/run/%d", r.ID), nil, &out)
	return out
}

// AwaitOutput waits for the run's stdout to contain s.
func (r *runHandle) AwaitOutput(s string) run {
	r.srv.env.t.Helper()
	var cur run
	waitFor(r.srv.env.t, awaitWithin, fmt.Sprintf("run %d to print %q", r.ID, s), func() (bool, string) {
		cur = r.Get()
		if cur.ended() && !strings.Contains(cur.Stdout, s) {
			r.srv.env.t.Fatalf("run %d ended (%s, %q) without printing %q: %q", r.ID, cur.State, cur.Error, s, cur.Stdout)
		}
		return strings.Contains(cur.Stdout, s), fmt.Sprintf("%s, stdout %q", cur.State, cur.Stdout)
	})
	return cur
}

// AwaitEnd waits for the run to end and returns it with its output.
func (r *runHandle) AwaitEnd(within time.Duration) run {
	r.srv.env.t.Helper()
	var cur run
	waitFor(r.srv.env.t, within, fmt.Sprintf("run %d to end", r.ID), func() (bool, string) {
		cur = r.Get()
		return cur.ended(), cur.State
	})
	return cur
}

// sseEvent is one server-sent event, with when the test read it.
type sseEvent struct {
	Name string
	Data json.RawMessage
	At   time.Time
}

// Follow reads the server-sent events of path until the "end" event or
// the end of the stream, failing the test after within.
func (s *server) Follow(path string, within time.Duration) []sseEvent {
	s.env.t.Helper()
	return s.FollowRequest("GET", path, nil, within)
}

// FollowRequest is Follow for any request whose answer is a stream.
func (s *server) FollowRequest(method, path string, body any, within time.Duration) []sseEvent {
	s.env.t.Helper()
	st := s.OpenStream(method, path, body, within)
	defer st.Close()
	return st.ReadUntil("end")
}

// sseStream is an open stream of server-sent events.
type sseStream struct {
	t            *testing.T
	method, path string
	within       time.Duration
	ctx          context.Context
	cancel       context.CancelFunc
	resp         *http.Response
	rd           *lineReader
	events       []sseEvent // read so far
	eof          bool
}

// OpenStream sends a request whose answer is a stream of server-sent
// events, and checks that it is one. The whole stream must end within.
func (s *server) OpenStream(method, path string, body any, within time.Duration) *sseStream {
	t := s.env.t
	t.Helper()
	st := &sseStream{t: t, method: method, path: path, within: within}
	st.ctx, st.cancel = context.WithTimeout(context.Background(), within)
	resp, err := (&http.Client{Transport: s.env.transport}).Do(s.request(st.ctx, method, path, body))
	if err != nil {
		st.cancel()
		t.Fatalf("%s %s: %v", method, path, err)
	}
	st.resp, st.rd = resp, newLineReader(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		st.Close()
		t.Fatalf("%s %s: HTTP %d, %s: %s", method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return st
}

// Close ends the stream.
func (st *sseStream) Close() {
	st.cancel()
	st.resp.Body.Close()
}

// ReadUntil reads events until one named name (included) or the end of
// the stream, and returns every event read since the stream opened.
func (st *sseStream) ReadUntil(name string) []sseEvent {
	t := st.t
	t.Helper()
	var cur sseEvent
	for !st.eof {
		line, err := st.rd.line()
		if err != nil {
			if st.ctx.Err() != nil {
				t.Fatalf("%s %s: no %s event within %v; got %s", st.method, st.path, name, st.within, eventNames(st.events))
			}
			if errors.Is(err, io.EOF) {
				st.eof = true
				break
			}
			t.Fatalf("%s %s: reading: %v", st.method, st.path, err)
		}
		switch {
		case line == "":
			if cur.Name != "" {
				cur.At = time.Now()
				st.events = append(st.events, cur)
				if cur.Name == name {
					return st.events
				}
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			cur.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = append(cur.Data, strings.TrimPrefix(line, "data: ")...)
		default:
			t.Fatalf("%s %s: unexpected line %q", st.method, st.path, line)
		}
	}
	return st.events
}

func eventNames(evs []sseEvent) string {
	var names []string
	for _, e := range evs {
		names = append(names, e.Name)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// lineReader reads lines of any length.
type lineReader struct {
	r   io.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: r} }

func (l *lineReader) line() (string, error) {
	for {
		if i := bytes.IndexByte(l.buf, '\n'); i >= 0 {
			line := string(l.buf[:i])
			l.buf = l.buf[i+1:]
			return line, nil
		}
		chunk := make([]byte, 32<<10)
		n, err := l.r.Read(chunk)
		l.buf = append(l.buf, chunk[:n]...)
		if err != nil && n == 0 {
			return "", err
		}
	}
}

// ---- client ----

// client is a running "otto client".
type client struct {
	*proc
	Name       string
	ConfigPath string
	PSK        string // the PSK it started with
	Port       int
}

type clientSpec struct {
	psk    string
	listen string
	config string // an existing config file
}

type clientOpt func(*clientSpec)

// withPSK starts the client with psk instead of a random one.
func withPSK(psk string) clientOpt { return func(c *clientSpec) { c.psk = psk } }

// withConfig starts the client on an existing config file.
func withConfig(path string) clientOpt { return func(c *clientSpec) { c.config = path } }

// StartClient writes a config (listening on a free loopback port, with a
// random PSK, allowing loopback peers) and starts a client on it; it
// returns once the client listens.
func (e *env) StartClient(opts ...clientOpt) *client {
	e.t.Helper()
	cl := e.launchClient(opts...)
	cl.awaitListening()
	return cl
}

// StartClients starts n clients at once, as StartClient does each.
func (e *env) StartClients(n int) []*client {
	e.t.Helper()
	cls := make([]*client, n)
	for i := range cls {
		cls[i] = e.launchClient()
	}
	for _, cl := range cls {
		cl.awaitListening()
	}
	return cls
}

// launchClient writes the config and starts the process.
func (e *env) launchClient(opts ...clientOpt) *client {
	e.t.Helper()
	n := e.next()
	spec := clientSpec{psk: "psk-" + randomHex(16), listen: "127.0.0.1:0"}
	for _, o := range opts {
		o(&spec)
	}
	cl := &client{Name: fmt.Sprintf("client-%d", n), PSK: spec.psk, ConfigPath: spec.config}
	if cl.ConfigPath == "" {
		cl.ConfigPath = filepath.Join(e.dir, fmt.Sprintf("client-%d.toml", n))
		cfg := fmt.Sprintf("listen_addr = %q\npsk = %q\nallow_from = [\"127.0.0.0/8\"]\n", spec.listen, spec.psk)
		if err := os.WriteFile(cl.ConfigPath, []byte(cfg), 0o600); err != nil {
			e.t.Fatal(err)
		}
	} else {
		cl.PSK = readClientConfig(e.t, cl.ConfigPath).PSK
	}
	cl.proc = e.startProc(cl.Name, nil, "client", "--config", cl.ConfigPath)
	return cl
}

// awaitListening waits for the client to log its address, and sets Port.
func (c *client) awaitListening() {
	c.env.t.Helper()
	addr := c.awaitLog(testbin.ClientListening)[1]
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.env.t.Fatalf("%s listens on %q: %v", c.Name, addr, err)
	}
	c.Port, _ = strconv.Atoi(port)
}

// clientConfig is the part of a client config the tests read.
type clientConfig struct {
	ListenAddr string   `toml:"listen_addr"`
	PSK        string   `toml:"psk"`
	AllowFrom  []string `toml:"allow_from"`
}

func readClientConfig(t testing.TB, path string) clientConfig {
	t.Helper()
	var c clientConfig
	if _, err := toml.DecodeFile(path, &c); err != nil {
		t.Fatalf("reading the client config: %v", err)
	}
	return c
}

// ConfigPSK is the PSK in the client's config file now.
func (c *client) ConfigPSK() string {
	c.env.t.Helper()
	return readClientConfig(c.env.t, c.ConfigPath).PSK
}

// Addr is where the client listens.
func (c *client) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)) }

// accepts reports whether something accepts TCP connections at addr.
func accepts(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
