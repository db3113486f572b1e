package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/testbin"
)

const testAdminPassword = "test-admin-password"

// proc is a server process started from the real binary.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	logs *testbin.Output
	done chan struct{} // closed when the process exited
	err  error         // Wait's, once done is closed
}

// startServer runs "otto server" on dir and waits for its listening line.
func startServer(t testing.TB, dir string, args ...string) *proc {
	t.Helper()
	bin := testbin.Otto(t)
	cmd := exec.Command(bin, append([]string{"server", "--data-dir", dir, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "OTTO_ADMIN_PASSWORD="+testAdminPassword)
	p := &proc{t: t, cmd: cmd, logs: &testbin.Output{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	if m := p.logs.Await(testbin.ServerListening, 20*time.Second, p.done); m != nil {
		p.url = m[2]
		return p
	}
	select {
	case <-p.done:
		if strings.Contains(p.logs.String(), "not implemented") {
			t.Skip("main.go does not dispatch \"otto server\" to serve.Command yet")
		}
		t.Fatalf("otto server exited before listening: %v\n%s", p.err, p.logs)
	default:
		t.Fatalf("otto server did not print its listening line in 20 s\n%s", p.logs)
	}
	return nil
}

// stop sends sig and waits for the process to end.
func (p *proc) stop(sig syscall.Signal) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(20 * time.Second):
		p.t.Fatalf("otto server did not stop on %v\n%s", sig, p.logs)
	}
	return nil
}

// client is an admin session on a server.
type client struct {
	t    testing.TB
	url  string
	http *http.Client
}

func login(t testing.TB, url string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, url: url, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	status, body, err := c.do("POST", "/api/login", map[string]string{"Username": "admin", "Password": testAdminPassword})
	if err != nil || status != 200 {
		t.Fatalf("login = %d %s %v", status, body, err)
	}
	return c
}

func (c *client) do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-OTTO-CSRF", "1")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (c *client) hosts() []domain.Host {
	c.t.Helper()
	status, body, err := c.do("GET", "/api/hosts", nil)
	if err != nil || status != 200 {
		c.t.Fatalf("GET /api/hosts = %d %s %v", status, body, err)
	}
	var env struct{ Data []domain.Host }
	if err := json.Unmarshal(body, &env); err != nil {
		c.t.Fatal(err)
	}
	return env.Data
}

// writer creates hosts from n goroutines until stop is closed, and records
// each one the server acknowledged (answered 200).
type writer struct {
	mu    sync.Mutex
	acked []string
	wg    sync.WaitGroup
	stop  chan struct{}
	errs  []string
}

func startWriter(c *client, n int) *writer {
	w := &writer{stop: make(chan struct{})}
	for g := 0; g < n; g++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				name := fmt.Sprintf("host-%d-%d", g, i)
				status, body, err := c.do("PUT", "/api/hosts/host", map[string]any{"Name": name, "Address": fmt.Sprintf("127.%d.%d.%d", g, i/250, i%250+1), "PSK": "psk-" + name})
				w.mu.Lock()
				switch {
				case err != nil: // the server died mid-request: not acknowledged
				case status == 200:
					w.acked = append(w.acked, name)
				default:
					w.errs = append(w.errs, fmt.Sprintf("%d %s", status, body))
				}
				w.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	return w
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...)
}

func (w *writer) halt() {
	close(w.stop)
	w.wg.Wait()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func missing(want []string, hosts []domain.Host) []string {
	have := map[string]bool{}
	for _, h := range hosts {
		have[h.Name] = true
	}
	var out []string
	for _, n := range want {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}

// TestKillKeepsAcknowledgedWrites SIGKILLs the server in the middle of a
// stream of writes and checks every acknowledged one after a restart.
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir)
	w := startWriter(login(t, p.url), 4)
	waitFor(t, "100 acknowledged writes", func() bool { return w.count() >= 100 })
	if err := p.stop(syscall.SIGKILL); err == nil {
		t.Errorf("the killed server exited cleanly")
	}
	w.halt()
	acked := w.snapshot()
	if len(w.errs) > 0 {
		t.Errorf("writes failed: %v", w.errs[:min(3, len(w.errs))])
	}

	p = startServer(t, dir)
	hosts := login(t, p.url).hosts()
	if m := missing(acked, hosts); len(m) > 0 {
		t.Errorf("after kill -9 and restart, %d of %d acknowledged hosts are missing: %v", len(m), len(acked), m[:min(5, len(m))])
	}
	t.Logf("%d writes acknowledged before the kill, %d hosts after restart", len(acked), len(hosts))
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Errorf("otto server on SIGTERM exited with %v, want 0\n%s", err, p.logs)
	}
	if !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", p.logs)
	}
}

// TestBackupWhileWriting takes a backup through "otto server backup" while
// hosts are being created, then starts a server from the copy.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir)
	c := login(t, p.url)
	w := startWriter(c, 2)
	waitFor(t, "50 acknowledged writes", func() bool { return w.count() >= 50 })
	before := w.snapshot()
	file := filepath.Join(t.TempDir(), "backup.db")
	out, err := exec.Command(testbin.Otto(t), "server", "backup", "--data-dir", dir, file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "from the running server") {
		t.Fatalf("otto server backup = %v %s", err, out)
	}
	waitFor(t, "more writes after the backup", func() bool { return w.count() >= len(before)+10 })
	w.halt()
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}

	restored := t.TempDir()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "otto.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	p = startServer(t, restored)
	hosts := login(t, p.url).hosts()
	if m := missing(before, hosts); len(m) > 0 {
		t.Errorf("the backup lacks %d hosts acknowledged before it began: %v", len(m), m[:min(5, len(m))])
	}
	if len(hosts) >= w.count() {
		t.Errorf("the backup has %d hosts, all %d written: it was not taken mid-stream", len(hosts), w.count())
	}
	p.stop(syscall.SIGTERM)

	// With no server running, the backup reads the database itself.
	file2 := filepath.Join(t.TempDir(), "backup2.db")
	out, err = exec.Command(testbin.Otto(t), "server", "backup", "--data-dir", restored, file2).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no server running") {
		t.Errorf("otto server backup without a server = %v %s", err, out)
	}
	out, err = exec.Command(testbin.Otto(t), "server", "backup", "--data-dir", t.TempDir(), file2).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no otto database in") {
		t.Errorf("otto server backup of an empty directory = %v %s, want an error", err, out)
	}
}

// TestServerNeverLogsPSK runs a verbose server through a host's life and
// checks the log never shows its PSK.
func TestServerNeverLogsPSK(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir, "--verbose")
	c := login(t, p.url)
	const psk = "very-secret-psk-value"
	status, body, _ := c.do("PUT", "/api/hosts/host", map[string]any{"Name": "h", "Address": "127.0.0.1", "PSK": psk,
		"Environment": []map[string]any{{"Key": "K", "Value": "very-secret-env-value", "Secret": true}}})
	if status != 200 {
		t.Fatalf("create = %d %s", status, body)
	}
	c.do("POST", "/api/hosts/host/1", map[string]any{"Name": "h2", "Address": "127.0.0.1", "PSK": psk + "2", "GroupIDs": []string{"1"}})
	c.do("PUT", "/api/hosts/host", map[string]any{"Name": "h2", "Address": "127.0.0.1", "PSK": psk})
	c.do("DELETE", "/api/hosts/host/1", nil)
	p.stop(syscall.SIGTERM)
	logs := p.logs.String()
	for _, secret := range []string{psk, "very-secret-env-value", testAdminPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("the server log shows %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "msg=request") {
		t.Errorf("--verbose logged no requests:\n%s", logs)
	}
}

// TestRunInProcess runs the server through run, as Command does: first
// start with a random admin password, data dir in use, clean shutdown.
func TestRunInProcess(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testbin.Output{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0"}, io.Discard, logs) }()
	var url, password string
	waitFor(t, "the listening line", func() bool {
		m := testbin.ServerListening.FindStringSubmatch(logs.String())
		if m != nil {
			url = m[2]
		}
		return m != nil
	})
	if m := regexp.MustCompile(`one-time password.*username=admin password=(\S+)`).FindStringSubmatch(logs.String()); m != nil {
		password = m[1]
	} else {
		t.Fatalf("no one-time password in the log:\n%s", logs)
	}
	// A second server on the same directory fails at once.
	err := run(context.Background(), Config{DataDir: dir, Listen: "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use by another otto server") {
		t.Errorf("second run on %s = %v, want \"in use\"", dir, err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Post(url+"/api/login", "application/json", strings.NewReader(`{"Username":"admin","Password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"data":1`) {
		t.Errorf("first login = %s, want data 1 (must change the password)", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v, want nil", err)
	}
	if _, err := os.Stat(filepath.Join(dir, SocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup socket is left behind: %v", err)
	}
	// The second start creates nothing and logs no password.
	logs2 := &testbin.Output{}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- run(ctx, Config{DataDir: dir, Listen: "127.0.0.1:0"}, io.Discard, logs2) }()
	waitFor(t, "the second listening line", func() bool { return testbin.ServerListening.MatchString(logs2.String()) })
	cancel()
	<-done
	if strings.Contains(logs2.String(), "password") {
		t.Errorf("second start logs a password:\n%s", logs2)
	}
}
