// Package wiretest provides a scripted fake otto client for tests of code
// that talks protocol 2 to clients: it answers heartbeats, "runs" scripts
// written in a tiny language of its own, takes and acknowledges new PSKs,
// and misbehaves on purpose (closes without answering, hangs, drops the
// acknowledgement of a PSK update) so that a server's error paths can be
// tested on a real socket, or on net.Pipe with Dial.
//
// A script's Data is read line by line:
//
//	out TEXT     write TEXT and a newline to stdout, then send the output
//	err TEXT     the same on stderr
//	env KEY      write KEY=value (from the script's environment) to stdout
//	sleep DUR    wait DUR (time.ParseDuration), or less if canceled
//	hang         wait until the server cancels the run
//	exit N       end with exit code N (the default is 0)
//	fail TEXT    end without running: ExecError TEXT
//	drop         close the connection without a result (a crashed client)
//
// An unknown line fails the run with an ExecError naming it. A canceled
// run ends with exit code 143 (128 + SIGTERM), as a real client's script
// killed by SIGTERM does.
package wiretest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/wire"
)

// UpdatePSKMode is how a Client answers an UpdatePSK action.
type UpdatePSKMode int

const (
	// AcceptPSK stores the new PSK and acknowledges it (with the old one),
	// as a 0.x client does: a zero ScriptResult.
	AcceptPSK UpdatePSKMode = iota
	// DropAck stores the new PSK, then closes the connection without
	// acknowledging: the acknowledgement is lost.
	DropAck
	// DropBeforeStore closes the connection without storing the new PSK
	// (a client killed before its config file was replaced).
	DropBeforeStore
	// RefusePSK keeps the old PSK and answers with an ExecError.
	RefusePSK
)

// Config sets up a Client.
type Config struct {
	PSK string
	// Version is the client version in heartbeat responses and results;
	// "" means "wiretest".
	Version string
	// Properties answer heartbeats; nil means a fixed set for "fakehost".
	Properties map[string]string
	// KeepaliveInterval is how often a running script sends a Keepalive
	// when nothing else was sent; 0 means wire.KeepaliveInterval.
	KeepaliveInterval time.Duration
}

// Client is a fake otto client. Its methods are safe for concurrent use.
type Client struct {
	version    string
	properties map[string]string
	keepalive  time.Duration

	mu         sync.Mutex
	psk        string
	updateMode UpdatePSKMode
	hang       bool
	onTrigger  func(wire.MessageTriggerAction)
	ln         net.Listener
	conns      map[net.Conn]struct{}
	heartbeats int
	runs       int
	triggers   []wire.MessageTriggerAction
	lastScript wire.Script
	wg         sync.WaitGroup
}

// New returns a Client that serves connections handed to ServeConn (or
// made by Dial); Listen or Start make it listen on TCP.
func New(cfg Config) *Client {
	c := &Client{
		psk:        cfg.PSK,
		version:    cfg.Version,
		properties: cfg.Properties,
		keepalive:  cfg.KeepaliveInterval,
		conns:      make(map[net.Conn]struct{}),
	}
	if c.version == "" {
		c.version = "wiretest"
	}
	if c.properties == nil {
		c.properties = map[string]string{
			"hostname":             "fakehost",
			"kernel_name":          "Linux",
			"kernel_version":       "6.1.0",
			"distribution_name":    "Debian GNU/Linux",
			"distribution_version": "12",
		}
	}
	if c.keepalive <= 0 {
		c.keepalive = wire.KeepaliveInterval
	}
	return c
}

// Start returns a Client listening on a loopback port, stopped when the
// test ends.
func Start(tb testing.TB, cfg Config) *Client {
	tb.Helper()
	c := New(cfg)
	if err := c.Listen("127.0.0.1:0"); err != nil {
		tb.Fatalf("wiretest: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// Listen makes c accept connections on addr.
func (c *Client) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("wiretest: listen: %w", err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	c.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.wg.Go(func() { c.ServeConn(conn) })
		}
	})
	return nil
}

// Addr returns the address and port c listens on.
func (c *Client) Addr() (string, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), uint32(a.Port)
}

// Stop closes the listener and every open connection and waits for c's
// goroutines: afterwards, dialing c's port is refused.
func (c *Client) Stop() {
	c.mu.Lock()
	if c.ln != nil {
		c.ln.Close()
	}
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// Dial connects to c over net.Pipe, for a Dialer that must not touch the
// network. It has the signature of net.Dialer.DialContext.
func (c *Client) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	server, client := net.Pipe()
	c.wg.Go(func() { c.ServeConn(client) })
	return server, nil
}

// PSK returns the PSK c accepts now.
func (c *Client) PSK() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.psk
}

// SetPSK changes the PSK c accepts.
func (c *Client) SetPSK(psk string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.psk = psk
}

// SetUpdatePSK sets how c answers the next UpdatePSK actions.
func (c *Client) SetUpdatePSK(m UpdatePSKMode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.updateMode = m
}

// SetHang makes c accept connections and read requests but never answer.
func (c *Client) SetHang(hang bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hang = hang
}

// SetOnTrigger makes c call fn with every action other than RunScript, as
// soon as it is received and before c acts on it: a test can change c's
// behaviour at that exact point (go silent right after a PSK update, say).
func (c *Client) SetOnTrigger(fn func(wire.MessageTriggerAction)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onTrigger = fn
}

// Heartbeats returns how many heartbeats c answered.
func (c *Client) Heartbeats() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heartbeats
}

// Runs returns how many scripts c started.
func (c *Client) Runs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}

// LastScript returns the script c ran last.
func (c *Client) LastScript() wire.Script {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastScript
}

// Triggers returns the actions other than RunScript that c received.
func (c *Client) Triggers() []wire.MessageTriggerAction {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wire.MessageTriggerAction(nil), c.triggers...)
}

// ServeConn serves one exchange on conn and closes it.
func (c *Client) ServeConn(conn net.Conn) {
	c.mu.Lock()
	c.conns[conn] = struct{}{}
	psk, hang := c.psk, c.hang
	c.mu.Unlock()
	defer func() {
		conn.Close()
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
	}()

	// An idle connection is dropped, as a real client's would be.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	typ, msg, err := wire.ReadMessage(conn, psk)
	if err != nil {
		return // wrong PSK or garbage: close without answering
	}
	conn.SetReadDeadline(time.Time{})
	if hang {
		conn.Read(make([]byte, 1)) // until the server gives up
		return
	}
	w := &writer{conn: conn, psk: psk, last: time.Now()}
	switch typ {
	case wire.MessageTypeHeartbeatRequest:
		c.mu.Lock()
		c.heartbeats++
		c.mu.Unlock()
		w.write(wire.MessageTypeHeartbeatResponse, wire.MessageHeartbeatResponse{
			ClientVersion: c.version, Properties: c.properties,
		})
	case wire.MessageTypeTriggerAction:
		c.trigger(conn, w, msg.(wire.MessageTriggerAction))
	}
}

func (c *Client) trigger(conn net.Conn, w *writer, t wire.MessageTriggerAction) {
	c.mu.Lock()
	hook := c.onTrigger
	c.mu.Unlock()
	if hook != nil && t.Action != wire.ActionRunScript {
		hook(t)
	}
	// A 0.x client answers every action other than RunScript that it did
	// with a zero ScriptResult (Success false, no ExecError), and one it
	// could not do with ExecError; so does this one.
	ok := wire.MessageActionResult{ClientVersion: c.version}
	switch t.Action {
	case wire.ActionRunScript:
		c.mu.Lock()
		c.runs++
		c.lastScript = t.Script
		c.mu.Unlock()
		c.run(conn, w, t.Script)
		return
	case wire.ActionUpdatePSK:
		c.mu.Lock()
		c.triggers = append(c.triggers, t)
		mode := c.updateMode
		if t.NewPSK != "" && (mode == AcceptPSK || mode == DropAck) {
			c.psk = t.NewPSK
		}
		c.mu.Unlock()
		switch {
		case t.NewPSK == "" || mode == RefusePSK:
			ok.ScriptResult = wire.ScriptResult{ExecError: "wiretest: refusing the new psk"}
		case mode == DropAck || mode == DropBeforeStore:
			return
		}
	default:
		c.mu.Lock()
		c.triggers = append(c.triggers, t)
		c.mu.Unlock()
	}
	w.write(wire.MessageTypeActionResult, ok) // still sealed with the old PSK
}

// run interprets script (see the package doc) and answers with its result.
func (c *Client) run(conn net.Conn, w *writer, script wire.Script) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The server may send CancelAction while the script runs; a closed
	// connection cancels too.
	go func() {
		defer cancel()
		for {
			typ, _, err := wire.ReadMessage(conn, w.psk)
			if err != nil || typ == wire.MessageTypeCancelAction {
				return
			}
		}
	}()
	stopKeepalive := w.keepalive(c.keepalive)
	defer stopKeepalive()

	start := time.Now()
	var stdout, stderr bytes.Buffer
	res := wire.ScriptResult{}
	sendOutput := func() {
		w.write(wire.MessageTypeActionOutput, wire.MessageActionOutput{
			Stdout: bytes.Clone(stdout.Bytes()), Stderr: bytes.Clone(stderr.Bytes()),
		})
	}
	canceled := func() bool { return ctx.Err() != nil }
	sc := bufio.NewScanner(bytes.NewReader(script.Data))
lines:
	for sc.Scan() && !canceled() {
		verb, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch verb {
		case "":
		case "out":
			fmt.Fprintln(&stdout, arg)
			sendOutput()
		case "err":
			fmt.Fprintln(&stderr, arg)
			sendOutput()
		case "env":
			fmt.Fprintf(&stdout, "%s=%s\n", arg, script.Environment[arg])
			sendOutput()
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				res.ExecError = "wiretest: " + err.Error()
				break lines
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		case "hang":
			<-ctx.Done()
		case "exit":
			code, err := strconv.Atoi(arg)
			if err != nil {
				res.ExecError = "wiretest: " + err.Error()
			}
			res.Code = code
			break lines
		case "fail":
			res.ExecError = arg
			break lines
		case "drop":
			conn.Close()
			return
		default:
			res.ExecError = fmt.Sprintf("wiretest: unknown line %q", sc.Text())
			break lines
		}
	}
	if canceled() {
		res.Code = 143
	}
	res.Success = res.Code == 0 && res.ExecError == ""
	res.Stdout, res.Stderr, res.Elapsed = stdout.String(), stderr.String(), time.Since(start)
	w.write(wire.MessageTypeActionResult, wire.MessageActionResult{ScriptResult: res, ClientVersion: c.version})
}

// writer writes frames to one connection from several goroutines, and
// remembers when it last wrote for the keepalives.
type writer struct {
	conn net.Conn
	psk  string

	mu   sync.Mutex
	last time.Time
}

func (w *writer) write(typ uint32, msg any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = time.Now()
	w.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	err := wire.WriteMessage(typ, msg, w.conn, w.psk)
	if errors.Is(err, wire.ErrUnknownType) {
		panic(err) // a bug in this package
	}
	return err
}

// keepalive sends a Keepalive whenever nothing was written for every.
func (w *writer) keepalive(every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				w.mu.Lock()
				idle := time.Since(w.last) >= every
				w.mu.Unlock()
				if idle {
					w.write(wire.MessageTypeKeepalive, nil)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
