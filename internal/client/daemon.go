package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otto-automation/otto/internal/wire"
)

// Connection timing. These are otto's choices, not protocol 2's.
const (
	// frameIdle is how long a peer may send nothing while we wait for, or
	// read, a request frame. A server writes its request right after
	// connecting; a minute covers a slow link and a loaded server.
	frameIdle = time.Minute

	// frameMax bounds the time one request frame may take in all, so a
	// peer trickling a byte a minute cannot hold a connection for ever.
	// Ten minutes moves a 128 MiB frame at about 2 Mbit/s.
	frameMax = 10 * time.Minute

	// writeTimeout bounds each frame we write: a server that stops reading
	// for this long is gone.
	writeTimeout = time.Minute

	// keepaliveEvery is how long a running action may go without sending
	// anything before it sends a Keepalive. Half of wire.KeepaliveInterval,
	// so a server whose read deadline is that interval never times out,
	// whatever the delays on the way.
	keepaliveEvery = wire.KeepaliveInterval / 2

	// shutdownGrace is how long, when the daemon stops, running actions
	// may go on before their scripts are canceled (which then takes up to
	// exec's own grace of 5 s, and their results are still sent).
	shutdownGrace = 10 * time.Second

	// maxConns bounds the connections served at once, running scripts
	// included. allow_from lets everyone in by default, and each connection
	// costs a goroutine and up to freeFrameBytes of buffer before it is
	// authenticated; past the bound a new connection is closed at once.
	// No server runs a thousand actions on one host at a time.
	maxConns = 1024

	// overLimitLogEvery is how often, at most, the closing of connections
	// past maxConns is logged: a flood must not flood the log as well.
	overLimitLogEvery = time.Minute

	// freeFrameBytes is how much of each request frame is read without
	// drawing on request_memory: what wire allocates for a body up front
	// anyway, and more than any heartbeat or ordinary script takes. So
	// while a flood holds the whole budget, those requests still go
	// through; maxConns bounds what this costs (64 MiB).
	freeFrameBytes = 64 << 10
)

// Exit statuses of the daemon besides 0 (stopped, or told to exit) and 1
// (an error).
const (
	// ExitRestart is the status after UploadFileAndExit: the client placed
	// a file (usually a new otto binary) and exits so that its supervisor
	// starts it again. It is 75, EX_TEMPFAIL in sysexits.h, "try again":
	// any non-zero status makes systemd's Restart=on-failure restart it.
	ExitRestart = 75
)

// daemon serves protocol 2 on one listener.
type daemon struct {
	log        *slog.Logger
	configPath string // the TOML file that reloads and PSK updates use

	// mu guards cfg. A PSK update holds it from before it writes the
	// new PSK to the file until the PSK is in cfg, so that a request is
	// never answered under the old PSK once the file holds the new one:
	// a server that sees the old PSK still work drops the new one, and
	// would then be locked out by the switch.
	mu  sync.RWMutex
	cfg Config

	fileMu sync.Mutex // serializes reloads and PSK updates

	exit         chan int           // an action asks the daemon to exit with this status
	reloadSignal <-chan os.Signal   // SIGHUP, in the real daemon; nil in tests
	release      chan struct{}      // asks for freed memory to go back to the OS
	closing      context.Context    // done once the daemon stops taking requests
	stopReq      context.CancelFunc // cancels closing
	actions      context.Context    // parent of every action's context
	stopAll      context.CancelFunc // cancels actions
	conns        sync.WaitGroup

	maxConns   int          // connections served at once; maxConns but in tests
	open       atomic.Int64 // connections being served
	requestMem *memBudget   // request_memory, shared by the connections

	// pskStored, if set, runs in updatePSK once the new PSK is in the
	// file and before it is in use. Tests set it; it is nil otherwise.
	pskStored func()

	// knobs are the test and benchmark knobs: empty in a release build
	// (knobs.go), set only in a build with -tags ottotest
	// (knobs_ottotest.go).
	knobs knobs
}

// Steps of a PSK update at which a test build can have the daemon hang
// (see daemon.hangAt); a release build never does.
const (
	hangBeforeRename = "psk-rename" // the new config file is written and synced, not yet renamed
	hangBeforeAnswer = "psk-answer" // the new config file is in place, not yet answered
)

func newDaemon(log *slog.Logger, configPath string, cfg Config) *daemon {
	d := &daemon{log: log, configPath: configPath, cfg: cfg, exit: make(chan int, 1), release: make(chan struct{}, 1), maxConns: maxConns, requestMem: &memBudget{}}
	d.requestMem.setLimit(cfg.RequestMemory)
	d.closing, d.stopReq = context.WithCancel(context.Background())
	d.actions, d.stopAll = context.WithCancel(context.Background())
	return d
}

// config returns the current config. During a PSK update it waits for the
// switch (see daemon.mu).
func (d *daemon) config() Config {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg
}

// setConfig puts c in use; request_memory changes at once.
func (d *daemon) setConfig(c Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setConfigLocked(c)
}

// setConfigLocked is setConfig with d.mu already held for writing.
func (d *daemon) setConfigLocked(c Config) {
	d.cfg = c
	d.requestMem.setLimit(c.RequestMemory)
}

// requestExit asks serve to stop and return status. The first request wins.
func (d *daemon) requestExit(status int) {
	select {
	case d.exit <- status:
	default:
	}
}

// prepareKey derives the key for psk now, so that the first request under
// it is answered at once. (wire hands the 32 MiB scrypt used back to the
// OS right after: the client spends its life idle, and its RSS shows it.)
func prepareKey(psk PSK) {
	wire.KeyFor(string(psk))
}

// serve listens on the config's address and serves until ctx is done or an
// action asks to exit. It returns the exit status.
func (d *daemon) serve(ctx context.Context) (int, error) {
	cfg := d.config()
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return 1, fmt.Errorf("client config %s: listen_addr %s: %w; free the port, or change listen_addr", d.configPath, cfg.ListenAddr, err)
	}
	return d.serveOn(ctx, ln)
}

// serveOn is serve on a listener already open, which it closes.
func (d *daemon) serveOn(ctx context.Context, ln net.Listener) (int, error) {
	d.log.Info("listening", slog.String(keyAddr, ln.Addr().String()), slog.String(keyConfig, d.configPath))

	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		d.accept(ln)
	}()
	stopReleaser := make(chan struct{})
	releaserDone := make(chan struct{})
	go func() {
		defer close(releaserDone)
		d.releaseMemory(stopReleaser)
	}()
	defer func() {
		close(stopReleaser)
		<-releaserDone
	}()

	status := 0
wait:
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping", slog.String("cause", context.Cause(ctx).Error()))
			break wait
		case status = <-d.exit:
			d.log.Info("exiting as asked", slog.Int(keyCode, status))
			break wait
		case <-d.reloadSignal:
			if err := d.reload(); err != nil {
				d.log.Error("reloading the config on SIGHUP", attrErr(err))
			}
		}
	}
	ln.Close()
	d.stopReq() // connections still waiting for their request are closed
	<-accepted
	d.drain()
	return status, nil
}

// releaseMemory hands freed memory back to the OS when asked, at most once
// a second, until stop is closed.
func (d *daemon) releaseMemory(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-d.release:
		}
		debug.FreeOSMemory()
		select { // requests meanwhile coalesce into one
		case <-stop:
			return
		case <-time.After(time.Second):
		}
	}
}

// requestRelease asks releaseMemory to run soon.
func (d *daemon) requestRelease() {
	select {
	case d.release <- struct{}{}:
	default:
	}
}

// drain waits for the connections in flight, canceling their actions after
// shutdownGrace.
func (d *daemon) drain() {
	done := make(chan struct{})
	go func() {
		d.conns.Wait()
		close(done)
	}()
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		d.log.Warn("canceling running actions to stop")
		d.stopAll()
		<-done
	}
	d.stopAll()
}

// accept serves each connection in its own goroutine until ln is closed.
// Past maxConns connections it closes new ones at once.
func (d *daemon) accept(ln net.Listener) {
	var (
		backoff time.Duration
		lastLog time.Time // when closing over the limit was last logged
		unseen  int       // connections closed over the limit since
	)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			d.log.Error("accepting a connection", attrErr(err))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		// Only this goroutine adds to d.open, so the count cannot pass the
		// limit between the check and the Add.
		if d.open.Load() >= int64(d.maxConns) {
			conn.Close()
			unseen++
			if time.Since(lastLog) >= overLimitLogEvery {
				d.log.Warn("closed a connection over the limit of open connections", attrRemote(conn),
					slog.Int("limit", d.maxConns), slog.Int("closed", unseen))
				lastLog, unseen = time.Now(), 0
			}
			continue
		}
		d.open.Add(1)
		d.conns.Add(1)
		go func() {
			defer d.conns.Done()
			defer d.open.Add(-1)
			defer conn.Close()
			d.serveConn(conn)
		}()
	}
}

// serveConn answers the one request a connection carries. A peer outside
// allow_from is closed on before a byte is read; a request that fails to
// read, authenticate or decode closes the connection without an answer.
func (d *daemon) serveConn(conn net.Conn) {
	// The request's config and key. A connection that comes while a PSK
	// update is being stored waits here for the switch (see daemon.mu), and
	// is served under the new PSK; only this snapshot waits, not the
	// connection's whole exchange, so a long script never holds up an
	// update.
	cfg := d.config()
	if tcp, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !cfg.allows(tcp.AddrPort().Addr()) {
		d.log.Warn("refused a connection from outside allow_from", attrRemote(conn))
		return
	}
	key := d.frameKey(cfg.PSK)
	stop := context.AfterFunc(d.closing, func() { conn.Close() })
	fr := &frameReader{conn: conn, start: time.Now(), budget: d.requestMem}
	// Every exchange ends with the memory it used handed back (at most
	// once a second): an idle agent allocates nothing that would make the
	// runtime collect, so without this its RSS keeps the last request's.
	defer d.requestRelease()
	typ, msg, err := key.get().ReadMessage(fr)
	fr.release() // authenticated, or failed: either way no longer a peer's to hold
	if !stop() {
		return // the daemon is stopping; whatever came in is not served
	}
	if err != nil {
		switch {
		case errors.Is(err, io.EOF):
			// Nothing at all was sent: a port probe, not an attack.
			d.log.Debug("connection closed before a request", attrRemote(conn))
		case errors.Is(err, errRequestMemory):
			d.log.Warn("closed a connection: unauthenticated requests hold all of request_memory", attrRemote(conn),
				slog.Int("read", fr.n), slog.Int64("request_memory", cfg.RequestMemory))
		default:
			d.log.Warn("closed a connection after a bad request frame", attrRemote(conn), attrErr(err))
		}
		return
	}
	if d.config().PSK != cfg.PSK {
		// The PSK changed while the frame arrived, and the frame is under
		// the old one: answering would tell the server the old PSK still
		// works (see daemon.mu). Without an answer it tries the new one.
		// A request that passes this check was taken in before the update
		// began to store the new PSK, and is served under the old one.
		d.log.Warn("closed a connection whose request came under the previous PSK", attrRemote(conn))
		return
	}
	x := &exchange{d: d, conn: conn, key: key, cfg: cfg}
	switch m := msg.(type) {
	case wire.MessageHeartbeatRequest:
		x.heartbeat()
	case wire.MessageTriggerAction:
		x.trigger(m)
	default:
		d.log.Warn("closed a connection whose request is not one", attrRemote(conn), slog.Uint64(keyType, uint64(typ)))
	}
}

// errRequestMemory fails the read of a request frame that would take
// request_memory past its limit.
var errRequestMemory = errors.New("request_memory is used up by requests not yet authenticated")

// frameReader reads a request frame from conn: each read may wait
// frameIdle, and the whole frame may take frameMax. It counts the bytes,
// and takes those past freeFrameBytes from budget as they arrive, until
// release: a read that finds the budget used up fails, so that peers
// cannot make the client read more than the budget, only lose their
// connections trying. The budget counts bytes read, not allocated: wire's
// buffer doubles as it fills, so memory runs to about twice what was read,
// three times while a copy is under way.
type frameReader struct {
	conn   net.Conn
	start  time.Time
	n      int // bytes read
	budget *memBudget
	held   int64 // bytes taken from budget
}

func (r *frameReader) Read(p []byte) (int, error) {
	deadline := min(time.Now().Add(frameIdle).UnixNano(), r.start.Add(frameMax).UnixNano())
	r.conn.SetReadDeadline(time.Unix(0, deadline))
	n, err := r.conn.Read(p)
	r.n += n
	if more := int64(r.n-freeFrameBytes) - r.held; more > 0 {
		if !r.budget.take(more) {
			return n, errRequestMemory
		}
		r.held += more
	}
	return n, err
}

// release hands back what the frame took from the budget.
func (r *frameReader) release() {
	r.budget.give(r.held)
	r.held = 0
}

// memBudget is request_memory: bytes that connections take while they
// read request frames and give back once the frames are read.
type memBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

// take takes n bytes, or reports false and takes nothing if that would pass
// the limit.
func (b *memBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *memBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// setLimit changes the limit; bytes already taken stay taken. 0, from a
// Config that did not go through LoadConfig, means DefaultRequestMemory.
func (b *memBudget) setLimit(n int64) {
	if n <= 0 {
		n = DefaultRequestMemory
	}
	b.mu.Lock()
	b.limit = n
	b.mu.Unlock()
}

func (b *memBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// sender writes the frames of one exchange. It is safe for concurrent use,
// remembers when it last sent, and after the first failed write sends
// nothing more (the server is gone; the action carries on).
type sender struct {
	conn net.Conn
	key  frameKey

	mu   sync.Mutex
	last time.Time
	err  error
}

func (s *sender) send(typ uint32, msg any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := s.key.get().WriteMessage(typ, msg, s.conn)
	if err != nil && !errors.Is(err, wire.ErrFrameTooLarge) {
		s.err = err // nothing was written for a frame too large; the stream is intact
	}
	s.last = time.Now()
	return err
}

// keepalive sends a Keepalive whenever nothing was sent for keepaliveEvery,
// until the returned function is called.
func (s *sender) keepalive(every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			s.mu.Lock()
			quiet := time.Since(s.last)
			s.mu.Unlock()
			if quiet >= every {
				s.send(wire.MessageTypeKeepalive, nil)
				quiet = 0
			}
			t.Reset(every - quiet)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
