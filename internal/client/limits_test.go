package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/testbin"
	"github.com/otto-automation/otto/internal/wire"
)

// daemonInProcess is a client daemon run inside the test, for tests that
// need to reach into it: hooks, small limits, its counters.
type daemonInProcess struct {
	d      *daemon
	addr   string
	config string
	log    *testbin.Output
}

// startDaemon writes a config with the test PSK and the extra TOML lines,
// and serves it on a loopback listener until the test ends. setup, if not
// nil, adjusts the daemon before it serves.
func startDaemon(t *testing.T, extraTOML string, setup func(*daemon)) *daemonInProcess {
	t.Helper()
	config := filepath.Join(t.TempDir(), "client.toml")
	writeFile(t, config, fmt.Sprintf("listen_addr = \"127.0.0.1:0\"\npsk = %q\n%s\n", testPSK, extraTOML))
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testbin.Output{}
	d := newDaemon(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), config, cfg)
	if setup != nil {
		setup(d)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.serveOn(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if strings.Contains(logs.String(), testPSK) {
			t.Errorf("the daemon logged the PSK:\n%s", logs.String())
		}
	})
	wire.KeyFor(testPSK) // derived before the first request, as "otto client" does
	return &daemonInProcess{d: d, addr: ln.Addr().String(), config: config, log: logs}
}

// sealed returns msg as a frame under psk.
func sealed(t *testing.T, psk string, typ uint32, msg any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := wire.WriteMessage(typ, msg, &b, psk); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A PSK update switches keys atomically with respect to requests: once the
// new PSK is in the config file, no request is answered under the old one,
// and a connection that arrives while the update is under way is answered
// under the new one once it is in use. Otherwise a server whose update
// answer was lost could see the old PSK still work, give up the new one,
// and be locked out once the client switched.
func TestUpdatePSKSwitchIsAtomic(t *testing.T) {
	t.Parallel()
	const newPSK = "otto-client-test-switch-psk"
	stored := make(chan struct{})
	proceed := make(chan struct{})
	c := startDaemon(t, "", func(d *daemon) {
		d.pskStored = func() {
			close(stored)
			<-proceed
		}
	})
	wire.KeyFor(newPSK) // so that the timings below are the switch's, not scrypt's
	hb := wire.MessageHeartbeatRequest{ServerVersion: "test"}

	// A request under the old PSK whose last byte comes after the switch.
	// It is larger than freeFrameBytes, so that request_memory shows when
	// the daemon has taken it in under the old PSK and is reading it.
	late := dial(t, c.addr, testPSK)
	lateFrame := sealed(t, testPSK, wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{ServerVersion: strings.Repeat("x", 2*freeFrameBytes)})
	late.conn.Write(lateFrame[:len(lateFrame)-1])
	eventually(t, "the daemon reads the late request", func() bool { return c.d.requestMem.inUse() > 0 })

	update := dial(t, c.addr, testPSK)
	update.send(wire.MessageTypeTriggerAction, wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: newPSK})
	type received struct {
		typ uint32
		msg any
		err error
	}
	answer := make(chan received, 1)
	go func() {
		typ, msg, err := update.recv(waitFor)
		answer <- received{typ, msg, err}
	}()
	select {
	case <-stored:
	case <-time.After(waitFor):
		t.Fatal("the update did not store the new PSK")
	}
	if data, _ := os.ReadFile(c.config); !strings.Contains(string(data), newPSK) {
		t.Fatalf("the config file does not hold the new PSK when the hook runs:\n%s", data)
	}

	// Connections that arrive now, with the new PSK in the file but not yet
	// in use: they must wait for the switch.
	oldKey := dial(t, c.addr, testPSK)
	oldKey.send(wire.MessageTypeHeartbeatRequest, hb)
	newKey := dial(t, c.addr, newPSK)
	newKey.send(wire.MessageTypeHeartbeatRequest, hb)
	time.Sleep(200 * time.Millisecond) // time for the daemon to take them in
	close(proceed)

	r := <-answer
	if r.err != nil || r.typ != wire.MessageTypeActionResult || !done(r.msg.(wire.MessageActionResult)) {
		t.Fatalf("update answered %d %+v, %v; want a successful ActionResult under the old PSK", r.typ, r.msg, r.err)
	}
	if typ, _, err := newKey.recv(waitFor); err != nil || typ != wire.MessageTypeHeartbeatResponse {
		t.Errorf("a heartbeat under the new PSK sent during the update = %d, %v; want it answered after the switch", typ, err)
	}
	oldKey.expectClosed()
	late.conn.Write(lateFrame[len(lateFrame)-1:])
	late.expectClosed()
	heartbeat(t, c.addr, newPSK)
	if c.log.Await(regexp.MustCompile(`closed a connection whose request came under the previous PSK.* remote=127\.0\.0\.1:`), waitFor, nil) == nil {
		t.Errorf("the late request is not logged:\n%s", c.log.String())
	}
}

// Request frames not yet authenticated share request_memory: once peers
// sending large frames hold it, the next one to send more is closed at
// once, heartbeats still work meanwhile, and once they are gone the memory
// serves a large legitimate request again.
func TestRequestMemory(t *testing.T) {
	t.Parallel()
	const budget = 1 << 20
	c := startDaemon(t, fmt.Sprintf("request_memory = %d", budget), nil)

	// Each flooder announces 8 MiB and sends 512 KiB of it, then waits: it
	// holds 448 KiB of the budget, so at most two hold it at once and the
	// others must be closed at once rather than after frameIdle (but see
	// want below).
	const flooders, each = 6, 512 << 10
	header := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, wire.ProtocolVersion), 8<<20)
	var (
		wg    sync.WaitGroup
		conns []net.Conn
	)
	closedOne := make(chan struct{}, flooders)
	start := time.Now()
	for range flooders {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns = append(conns, conn)
		wg.Add(2)
		go func() {
			defer wg.Done()
			conn.Write(append(header, make([]byte, each)...)) // fails once the client closes
		}()
		go func() {
			defer wg.Done()
			var b [1]byte
			if n, err := conn.Read(b[:]); n == 0 && isClosed(err) {
				closedOne <- struct{}{}
			}
		}()
	}
	// Heartbeats fit in the part of a frame the budget does not count.
	heartbeat(t, c.addr, testPSK)
	// The client closes them at once, not after frameIdle (a minute); the
	// wait allows for a loaded machine, and ends as soon as they are. Two
	// flooders fit in the budget; one more may hold part of it, as a slow
	// peer would, when the kernel holds back the rest of its bytes (seen on
	// loopback with six 512 KiB writes at once).
	want := flooders - budget/(each-freeFrameBytes) - 1
	timeout := time.After(frameIdle / 2)
	for closed := 0; closed < want; closed++ {
		select {
		case <-closedOne:
		case <-timeout:
			t.Errorf("%d of %d flooding connections were closed within %v, want at least %d", closed, flooders, time.Since(start).Round(time.Millisecond), want)
			closed = want // stop waiting
		}
	}
	if c.log.Await(regexp.MustCompile(`unauthenticated requests hold all of request_memory.* remote=127\.0\.0\.1:`), waitFor, nil) == nil {
		t.Errorf("the closing is not logged with the remote address:\n%s", c.log.String())
	}

	for _, conn := range conns {
		conn.Close() // ends the reads of the two that hold the budget
	}
	wg.Wait()
	eventually(t, "request_memory is handed back", func() bool { return c.d.requestMem.inUse() == 0 })
	// A request of almost the whole budget goes through again.
	path := filepath.Join(t.TempDir(), "upload")
	data := bytes.Repeat([]byte("x"), budget-64<<10)
	r := trigger(t, c.addr, testPSK, wire.MessageTriggerAction{Action: wire.ActionUploadFile,
		File: wire.File{Path: path, Mode: 600, Data: data, Owner: wire.RunAs{Inherit: true}}})
	if !done(r) {
		t.Errorf("an upload of %d bytes after the flood = %+v", len(data), r)
	}
	heartbeat(t, c.addr, testPSK)
	if n := c.d.requestMem.inUse(); n != 0 {
		t.Errorf("request_memory in use after the requests = %d, want 0", n)
	}
}

// Past maxConns connections at once, a new one is closed at once, with one
// log line a minute at most, and serving resumes when connections end.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	const limit = 3
	c := startDaemon(t, "", func(d *daemon) { d.maxConns = limit })
	var idle []net.Conn
	for range limit {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		idle = append(idle, conn)
	}
	eventually(t, "the idle connections are taken in", func() bool { return c.d.open.Load() == limit })
	for range 3 {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write(sealed(t, testPSK, wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{}))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b [1]byte
		if n, err := conn.Read(b[:]); n != 0 || !isClosed(err) {
			t.Fatalf("a connection past the limit of %d read %d bytes, %v; want it closed at once", limit, n, err)
		}
	}
	over := regexp.MustCompile(`closed a connection over the limit of open connections`)
	if c.log.Await(over, waitFor, nil) == nil {
		t.Errorf("the closing is not logged:\n%s", c.log.String())
	}
	if n := len(over.FindAllString(c.log.String(), -1)); n != 1 {
		t.Errorf("%d log lines about the limit for 3 connections within a minute, want 1:\n%s", n, c.log.String())
	}
	for _, conn := range idle {
		conn.Close()
	}
	eventually(t, "the idle connections end", func() bool { return c.d.open.Load() == 0 })
	heartbeat(t, c.addr, testPSK)
}

// An upload as large as a server sends, a client binary with room to
// spare, goes through the default request_memory.
func TestLargeUpload(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	path := filepath.Join(t.TempDir(), "large")
	data := bytes.Repeat([]byte("otto"), 100<<20/4)
	r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUploadFile,
		File: wire.File{Path: path, Mode: 600, Data: data, Owner: wire.RunAs{Inherit: true}}})
	if !done(r) {
		t.Fatalf("a 100 MiB upload = %+v", r.ScriptResult)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(data)) {
		t.Errorf("the uploaded file: %v, %v; want %d bytes", fi, err, len(data))
	}
}

// The client's peak RSS under a flood of large frames stays near its
// request_memory rather than growing with the bytes the peers send.
func TestRequestMemoryRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status, which only Linux has")
	}
	t.Parallel()
	const budget = 16 << 20
	c := startClient(t, fmt.Sprintf("request_memory = %d", budget), procOpts{})
	heartbeat(t, c.addr, c.psk)
	pid := c.cmd.Process.Pid
	idle := rss(t, pid)

	// 16 peers each send 16 MiB of a frame announcing the largest length:
	// 256 MiB offered, sixteen times the budget.
	header := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, wire.ProtocolVersion), wire.MaxFrameLen)
	body := make([]byte, 16<<20)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", c.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(waitFor))
			conn.Write(header)
			conn.Write(body)
			conn.(*net.TCPConn).CloseWrite()
			var b [1]byte
			conn.Read(b[:]) // until the client closes
		}()
	}
	wg.Wait()
	heartbeat(t, c.addr, c.psk)
	// The peak since start-up: scrypt's 32 MiB at start may be all of it.
	peak := peakRSS(t, pid)
	t.Logf("client RSS: %.1f MiB idle, peak %.1f MiB with the flood (request_memory %.0f MiB)", mib(idle), mib(peak), mib(budget))
	// The budget counts bytes read; buffers that double as they fill and
	// the garbage collector's lag make the memory up to about 6 times that
	// (see docs/client.md), more on a loaded machine where the collector
	// lags further, and a small budget shows the fixed costs more. Without
	// the budget this flood takes over 400 MiB.
	if limit := idle + 10*budget + 16<<20; peak > limit {
		t.Errorf("client peak RSS %.1f MiB under the flood, want at most %.1f MiB", mib(peak), mib(limit))
	}
}
