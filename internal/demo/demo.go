// Package demo is "otto demo": a server on loopback with one local client
// already added and a sample script, to try otto on one machine. It runs
// this same binary twice, as "otto server" and "otto client", and talks to
// the server through its REST API like any user would.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

// Command is the "demo" command.
func Command() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a demo: a server on 127.0.0.1:8080 with a local client and a sample script",
		Description: "Starts \"otto server\" with its data in --data-dir, writes a config for a client that listens\n" +
			"on a free loopback port, starts \"otto client\" with it, adds that client as a host in the\n" +
			"default group with a sample script, and prints the URL, user and password. Ctrl-C stops both.\n" +
			"Run it again to pick up where it left off; delete the data directory to start over.\n\n" +
			"Example:\n   otto demo\n   ottoctl --url http://127.0.0.1:8080 run hello --group \"Otto Clients\"",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: "./otto-demo", Usage: "where the server's and the client's files go"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "the server's address"},
		},
		Action: func(c *cli.Context) error {
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, c.String("data-dir"), c.String("listen"), c.App.Writer)
		},
	}
}

func run(ctx context.Context, dir, listen string, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: finding this binary: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	password, err := secretFile(filepath.Join(dir, "admin-password"), 12)
	if err != nil {
		return err
	}
	clientPSK, err := secretFile(filepath.Join(dir, "client-psk"), 32)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "starting the server (log: %s)\n", filepath.Join(dir, "server.log"))
	server, err := start(self, filepath.Join(dir, "server.log"), []string{"OTTO_ADMIN_PASSWORD=" + password},
		"server", "--data-dir", filepath.Join(dir, "server"), "--listen", listen)
	if err != nil {
		return err
	}
	defer server.stop()
	base := "http://" + listen
	api, err := login(ctx, base, password, server)
	if err != nil {
		return err
	}

	cfgPath := filepath.Join(dir, "client.toml")
	port, err := clientPort(cfgPath)
	if err != nil {
		return err
	}
	if err := writeClientConfig(cfgPath, port, clientPSK); err != nil {
		return err
	}
	fmt.Fprintf(out, "starting the client on 127.0.0.1:%d (log: %s)\n", port, filepath.Join(dir, "client.log"))
	client, err := start(self, filepath.Join(dir, "client.log"), nil, "client", "--config", cfgPath)
	if err != nil {
		return err
	}
	defer client.stop()

	if err := api.setup(ctx, port, clientPSK); err != nil {
		return err
	}
	fmt.Fprintf(out, `
otto is running.

  web and API: %s
  user:        admin
  password:    %s

Try:
  OTTO_URL=%s OTTO_USERNAME=admin otto ctl login
  otto ctl hosts ls
  otto ctl run hello --group "Otto Clients"

Press Ctrl-C to stop.
`, base, password, base)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nstopping")
		return nil
	case <-server.done:
		return fmt.Errorf("demo: the server stopped; see %s", filepath.Join(dir, "server.log"))
	case <-client.done:
		return fmt.Errorf("demo: the client stopped; see %s", filepath.Join(dir, "client.log"))
	}
}

// secretFile returns the secret kept in path, making one of n random bytes
// on first use, so a second demo run logs in with the same password.
func secretFile(path string, n int) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	b := make([]byte, n)
	rand.Read(b)
	s := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return s, nil
}

// clientPort keeps the port of an existing client config, so the host the
// server knows stays right, or picks a free one.
func clientPort(cfgPath string) (int, error) {
	if b, err := os.ReadFile(cfgPath); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "listen_addr" {
				_, p, err := net.SplitHostPort(strings.Trim(strings.TrimSpace(v), `"`))
				if n, err2 := strconv.Atoi(p); err == nil && err2 == nil {
					return n, nil
				}
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("demo: finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// writeClientConfig writes the client's config unless it exists: once the
// server has rotated the PSK, the client's file holds the current one.
func writeClientConfig(path string, port int, psk string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	cfg := fmt.Sprintf("listen_addr = \"127.0.0.1:%d\"\npsk = %q\nallow_from = [\"127.0.0.0/8\"]\n", port, psk)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("demo: writing the client config: %w", err)
	}
	return nil
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func start(self, logPath string, env []string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("demo: starting otto %s: %w", args[0], err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks the process to finish cleanly, then kills it after a while.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// apiClient is a signed-in session with the demo server.
type apiClient struct {
	base string
	http *http.Client
}

func login(ctx context.Context, base, password string, server *proc) (*apiClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &apiClient{base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	body := map[string]string{"Username": "admin", "Password": password}
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.do(ctx, "POST", "/api/login", body, nil)
		if err == nil {
			return c, nil
		}
		var apiErr *apiError
		if errors.As(err, &apiErr) {
			return nil, fmt.Errorf("demo: logging in as admin: %w (an old data directory with another password? delete it to start over)", err)
		}
		select {
		case <-server.done:
			return nil, errors.New("demo: the server stopped at start; see server.log (is the port taken?)")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("demo: the server does not answer on %s: %w", base, err)
		}
	}
}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status) }

func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OTTO-CSRF", "1")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Error struct{ Message string } `json:"error"`
		Data  json.RawMessage          `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &apiError{status: resp.StatusCode, msg: fmt.Sprintf("%s %s: %s", method, path, env.Error.Message)}
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

const sampleScript = `#!/bin/sh
# A sample script from "otto demo": it prints where it runs.
echo "hello from $(hostname), $(uname -sr)"
echo "running as uid $(id -u) in $(pwd)"
`

// setup adds the local client as a host of the default group and the
// sample script, unless a previous run did.
func (c *apiClient) setup(ctx context.Context, port int, psk string) error {
	var groups []struct {
		ID        int64
		Name      string
		ScriptIDs []int64
	}
	if err := c.do(ctx, "GET", "/api/groups", nil, &groups); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(groups) == 0 {
		return errors.New("demo: the server has no group")
	}
	group := groups[0]

	var hosts []struct{ ID int64 }
	if err := c.do(ctx, "GET", "/api/hosts", nil, &hosts); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(hosts) == 0 {
		var h struct{ ID int64 }
		host := map[string]any{"Name": "demo-client", "Address": "127.0.0.1", "Port": port, "PSK": psk,
			"GroupIDs": []int64{group.ID}}
		if err := c.do(ctx, "PUT", "/api/hosts/host", host, &h); err != nil {
			return fmt.Errorf("demo: adding the client: %w", err)
		}
		hosts = append(hosts, h)
	}
	var scripts []struct{ ID int64 }
	if err := c.do(ctx, "GET", "/api/scripts", nil, &scripts); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(scripts) == 0 {
		var sc struct{ ID int64 }
		script := map[string]any{"Name": "hello", "Executable": "/bin/sh", "Script": sampleScript,
			"RunAs": map[string]any{"Inherit": true}}
		if err := c.do(ctx, "PUT", "/api/scripts/script", script, &sc); err != nil {
			return fmt.Errorf("demo: adding the sample script: %w", err)
		}
		if err := c.do(ctx, "POST", fmt.Sprintf("/api/scripts/script/%d/groups", sc.ID),
			map[string]any{"Groups": []int64{group.ID}}, nil); err != nil {
			return fmt.Errorf("demo: adding the sample script to %s: %w", group.Name, err)
		}
	}
	// Contact it now rather than at the next sweep, so it shows as
	// reachable from the start (and gets a PSK nobody has seen).
	var status struct {
		IsReachable bool
		Error       string
	}
	// The client may still be starting: give it a few seconds.
	for try := 0; ; try++ {
		if err := c.do(ctx, "POST", fmt.Sprintf("/api/hosts/host/%d/heartbeat", hosts[0].ID), nil, &status); err != nil {
			return fmt.Errorf("demo: contacting the client: %w", err)
		}
		if status.IsReachable {
			return nil
		}
		if try == 50 {
			return fmt.Errorf("demo: the server cannot reach the client: %s; see client.log", status.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
