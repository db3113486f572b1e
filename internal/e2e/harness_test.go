package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
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

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
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
	*testbin.Proc
	env            *env
	name           string
	pid            int
	stdout, stderr *testbin.Output
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
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTTO_") && !strings.HasPrefix(kv, "REGISTER_") {
			environ = append(environ, kv)
		}
	}
	p := &proc{env: e, name: name, stdout: &testbin.Output{}, stderr: &testbin.Output{}}
	var err error
	p.Proc, err = testbin.Start(bin, args, testbin.Options{Env: append(environ, extraEnv...), Dir: e.dir,
		Stdout: p.stdout, Stderr: p.stderr, Session: true})
	if err != nil {
		e.t.Fatalf("starting %s: %v", name, err)
	}
	p.pid = p.Pid
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p
}

func (p *proc) exited() bool { return p.Exited() }

// exitCode is the process's exit status, -1 if a signal ended it. Call it
// once it exited.
func (p *proc) exitCode() int { return p.Cmd.ProcessState.ExitCode() }

func (p *proc) exitText() string {
	if !p.exited() {
		return "running"
	}
	return p.Cmd.ProcessState.String()
}

// awaitExit waits for the process to exit by itself and returns its code.
func (p *proc) awaitExit(within time.Duration) int {
	p.env.t.Helper()
	select {
	case <-p.Done():
		return p.exitCode()
	case <-time.After(within):
		p.env.t.Fatalf("%s did not exit within %v", p.name, within)
		return 0
	}
}

// signal sends sig to the process and waits for it to exit; it kills it
// if it does not within stopWithin. It reports whether sig was enough.
func (p *proc) signal(sig syscall.Signal) bool { return p.Stop(sig, false, stopWithin) }

// signalGroup is signal to the process's whole process group, as a
// terminal sends Ctrl-C.
func (p *proc) signalGroup(sig syscall.Signal) bool { return p.Stop(sig, true, stopWithin) }

// stop ends the process: SIGTERM, then SIGKILL.
func (p *proc) stop() { p.signal(syscall.SIGTERM) }

// MustCleanShutdown stops the process with SIGTERM and fails the test
// unless it exits with status 0 in time.
func (p *proc) MustCleanShutdown() {
	p.env.t.Helper()
	if !p.signal(syscall.SIGTERM) {
		p.env.t.Fatalf("%s did not stop within %v of SIGTERM", p.name, stopWithin)
	}
	if code := p.exitCode(); code != 0 {
		p.env.t.Fatalf("%s exited with %s after SIGTERM, want status 0", p.name, p.Cmd.ProcessState)
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
	api     *apiclient.Client
}

// StartServer starts a server with a fresh data directory.
func (e *env) StartServer() *server {
	e.t.Helper()
	s := &server{env: e, dataDir: filepath.Join(e.dir, fmt.Sprintf("server-%d", e.next()))}
	s.start()
	s.login(adminPassword)
	return s
}

// AttachServer is a server that another process started (otto demo), at
// url, signed in as admin with password.
func (e *env) AttachServer(url, password string) *server {
	e.t.Helper()
	s := &server{env: e, URL: url}
	s.login(password)
	return s
}

func (s *server) start() {
	s.env.t.Helper()
	s.proc = s.env.startProc("server", []string{testbin.AdminPasswordVar + "=" + adminPassword},
		testbin.ServerArgs(s.dataDir, "127.0.0.1:0")...)
	s.URL = s.awaitLog(testbin.ServerListening)[2]
	if s.apiKey != "" { // a restart: on another port, with the same key
		s.api = s.newClient(s.apiKey)
	}
}

// Restart stops the server cleanly and starts it again on its data
// directory (on another port).
func (s *server) Restart() {
	s.env.t.Helper()
	s.MustCleanShutdown()
	s.start()
}

// login signs in as admin with a session cookie and issues the API key
// that s.api calls with.
func (s *server) login(password string) {
	t := s.env.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), awaitWithin)
	defer cancel()
	_, key, err := testbin.Login(ctx, s.URL, "admin", password, apiclient.Options{HTTPClient: s.httpClient(awaitWithin)})
	if err != nil {
		t.Fatalf("signing in to %s: %v", s.URL, err)
	}
	s.apiKey = key
	s.api = s.newClient(key)
}

// httpClient is a client over the env's transport, so that cleanup closes
// its connections; timeout 0 means none (streams).
func (s *server) httpClient(timeout time.Duration) *http.Client {
	return &http.Client{Transport: s.env.transport, Timeout: timeout}
}

func (s *server) newClient(key string) *apiclient.Client {
	s.env.t.Helper()
	c, err := apiclient.New(s.URL, apiclient.Options{Username: "admin", APIKey: key, HTTPClient: s.httpClient(2 * awaitWithin)})
	if err != nil {
		s.env.t.Fatal(err)
	}
	return c
}

// Call sends an API request and decodes the answer's data into out (if
// not nil). It returns the HTTP status and the error message of a failure;
// a failure to talk to the server at all fails the test.
func (s *server) Call(method, path string, in, out any) (int, string) {
	t := s.env.t
	t.Helper()
	err := s.api.Do(context.Background(), method, path, in, out)
	var apiErr *apiclient.Error
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.As(err, &apiErr):
		if apiErr.Code != apiErr.Status {
			t.Errorf("%s %s: HTTP %d but the envelope says %d", method, path, apiErr.Status, apiErr.Code)
		}
		return apiErr.Status, apiErr.Message
	}
	t.Fatalf("%s %s: %v", method, path, err)
	return 0, ""
}

// MustCall is Call that fails the test unless the answer is 200.
func (s *server) MustCall(method, path string, in, out any) {
	s.env.t.Helper()
	if code, msg := s.Call(method, path, in, out); code != http.StatusOK {
		s.env.t.Fatalf("%s %s: HTTP %d: %s", method, path, code, msg)
	}
}

// SetOptions lays opts over the server's options: only the fields given
// change, which apitype.Options, complete, cannot say.
func (s *server) SetOptions(opts map[string]any) {
	s.env.t.Helper()
	s.MustCall("POST", "/api/options", opts, nil)
}

// host is the API's Host.
type host = apitype.Host

// MustAddHost adds cl as a host (named after it, with its address and
// PSK, in the default group); edits may change the request's fields.
func (s *server) MustAddHost(cl *client, edits ...func(req *apitype.HostRequest)) host {
	s.env.t.Helper()
	req := apitype.HostRequest{Name: cl.Name, Address: "127.0.0.1", Port: uint32(cl.Port), PSK: cl.PSK}
	for _, edit := range edits {
		edit(&req)
	}
	return s.MustCreateHost(req)
}

// MustCreateHost adds a host (PUT /api/hosts/host).
func (s *server) MustCreateHost(req apitype.HostRequest) host {
	s.env.t.Helper()
	var h host
	s.MustCall("PUT", "/api/hosts/host", req, &h)
	return h
}

// Host reads a host as an admin sees it.
func (s *server) Host(id apitype.ID) host {
	s.env.t.Helper()
	var h host
	s.MustCall("GET", apiclient.ItemPath("/api/hosts/host", string(id)), nil, &h)
	return h
}

// Heartbeat contacts host id now and returns its status.
func (s *server) Heartbeat(id apitype.ID) apitype.Heartbeat {
	s.env.t.Helper()
	var st apitype.Heartbeat
	s.MustCall("POST", apiclient.ItemPath("/api/hosts/host", string(id), "heartbeat"), nil, &st)
	return st
}

// AwaitHeartbeat sends heartbeats to h until it answers one.
func (s *server) AwaitHeartbeat(h host) apitype.Heartbeat {
	s.env.t.Helper()
	var st apitype.Heartbeat
	waitFor(s.env.t, awaitWithin, fmt.Sprintf("host %q to answer a heartbeat", h.Name), func() (bool, string) {
		st = s.Heartbeat(h.ID)
		return st.IsReachable, st.Error
	})
	return st
}

// Statuses is GET /api/heartbeat, whose keys must be the statuses' HostIDs.
func (s *server) Statuses() map[apitype.ID]apitype.Heartbeat {
	s.env.t.Helper()
	var byKey map[string]apitype.Heartbeat
	s.MustCall("GET", "/api/heartbeat", nil, &byKey)
	out := make(map[apitype.ID]apitype.Heartbeat, len(byKey))
	for k, st := range byKey {
		if apitype.ID(k) != st.HostID {
			s.env.t.Fatalf("GET /api/heartbeat: key %q holds the status of host %q", k, st.HostID)
		}
		out[st.HostID] = st
	}
	return out
}

// MustGroup creates a group.
func (s *server) MustGroup(name string) apitype.Group {
	s.env.t.Helper()
	var g apitype.Group
	s.MustCall("PUT", "/api/groups/group", apitype.GroupRequest{Name: name}, &g)
	return g
}

// GroupNamed finds a group by name.
func (s *server) GroupNamed(name string) apitype.Group {
	s.env.t.Helper()
	var gs []apitype.Group
	s.MustCall("GET", "/api/groups", nil, &gs)
	for _, g := range gs {
		if g.Name == name {
			return g
		}
	}
	s.env.t.Fatalf("no group %q in %+v", name, gs)
	return apitype.Group{}
}

// MustScript creates a /bin/sh script with body, running as the client's
// user, and returns its ID.
func (s *server) MustScript(body string, edits ...func(req *apitype.ScriptRequest)) apitype.ID {
	s.env.t.Helper()
	req := apitype.ScriptRequest{Name: fmt.Sprintf("script-%d", s.env.next()), Executable: "/bin/sh", Script: body,
		RunAs: apitype.RunAs{Inherit: true}}
	for _, edit := range edits {
		edit(&req)
	}
	var sc apitype.Script
	s.MustCall("PUT", "/api/scripts/script", req, &sc)
	return sc.ID
}

// MustUpload uploads data as an attachment with the form fields given
// (Path, Mode, UID, GID, Inherit, Name) and returns its ID.
func (s *server) MustUpload(data string, fields map[string]string) apitype.ID {
	t := s.env.t
	t.Helper()
	var form []apiclient.FormField
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		form = append(form, apiclient.FormField{Name: k, Value: fields[k]})
	}
	var a apitype.Attachment
	if err := s.api.Upload(context.Background(), "PUT", "/api/attachments", form, "data.txt", strings.NewReader(data), &a); err != nil {
		t.Fatalf("PUT /api/attachments: %v", err)
	}
	return a.ID
}

// batch is the answer of POST /api/runs.
type batch struct {
	srv *server
	apitype.Batch
}

// MustStart starts script scriptID on hosts and groups.
func (s *server) MustStart(scriptID apitype.ID, hostIDs, groupIDs []apitype.ID) *batch {
	s.env.t.Helper()
	b := &batch{srv: s}
	s.MustCall("POST", "/api/runs", apitype.RunsRequest{ScriptID: scriptID, HostIDs: hostIDs, GroupIDs: groupIDs}, &b.Batch)
	if b.BatchID == "" || len(b.Runs) == 0 {
		s.env.t.Fatalf("POST /api/runs answered no batch or no runs: %+v", b.Batch)
	}
	return b
}

// AwaitEnd polls the batch until every run ended, and returns them (in
// the history's order, without output).
func (b *batch) AwaitEnd(within time.Duration) []apitype.Run {
	b.srv.env.t.Helper()
	var runs []apitype.Run
	waitFor(b.srv.env.t, within, "the runs of batch "+b.BatchID+" to end", func() (bool, string) {
		runs = nil
		b.srv.MustCall("GET", apiclient.ItemPath("/api/runs/batch", b.BatchID), nil, &runs)
		var states []string
		for _, r := range runs {
			if !r.Done() {
				states = append(states, fmt.Sprintf("run %s on %s is %s", r.ID, r.HostName, r.State))
			}
		}
		return len(states) == 0, strings.Join(states, "; ")
	})
	return runs
}

// runHandle follows one run.
type runHandle struct {
	srv *server
	ID  apitype.ID
	run apitype.Run // as started
}

// MustRun creates a script with body and starts it on h.
func (s *server) MustRun(body string, h host) *runHandle {
	s.env.t.Helper()
	b := s.MustStart(s.MustScript(body), []apitype.ID{h.ID}, nil)
	return &runHandle{srv: s, ID: b.Runs[0].ID, run: b.Runs[0]}
}

// Get reads the run with its output.
func (r *runHandle) Get() apitype.Run {
	r.srv.env.t.Helper()
	var out apitype.Run
	r.srv.MustCall("GET", apiclient.ItemPath("/api/runs/run", string(r.ID)), nil, &out)
	return out
}

// AwaitOutput waits for the run's stdout to contain s.
func (r *runHandle) AwaitOutput(s string) apitype.Run {
	r.srv.env.t.Helper()
	var cur apitype.Run
	waitFor(r.srv.env.t, awaitWithin, fmt.Sprintf("run %s to print %q", r.ID, s), func() (bool, string) {
		cur = r.Get()
		if cur.Done() && !strings.Contains(cur.Stdout, s) {
			r.srv.env.t.Fatalf("run %s ended (%s, %q) without printing %q: %q", r.ID, cur.State, cur.Error, s, cur.Stdout)
		}
		return strings.Contains(cur.Stdout, s), fmt.Sprintf("%s, stdout %q", cur.State, cur.Stdout)
	})
	return cur
}

// AwaitEnd waits for the run to end and returns it with its output.
func (r *runHandle) AwaitEnd(within time.Duration) apitype.Run {
	r.srv.env.t.Helper()
	var cur apitype.Run
	waitFor(r.srv.env.t, within, fmt.Sprintf("run %s to end", r.ID), func() (bool, string) {
		cur = r.Get()
		return cur.Done(), cur.State
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
	return st.ReadUntil(apitype.EventEnd)
}

// sseStream is an open stream of server-sent events, read by a goroutine
// of the env (apiclient.Stream) and handed over one event at a time.
type sseStream struct {
	t            *testing.T
	method, path string
	within       time.Duration
	ctx          context.Context
	cancel       context.CancelFunc
	next         chan sseEvent // closed when the stream ended
	err          error         // why, once next is closed
	events       []sseEvent    // read so far
}

// OpenStream sends a request whose answer is a stream of server-sent
// events. The whole stream must end within.
func (s *server) OpenStream(method, path string, body any, within time.Duration) *sseStream {
	s.env.t.Helper()
	st := &sseStream{t: s.env.t, method: method, path: path, within: within, next: make(chan sseEvent)}
	st.ctx, st.cancel = context.WithTimeout(context.Background(), within)
	// Without the client's request timeout: a stream lasts.
	c, err := apiclient.New(s.URL, apiclient.Options{Username: "admin", APIKey: s.apiKey, HTTPClient: s.httpClient(0)})
	if err != nil {
		st.cancel()
		s.env.t.Fatal(err)
	}
	s.env.goroutine(func() {
		defer close(st.next)
		st.err = c.Stream(st.ctx, method, path, body, func(name string, data []byte) error {
			select {
			case st.next <- sseEvent{Name: name, Data: data, At: time.Now()}:
				return nil
			case <-st.ctx.Done():
				return st.ctx.Err()
			}
		})
	})
	return st
}

// Close ends the stream.
func (st *sseStream) Close() {
	st.cancel()
	for range st.next { // until the reader ended
	}
}

// ReadUntil reads events until one named name (included) or the end of
// the stream, and returns every event read since the stream opened.
func (st *sseStream) ReadUntil(name string) []sseEvent {
	t := st.t
	t.Helper()
	for ev := range st.next {
		st.events = append(st.events, ev)
		if ev.Name == name {
			return st.events
		}
	}
	switch {
	case st.err == nil: // the server ended the stream
	case errors.Is(st.err, context.DeadlineExceeded):
		t.Fatalf("%s %s: no %s event within %v; got %s", st.method, st.path, name, st.within, eventNames(st.events))
	default:
		t.Fatalf("%s %s: %v; got %s", st.method, st.path, st.err, eventNames(st.events))
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
		if err := testbin.WriteClientConfig(cl.ConfigPath, spec.listen, spec.psk, "127.0.0.0/8"); err != nil {
			e.t.Fatal(err)
		}
	} else {
		cl.PSK = readClientConfig(e.t, cl.ConfigPath).PSK
	}
	cl.proc = e.startProc(cl.Name, nil, testbin.ClientArgs(cl.ConfigPath)...)
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
