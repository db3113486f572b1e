package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/testbin"
	"github.com/otto-automation/otto/internal/wire"
)

// testPSK is the PSK of the clients the tests start, unless a test says
// otherwise. No log line may ever contain it.
const testPSK = "otto-client-test-psk-0123456789"

// waitFor is how long a test waits for something that should happen at
// once (a client to listen, a file to appear) before it fails.
const waitFor = 20 * time.Second

// ottoBinary returns the otto binary under test, built once per test run.
func ottoBinary(tb testing.TB) string {
	tb.Helper()
	return testbin.Otto(tb)
}

// proc is an otto process started by a test.
type proc struct {
	tb     testing.TB
	dir    string // its working directory, a temporary one
	config string // its --config
	cmd    *osexec.Cmd
	stdout *testbin.Output
	stderr *testbin.Output
	done   chan struct{} // closed when it exited
	state  *os.ProcessState
}

// procOpts change how startProc runs otto.
type procOpts struct {
	dir   string   // working directory; "" for a new temporary one
	env   []string // added to a minimal environment
	stdin io.Reader
	cred  *syscall.Credential // run as another user

	listen string // startClient's listen_addr; "" for 127.0.0.1:0
}

// startProc starts "otto args..." and returns at once. The process is
// stopped (SIGTERM, then SIGKILL) when the test ends, and its log is checked
// for the test PSK.
func startProc(tb testing.TB, o procOpts, args ...string) *proc {
	tb.Helper()
	return startProcBin(tb, ottoBinary(tb), o, args...)
}

// startProcBin is startProc with another copy of the binary.
func startProcBin(tb testing.TB, bin string, o procOpts, args ...string) *proc {
	tb.Helper()
	if o.dir == "" {
		o.dir = tb.TempDir()
	}
	p := &proc{tb: tb, dir: o.dir, stdout: &testbin.Output{}, stderr: &testbin.Output{}, done: make(chan struct{})}
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			p.config = args[i+1]
		}
	}
	p.cmd = osexec.Command(bin, args...)
	p.cmd.Dir = o.dir
	// A default --config inside the test's directory: a test that forgets
	// --config must not touch /etc/otto. o.env comes later and wins.
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + o.dir, envConfig + "=" + filepath.Join(o.dir, "default-client.toml")}, o.env...)
	p.cmd.Stdin = o.stdin
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if o.cred != nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("starting otto %v: %v", args, err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.stop()
		if strings.Contains(p.stderr.String(), testPSK) || strings.Contains(p.stdout.String(), testPSK) {
			tb.Errorf("otto %v printed the PSK:\n%s", args, p.stderr.String())
		}
	})
	return p
}

// stop ends the process: SIGTERM, then SIGKILL after a while.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(waitFor):
		p.tb.Errorf("otto (pid %d) did not stop within %s of SIGTERM; killing it", p.cmd.Process.Pid, waitFor)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// wait waits for the process to exit by itself and returns its status.
func (p *proc) wait() int {
	p.tb.Helper()
	select {
	case <-p.done:
		return p.state.ExitCode()
	case <-time.After(waitFor):
		p.tb.Fatalf("otto did not exit within %s; its log:\n%s", waitFor, p.stderr.String())
		return -1
	}
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitListening waits for the client's "listening" log line and returns
// the address it names.
func (p *proc) waitListening() string {
	p.tb.Helper()
	m := p.stderr.Await(testbin.ClientListening, waitFor, p.done)
	if m == nil {
		p.tb.Fatalf("the client did not start listening; its output:\n%s%s", p.stdout.String(), p.stderr.String())
	}
	return m[1]
}

// client is a running client process and what a server needs to reach it.
type client struct {
	*proc
	addr string
	psk  string
}

// startClient writes a config with the test PSK, a free loopback port and
// the given extra TOML lines, starts "otto client --config" on it and waits
// until it listens.
func startClient(tb testing.TB, extraTOML string, o procOpts) *client {
	tb.Helper()
	if o.dir == "" {
		o.dir = tb.TempDir()
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	config := filepath.Join(o.dir, "client.toml")
	writeFile(tb, config, fmt.Sprintf("listen_addr = %q\npsk = %q\n%s\n", o.listen, testPSK, extraTOML))
	p := startProc(tb, o, "client", "--config", config)
	return &client{proc: p, addr: p.waitListening(), psk: testPSK}
}

// restart stops the client and starts it again on the same config, and
// returns its new address.
func (c *client) restart(o procOpts) {
	c.tb.Helper()
	c.stop()
	o.dir = c.dir
	c.proc = startProc(c.tb, o, "client", "--config", c.config)
	c.addr = c.proc.waitListening()
}

func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// The server side: what an otto server does on a connection.

// conv is one connection to a client, as a server holds it.
type conv struct {
	tb   testing.TB
	conn net.Conn
	key  *wire.Key
}

func dial(tb testing.TB, addr, psk string) *conv {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		tb.Fatalf("dialing the client at %s: %v", addr, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &conv{tb: tb, conn: conn, key: wire.KeyFor(psk)}
}

func (c *conv) send(typ uint32, msg any) {
	c.tb.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(waitFor))
	if err := c.key.WriteMessage(typ, msg, c.conn); err != nil {
		c.tb.Fatalf("sending message type %d: %v", typ, err)
	}
}

// recv reads the next frame, waiting at most d.
func (c *conv) recv(d time.Duration) (uint32, any, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	return c.key.ReadMessage(c.conn)
}

// expectClosed checks that the client closes the connection without
// sending another byte.
func (c *conv) expectClosed() {
	c.tb.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitFor))
	var b [1]byte
	n, err := c.conn.Read(b[:])
	if n != 0 || !isClosed(err) {
		c.tb.Fatalf("reading after the exchange = %d bytes, %v; want the connection closed without a byte", n, err)
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// heartbeat performs a heartbeat exchange.
func heartbeat(tb testing.TB, addr, psk string) wire.MessageHeartbeatResponse {
	tb.Helper()
	c := dial(tb, addr, psk)
	c.send(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{ServerVersion: "test"})
	typ, msg, err := c.recv(waitFor)
	if err != nil || typ != wire.MessageTypeHeartbeatResponse {
		tb.Fatalf("heartbeat to %s = type %d, %v; want a HeartbeatResponse", addr, typ, err)
	}
	c.expectClosed()
	return msg.(wire.MessageHeartbeatResponse)
}

// trigger sends a non-script action and returns its one ActionResult.
func trigger(tb testing.TB, addr, psk string, m wire.MessageTriggerAction) wire.MessageActionResult {
	tb.Helper()
	c := dial(tb, addr, psk)
	c.send(wire.MessageTypeTriggerAction, m)
	typ, msg, err := c.recv(waitFor)
	if err != nil || typ != wire.MessageTypeActionResult {
		tb.Fatalf("action %d = type %d, %v; want an ActionResult", m.Action, typ, err)
	}
	c.expectClosed()
	return msg.(wire.MessageActionResult)
}

// frame is a frame received during a run, with when it came.
type frame struct {
	typ uint32
	msg any
	at  time.Time
}

// runSeen is a script run as a server sees it.
type runSeen struct {
	start      time.Time
	frames     []frame
	keepalives int
	outputs    []wire.MessageActionOutput
	result     wire.MessageActionResult
}

// startRun sends a RunScript and returns the connection.
func startRun(tb testing.TB, addr, psk string, s wire.Script) *conv {
	tb.Helper()
	c := dial(tb, addr, psk)
	c.send(wire.MessageTypeTriggerAction, wire.MessageTriggerAction{Action: wire.ActionRunScript, Script: s})
	return c
}

// collect reads a run's frames up to its ActionResult. each, if not nil,
// sees every frame as it arrives.
func (c *conv) collect(each func(frame)) runSeen {
	c.tb.Helper()
	r := runSeen{start: time.Now()}
	for {
		// A server's read deadline: the client must send something at
		// least every wire.KeepaliveInterval.
		typ, msg, err := c.recv(wire.KeepaliveInterval + 2*time.Second)
		if err != nil {
			c.tb.Fatalf("reading a run's frames after %d frames: %v", len(r.frames), err)
		}
		f := frame{typ: typ, msg: msg, at: time.Now()}
		r.frames = append(r.frames, f)
		if each != nil {
			each(f)
		}
		switch typ {
		case wire.MessageTypeKeepalive:
			r.keepalives++
		case wire.MessageTypeActionOutput:
			r.outputs = append(r.outputs, msg.(wire.MessageActionOutput))
		case wire.MessageTypeActionResult:
			r.result = msg.(wire.MessageActionResult)
			c.expectClosed()
			return r
		default:
			c.tb.Fatalf("unexpected message type %d during a run", typ)
		}
	}
}

// runScript runs a script to its end.
func runScript(tb testing.TB, addr, psk string, s wire.Script) runSeen {
	tb.Helper()
	return startRun(tb, addr, psk, s).collect(nil)
}

// sh is a /bin/sh script.
func sh(body string) wire.Script {
	return wire.Script{Name: "test", Executable: "/bin/sh", Data: []byte(body), RunAs: wire.RunAs{Inherit: true}}
}

// eventually polls cond every 20 ms until it holds or waitFor passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still not true after %s", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
