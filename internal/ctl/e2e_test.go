package ctl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/testbin"
)

// The tests in this file run the real otto binary as a server and as
// clients on loopback, and drive them through ottoctl in-process (and once
// through the binary), as a user would.

const e2eAdminPassword = "e2e-admin-password-0"

// otServer is a running "otto server".
type otServer struct {
	url  string
	cmd  *exec.Cmd
	logs *testbin.Output
	done chan struct{}
}

// startServer starts the server on a free loopback port and waits for its
// "listening" log line.
func startServer(t *testing.T) *otServer {
	t.Helper()
	bin := testbin.Otto(t)
	dir := t.TempDir()
	s := &otServer{logs: &testbin.Output{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "server", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	s.cmd.Env = append(os.Environ(), "OTTO_ADMIN_PASSWORD="+e2eAdminPassword)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	m := s.logs.Await(testbin.ServerListening, 30*time.Second, s.done)
	if m == nil {
		select {
		case <-s.done:
			t.Fatalf("the server exited before listening:\n%s", s.logs.String())
		default:
			t.Fatalf("the server did not log \"listening\" in 30s:\n%s", s.logs.String())
		}
	}
	s.url = m[2]
	return s
}

// stop ends the server with SIGTERM (SIGKILL after 15 s).
func (s *otServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// otClient is a running "otto client".
type otClient struct {
	port int
	psk  string
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startClient starts a client on a free loopback port with a new PSK and
// waits until it accepts connections.
func startClient(t *testing.T) *otClient {
	t.Helper()
	bin := testbin.Otto(t)
	dir := t.TempDir()
	b := make([]byte, 16)
	rand.Read(b)
	c := &otClient{port: freePort(t), psk: hex.EncodeToString(b)}
	cfg := filepath.Join(dir, "client.toml")
	body := fmt.Sprintf("listen_addr = \"127.0.0.1:%d\"\npsk = %q\n", c.port, c.psk)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testbin.Output{}
	cmd := exec.Command(bin, "client", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("client :%d log:\n%s", c.port, logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.port), time.Second)
		if err == nil {
			conn.Close()
			return c
		}
		select {
		case <-done:
			t.Fatalf("the client exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client did not listen on %d in 30s:\n%s", c.port, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ok runs ottoctl and fails the test unless it exits 0.
func ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := ctlRun(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("ottoctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// okJSON runs ottoctl with --json and decodes its output into v.
func okJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := ok(t, "", append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("ottoctl %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// routeMissing reports whether the server has no route for method path,
// for the parts of the API that are still being written.
func routeMissing(t *testing.T, method, path string) bool {
	t.Helper()
	g, err := newTestGlobals()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := g.client()
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Do(context.Background(), method, path, nil, nil)
	ae, isAPI := err.(*apiclient.Error)
	return isAPI && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) && strings.Contains(ae.Message, "no API route")
}

// TestEndToEnd drives every command family against a real server.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and clients")
	}
	home := isolate(t)
	srv := startServer(t)
	cl1, cl2, cl3 := startClient(t), startClient(t), startClient(t)

	// login: the password from stdin, the key saved with mode 0600.
	out := ok(t, e2eAdminPassword+"\n", "login", "--url", srv.url, "--username", "admin")
	contains(t, "login", out, "logged in to "+srv.url+" as admin")
	cfgPath := filepath.Join(home, ".config", "otto", "ctl.toml")
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file %s: %v, %v; want mode 0600", cfgPath, fi, err)
	}
	r := ctlRun(t, "wrong-password\n", "login", "--url", srv.url, "--username", "admin", "--config", filepath.Join(home, "other.toml"))
	if r.code != ExitError || !strings.HasPrefix(r.stderr, "ottoctl: ") {
		t.Errorf("login with a wrong password = %+v, want exit 1 and the server's message", r)
	}

	// groups and hosts.
	ok(t, "", "groups", "add", "webservers", "--env", "TIER=web")
	for i, c := range []*otClient{cl1, cl2, cl3} {
		name := fmt.Sprintf("web%d", i+1)
		out := ok(t, c.psk+"\n", "hosts", "add", name, "--address", "127.0.0.1", "--port", strconv.Itoa(c.port),
			"--psk-file", "-", "--group", "Otto Clients,webservers")
		contains(t, "hosts add", out, "added host "+name)
	}
	deadPort := freePort(t)
	ok(t, "", "hosts", "add", "dead", "--address", "127.0.0.1", "--port", strconv.Itoa(deadPort), "--psk", "nobody-listens",
		"--group", "Otto Clients")
	out = ok(t, "", "hosts", "ls")
	contains(t, "hosts ls", out, "NAME", "web1", "web3", "Otto Clients,webservers", "dead")
	var hosts []apitype.Host
	okJSON(t, &hosts, "hosts", "ls")
	if len(hosts) != 4 || hosts[0].Name != "web1" || hosts[0].Port != uint32(cl1.port) {
		t.Errorf("hosts ls --json = %+v", hosts)
	}
	if ids := ok(t, "", "hosts", "ls", "-q"); strings.Count(ids, "\n") != 4 {
		t.Errorf("hosts ls -q = %q, want 4 IDs", ids)
	}
	ok(t, "", "hosts", "edit", "web2", "--env", "FAIL=1", "--secret", "TOKEN=hush")
	var h apitype.Host
	okJSON(t, &h, "hosts", "show", "web2")
	if len(h.Environment) != 2 || h.Environment[0].Value != "1" || h.Environment[1].Value != "" || !h.Environment[1].Secret {
		t.Errorf("web2's environment = %+v, want FAIL=1 and a masked secret", h.Environment)
	}
	out = ok(t, "", "hosts", "show", string(h.ID))
	contains(t, "hosts show", out, "Name:", "web2", `FAIL="1" TOKEN=(secret)`)
	out = ok(t, "", "groups", "hosts", "set", "webservers", "web1", "web2", "web3")
	contains(t, "groups hosts set", out, "has 3 host(s)")
	out = ok(t, "", "groups", "ls")
	contains(t, "groups ls", out, "webservers", "Otto Clients")
	out = ok(t, "", "groups", "show", "webservers")
	contains(t, "groups show", out, "web1,web2,web3", `TIER="web"`)

	// scripts: the body from a file; web2 fails (FAIL=1).
	dir := t.TempDir()
	scriptFile := filepath.Join(dir, "hello.sh")
	body := "#!/bin/sh\necho \"hello from $OTTO_HOST_PORT\"\nprintf 'no newline'\necho warn >&2\n[ -z \"$FAIL\" ]\n"
	if err := os.WriteFile(scriptFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, "", "scripts", "add", "hello", "--file", scriptFile, "--group", "webservers")
	if got := ok(t, "", "scripts", "show", "hello", "--body"); got != body {
		t.Errorf("scripts show --body = %q, want the file", got)
	}
	var sc apitype.Script
	okJSON(t, &sc, "scripts", "show", "hello")
	if sc.Executable != "/bin/sh" || !sc.RunAs.Inherit || !sc.Enabled {
		t.Errorf("script = %+v", sc)
	}
	out = ok(t, "", "scripts", "ls")
	contains(t, "scripts ls", out, "hello", "/bin/sh")
	ok(t, "", "groups", "edit", "webservers", "--add-script", "hello")
	ok(t, "", "scripts", "add", "sleeper", "--file", "-", "--group", "webservers")
	_ = ok(t, "sleep 30\n", "scripts", "edit", "sleeper", "--file", "-")

	// attachments: upload, download back, compare.
	attFile := filepath.Join(dir, "app.conf")
	data := bytes.Repeat([]byte("key = value\n"), 1000)
	if err := os.WriteFile(attFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out = ok(t, "", "attachments", "upload", attFile, "--path", "/tmp/otto-ctl-test/app.conf", "--mode", "0640")
	contains(t, "attachments upload", out, "uploaded attachment app.conf")
	out = ok(t, "", "attachments", "ls")
	contains(t, "attachments ls", out, "app.conf", "/tmp/otto-ctl-test/app.conf", "0640", "11.7 KiB")
	dl := filepath.Join(dir, "back.conf")
	ok(t, "", "attachments", "download", "app.conf", "-o", dl)
	if got, _ := os.ReadFile(dl); !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes, want the %d uploaded", len(got), len(data))
	}
	r = ctlRun(t, "", "attachments", "download", "app.conf", "-o", dl)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--force") {
		t.Errorf("download over a file = %+v, want a refusal naming --force", r)
	}

	// schedules and registration rules.
	ok(t, "", "schedules", "add", "nightly", "--script", "hello", "--group", "webservers", "--pattern", "0 3 * * *")
	out = ok(t, "", "schedules", "ls")
	contains(t, "schedules ls", out, "nightly", "hello", "0 3 * * *", "groups webservers")
	ok(t, "", "schedules", "edit", "nightly", "--disable", "--host", "web1")
	var sch apitype.Schedule
	okJSON(t, &sch, "schedules", "show", "nightly")
	if sch.Enabled || len(sch.Scope.HostIDs) != 1 || len(sch.Scope.GroupIDs) != 1 {
		t.Errorf("schedule after edit = %+v", sch)
	}
	ok(t, "", "rules", "add", "web-rule", "--group", "webservers", "--match", "hostname=^web", "--match", "kernel_name=Linux")
	ok(t, "", "rules", "edit", "web-rule", "--order", "5")
	out = ok(t, "", "rules", "ls")
	contains(t, "rules ls", out, "web-rule", "5", "hostname=~^web && kernel_name=~Linux")
	var rule apitype.RegisterRule
	okJSON(t, &rule, "rules", "show", "web-rule")
	if rule.Order != 5 || len(rule.Clauses) != 2 {
		t.Errorf("rule = %+v", rule)
	}

	// options.
	if got := ok(t, "", "options", "get", "network.timeout"); got != "10\n" {
		t.Errorf("options get network.timeout = %q, want 10", got)
	}
	out = ok(t, "", "options", "set", "Network.Timeout", "20")
	if out != "Network.Timeout = 20\n" {
		t.Errorf("options set = %q", out)
	}
	var opts map[string]any
	okJSON(t, &opts, "options", "get")
	if n := opts["Network"].(map[string]any)["Timeout"]; n != float64(20) {
		t.Errorf("Network.Timeout after set = %v", n)
	}
	r = ctlRun(t, "", "options", "set", "Network.Timeout", "soon")
	if r.code != ExitUsage {
		t.Errorf("options set to a word = %+v, want exit 2", r)
	}

	// users: a viewer with its own key may read, not change.
	ok(t, "viewer-password-1\n", "users", "add", "vera", "--role", "viewer", "--email", "vera@example.com")
	out = ok(t, "", "users", "ls")
	contains(t, "users ls", out, "admin", "vera", "viewer", "vera@example.com")
	ok(t, "", "users", "edit", "vera", "--email", "v@example.com")
	var u apitype.User
	okJSON(t, &u, "users", "show", "vera")
	if u.Email != "v@example.com" || u.Role != "viewer" {
		t.Errorf("vera = %+v", u)
	}
	ok(t, "first-password-1\n", "users", "add", "newbie", "--must-change-password")
	r = ctlRun(t, "first-password-1\n", "login", "--url", srv.url, "--username", "newbie", "--config", filepath.Join(home, "newbie.toml"))
	if r.code != ExitError || !strings.Contains(r.stderr, "wants a new password for newbie") {
		t.Errorf("login of a user who must change the password, without a terminal = %+v", r)
	}
	key := strings.TrimSpace(ok(t, "", "users", "apikey", "vera", "--quiet"))
	t.Run("viewer", func(t *testing.T) {
		t.Setenv(envURL, srv.url)
		t.Setenv(envUsername, "vera")
		t.Setenv(envAPIKey, key)
		contains(t, "hosts ls as vera", ok(t, "", "hosts", "ls"), "web1")
		r := ctlRun(t, "", "hosts", "rm", "web1")
		if r.code != ExitError || !strings.Contains(r.stderr, "role viewer") {
			t.Errorf("hosts rm as a viewer = %+v, want exit 1 and the server's refusal", r)
		}
	})

	// bad credentials: the variable beats the file.
	t.Run("bad credentials", func(t *testing.T) {
		t.Setenv(envAPIKey, "not-the-key")
		r := ctlRun(t, "", "hosts", "ls")
		if r.code != ExitError || !strings.HasPrefix(r.stderr, "ottoctl: ") || strings.Contains(r.stderr, "internal") {
			t.Errorf("hosts ls with a bad key = %+v, want exit 1 and the server's message", r)
		}
		r = ctlRun(t, "", "hosts", "ls", "--json")
		var e errorJSON
		if json.Unmarshal([]byte(r.stderr), &e) != nil || e.Type != "error" || e.Code != 1 || e.Status != http.StatusUnauthorized {
			t.Errorf("hosts ls --json with a bad key: stderr %q, want a JSON error with status 401", r.stderr)
		}
	})

	// unknown names.
	for _, args := range [][]string{
		{"hosts", "show", "nosuch"}, {"groups", "rm", "nosuch"}, {"scripts", "edit", "nosuch", "--disable"},
		{"run", "nosuch", "--host", "web1"}, {"run", "hello", "--host", "web1,nosuch"},
	} {
		r := ctlRun(t, "", args...)
		if r.code != ExitError || !strings.Contains(r.stderr, `with the name or ID "nosuch"`) {
			t.Errorf("%q = %+v, want exit 1 and a clear message", args, r)
		}
	}
	r = ctlRun(t, "", "hosts", "show", "999")
	if r.code != ExitError || !strings.HasPrefix(r.stderr, "ottoctl: ") {
		t.Errorf("hosts show 999 = %+v, want exit 1 and a message", r)
	}

	// events.
	out = ok(t, "", "events", "--count", "100")
	contains(t, "events", out, "HostAdded", "admin", "ScriptAdded")
	var events []apitype.Event
	okJSON(t, &events, "events", "-c", "3")
	if len(events) != 3 {
		t.Errorf("events -c 3 --json: %d events", len(events))
	}

	t.Run("heartbeat", func(t *testing.T) {
		if routeMissing(t, http.MethodPost, "/api/hosts/host/999999/heartbeat") {
			t.Skip("the server has no POST /api/hosts/host/{id}/heartbeat yet")
		}
		out := ok(t, "", "hosts", "heartbeat", "web1", "web2")
		contains(t, "heartbeat", out, "web1", "yes")
		out = ok(t, "", "hosts", "ls")
		contains(t, "hosts ls after heartbeats", out, "REACHABLE", "yes")
		r = ctlRun(t, "", "hosts", "heartbeat", "--all")
		if r.code != ExitUnreachable || !strings.Contains(r.stdout, "web3") {
			t.Errorf("heartbeat --all with a dead host = %+v, want exit 3", r)
		}
		r := ctlRun(t, "", "hosts", "heartbeat", "web1", "dead")
		if r.code != ExitUnreachable || !strings.Contains(r.stderr, "1 of 2 host(s) did not answer: dead") {
			t.Errorf("heartbeat of a dead host = %+v, want exit 3", r)
		}
	})
	t.Run("rotate-psk", func(t *testing.T) {
		if routeMissing(t, http.MethodPost, "/api/hosts/host/999999/psk") {
			t.Skip("the server has no POST /api/hosts/host/{id}/psk yet")
		}
		var res rotatedPSK
		okJSON(t, &res, "hosts", "rotate-psk", "web3")
		if res.PSK == "" || res.PSK == cl3.psk {
			t.Errorf("rotate-psk = %+v, want a new PSK", res)
		}
	})

	t.Run("run", func(t *testing.T) {
		if routeMissing(t, http.MethodGet, "/api/runs") {
			t.Skip("the server has no run API (/api/runs) yet")
		}
		testRunE2E(t, cl1, cl2, cl3)
	})

	t.Run("binary", func(t *testing.T) { testThroughBinary(t, home) })

	// removals, in dependency order.
	ok(t, "", "schedules", "rm", "nightly")
	ok(t, "", "rules", "rm", "web-rule")
	ok(t, "", "users", "rm", "vera", "newbie")
	out = ok(t, "", "attachments", "rm", "app.conf")
	contains(t, "attachments rm", out, "removed attachment app.conf")
	var removed []apitype.ID
	okJSON(t, &removed, "hosts", "rm", "dead", "web3")
	if len(removed) != 2 {
		t.Errorf("hosts rm --json = %v", removed)
	}
	ok(t, "", "scripts", "rm", "sleeper")

	// the server goes away: exit 3.
	srv.stop()
	r = ctlRun(t, "", "hosts", "ls")
	if r.code != ExitUnreachable || !strings.Contains(r.stderr, "cannot reach the otto server at "+srv.url) {
		t.Errorf("hosts ls with the server stopped = %+v, want exit 3", r)
	}
}

func testRunE2E(t *testing.T, cl1, cl2, cl3 *otClient) {
	// Three hosts, web2 fails: exit 1, every line prefixed.
	r := ctlRun(t, "", "run", "hello", "--host", "web1,web2", "--group", "webservers")
	if r.code != ExitError {
		t.Errorf("run on 3 hosts with one failing: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for i, c := range []*otClient{cl1, cl2, cl3} {
		name := fmt.Sprintf("web%d", i+1)
		contains(t, "run stdout", r.stdout, fmt.Sprintf("%s: hello from %d\n", name, c.port), name+": no newline\n")
		contains(t, "run stderr", r.stderr, name+": warn\n")
	}
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if !regexp.MustCompile(`^web[123]: `).MatchString(line) {
			t.Errorf("stdout line %q lacks a host prefix", line)
		}
	}
	contains(t, "run summary", r.stderr, "HOST", "STATE", "web2  done", "the script failed on web2")

	// Every host succeeds: exit 0.
	r = ctlRun(t, "", "run", "hello", "--host", "web1", "--host", "web3")
	if r.code != 0 {
		t.Errorf("run on web1 and web3: exit %d, want 0\n%s", r.code, r.stderr)
	}
	// One host: no prefix.
	r = ctlRun(t, "", "run", "hello", "--host", "web1", "--quiet")
	if r.code != 0 || r.stdout != fmt.Sprintf("hello from %d\nno newline", cl1.port) {
		t.Errorf("run on web1 = %+v, want the raw output", r)
	}
	// A host nobody answers on: exit 3, the reason in the summary.
	r = ctlRun(t, "", "run", "hello", "--host", "web1", "--host", "dead")
	if r.code != ExitUnreachable {
		t.Errorf("run with a dead host: exit %d, want 3\n%s", r.code, r.stderr)
	}
	contains(t, "run summary", r.stderr, "dead  failed", "could not run on dead")

	// --json: the batch with outputs, parsed back.
	r = ctlRun(t, "", "run", "hello", "--group", "webservers", "--json")
	var b apitype.Batch
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil || len(b.Runs) != 3 {
		t.Fatalf("run --json: %v\n%s", err, r.stdout)
	}
	for _, run := range b.Runs {
		if !strings.HasPrefix(run.Stdout, "hello from ") || run.Stderr != "warn\n" || run.State != apitype.RunDone {
			t.Errorf("run --json: %+v", run)
		}
	}

	// runs ls and show.
	var runs []apitype.Run
	okJSON(t, &runs, "runs", "ls", "--batch", b.BatchID)
	if len(runs) != 3 {
		t.Errorf("runs ls --batch: %d runs, want 3", len(runs))
	}
	out := ok(t, "", "runs", "ls", "--host", "web1", "--limit", "2")
	contains(t, "runs ls", out, "hello", "web1", "done")
	out = ok(t, "", "runs", "show", string(b.Runs[0].ID))
	contains(t, "runs show", out, "--- stdout ---", "hello from", "--- stderr ---", "warn")

	// --no-follow, then cancel.
	out = ok(t, "", "run", "sleeper", "--host", "web1", "--no-follow", "--quiet")
	id := strings.TrimSpace(out)
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		t.Fatalf("run --no-follow --quiet = %q, want a run ID", out)
	}
	ok(t, "", "runs", "cancel", id)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var run apitype.Run
		okJSON(t, &run, "runs", "show", id)
		if run.State == apitype.RunCanceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s 20 s after its cancel", id, run.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testThroughBinary runs ottoctl as users do: the built binary, through
// an ottoctl symlink, with the config file written by login.
func testThroughBinary(t *testing.T, home string) {
	bin := testbin.Otto(t)
	link := filepath.Join(t.TempDir(), "ottoctl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	help, _ := exec.Command(link, "--help").CombinedOutput()
	if strings.Contains(string(help), "not implemented") {
		t.Skip("main.go still has the ctl placeholder; switch it to ctl.Command()")
	}
	cmd := exec.Command(link, "hosts", "ls", "--json")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ottoctl hosts ls --json: %v\n%s", err, stderr.String())
	}
	var hosts []apitype.Host
	if err := json.Unmarshal(out, &hosts); err != nil || len(hosts) == 0 {
		t.Errorf("ottoctl hosts ls --json = %s (%v)", out, err)
	}
	cmd = exec.Command(link, "hosts", "show", "nosuch")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	out, err = cmd.CombinedOutput()
	if ee, isExit := err.(*exec.ExitError); !isExit || ee.ExitCode() != ExitError || !strings.Contains(string(out), `no host with the name or ID "nosuch"`) {
		t.Errorf("ottoctl hosts show nosuch = %v, %s; want exit 1", err, out)
	}
	// The saved key goes only to its own server, so name credentials.
	cmd = exec.Command(link, "hosts", "ls", "--url", "http://127.0.0.1:1")
	cmd.Env = append(os.Environ(), "HOME="+home, "OTTO_USERNAME=admin", "OTTO_API_KEY=nope")
	out, err = cmd.CombinedOutput()
	if ee, isExit := err.(*exec.ExitError); !isExit || ee.ExitCode() != ExitUnreachable {
		t.Errorf("ottoctl hosts ls --url http://127.0.0.1:1 = %v, %s; want exit 3", err, out)
	}
}
