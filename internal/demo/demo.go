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
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/testbin"
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
	server, err := start(self, filepath.Join(dir, "server.log"), []string{testbin.AdminPasswordVar + "=" + password},
		testbin.ServerArgs(filepath.Join(dir, "server"), listen))
	if err != nil {
		return err
	}
	defer stop(server)
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
	client, err := start(self, filepath.Join(dir, "client.log"), nil, testbin.ClientArgs(cfgPath))
	if err != nil {
		return err
	}
	defer stop(client)

	if err := setup(ctx, api, port, clientPSK); err != nil {
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
	case <-server.Done():
		return fmt.Errorf("demo: the server stopped; see %s", filepath.Join(dir, "server.log"))
	case <-client.Done():
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
	if err := testbin.WriteClientConfig(path, fmt.Sprintf("127.0.0.1:%d", port), psk, "127.0.0.0/8"); err != nil {
		return fmt.Errorf("demo: writing the client config: %w", err)
	}
	return nil
}

// start runs this binary with args, its output appended to logPath and
// env added to this process's environment. It dies with the demo, even a
// killed one.
func start(self, logPath string, env []string, args []string) (*testbin.Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	p, err := testbin.Start(self, args, testbin.Options{Env: append(os.Environ(), env...), Stdout: logf, Stderr: logf, DieWithParent: true})
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("demo: starting otto %s: %w", args[0], err)
	}
	go func() {
		<-p.Done()
		logf.Close()
	}()
	return p, nil
}

// stop asks the process to finish cleanly, then kills it after a while.
func stop(p *testbin.Proc) { p.Stop(syscall.SIGTERM, false, 10*time.Second) }

// login signs in as admin, waiting for the server to answer.
func login(ctx context.Context, base, password string, server *testbin.Proc) (*apiclient.Client, error) {
	c, err := apiclient.New(base, apiclient.Options{})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.Login(ctx, "admin", password)
		if err == nil {
			return c, nil
		}
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) {
			return nil, fmt.Errorf("demo: logging in as admin: %w (an old data directory with another password? delete it to start over)", err)
		}
		select {
		case <-server.Done():
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

const sampleScript = `#!/bin/sh
# A sample script from "otto demo": it prints where it runs.
echo "hello from $(hostname), $(uname -sr)"
echo "running as uid $(id -u) in $(pwd)"
`

// setup adds the local client as a host of the default group and the
// sample script, unless a previous run did.
func setup(ctx context.Context, c *apiclient.Client, port int, psk string) error {
	groups, err := c.Groups(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(groups) == 0 {
		return errors.New("demo: the server has no group")
	}
	group := groups[0]

	hosts, err := c.Hosts(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(hosts) == 0 {
		h, err := c.CreateHost(ctx, apitype.HostRequest{Name: "demo-client", Address: "127.0.0.1", Port: uint32(port), PSK: psk,
			GroupIDs: []apitype.ID{group.ID}})
		if err != nil {
			return fmt.Errorf("demo: adding the client: %w", err)
		}
		hosts = append(hosts, h)
	}
	scripts, err := c.Scripts(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(scripts) == 0 {
		sc, err := c.CreateScript(ctx, apitype.ScriptRequest{Name: "hello", Executable: "/bin/sh", Script: sampleScript,
			RunAs: apitype.RunAs{Inherit: true}})
		if err != nil {
			return fmt.Errorf("demo: adding the sample script: %w", err)
		}
		if err := c.SetScriptGroups(ctx, string(sc.ID), []apitype.ID{group.ID}); err != nil {
			return fmt.Errorf("demo: adding the sample script to %s: %w", group.Name, err)
		}
	}
	// Contact it now rather than at the next sweep, so it shows as
	// reachable from the start (and gets a PSK nobody has seen).
	// The client may still be starting: give it a few seconds.
	for try := 0; ; try++ {
		status, err := c.Heartbeat(ctx, string(hosts[0].ID))
		if err != nil {
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
