package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// Connection defaults. Options.Network overrides Timeout.
const (
	// DefaultTimeout bounds a dial and each read when no timeout is set.
	// It must exceed wire.KeepaliveInterval, or a quiet script would look
	// dead; 0.x used 10 s.
	DefaultTimeout = 10 * time.Second

	// CancelGrace is how long, on top of the timeout, a canceled run keeps
	// reading for its ActionResult: the client sends SIGTERM, waits its own
	// grace, then SIGKILL, and only then answers.
	CancelGrace = 5 * time.Second
)

// Errors of a contact with a client. Every error the Dialer returns matches
// exactly one of them with errors.Is (or is the context's error when the
// caller's context ended first), so callers can tell why a host failed;
// Reason turns them into the sentence shown to users.
var (
	// ErrConnect means the TCP connection could not be made: the host is
	// down, the client is not running, a firewall drops the packets, or the
	// address does not resolve.
	ErrConnect = errors.New("fleet: could not connect to the client")

	// ErrNoAnswer means the connection was made and the request sent, but
	// the client closed it without answering. A client does exactly that
	// when the request fails authentication, so the likely cause is a wrong
	// PSK (or an address outside the client's allow-list).
	ErrNoAnswer = errors.New("fleet: the client closed the connection without answering")

	// ErrDisconnected means the client closed the connection after it had
	// started answering but before the action ended (it crashed, or the
	// host went down mid-run).
	ErrDisconnected = errors.New("fleet: the client closed the connection before the action ended")

	// ErrTimeout means the client sent nothing for the whole read timeout,
	// or a canceled run did not end within its grace period.
	ErrTimeout = errors.New("fleet: the client did not answer in time")

	// ErrProtocol means the client sent something protocol 2 does not allow
	// here: a frame that fails to decode or authenticate, an unexpected
	// message type, or a GeneralFailure.
	ErrProtocol = errors.New("fleet: protocol error")
)

// ConnError is the error of one contact with a client. Kind is one of the
// sentinel errors above; Err is the underlying cause.
type ConnError struct {
	Kind error
	Addr string // host:port dialed
	Err  error
}

func (e *ConnError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%v (%s)", e.Kind, e.Addr)
	}
	return fmt.Sprintf("%v (%s): %v", e.Kind, e.Addr, e.Err)
}

// Unwrap lets errors.Is match both the kind and the cause.
func (e *ConnError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Reason is the sentence stored in a host's status or a run's Error for err:
// what went wrong from the user's point of view, with no "fleet:" prefix.
func Reason(err error) string {
	var ce *ConnError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce) && ce.Kind == ErrNoAnswer:
		return "the client closed the connection without answering: wrong PSK?"
	case errors.As(err, &ce) && ce.Kind == ErrConnect:
		return "could not connect to the client: " + errText(ce.Err)
	case errors.As(err, &ce) && ce.Kind == ErrTimeout:
		return "the client did not answer in time"
	case errors.As(err, &ce) && ce.Kind == ErrDisconnected:
		return "the client closed the connection before the action ended"
	case errors.As(err, &ce) && ce.Kind == ErrProtocol:
		return "protocol error: " + errText(ce.Err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled before the client answered"
	default:
		return err.Error()
	}
}

func errText(err error) string {
	if err == nil {
		return "unknown cause"
	}
	return err.Error()
}

// keyRejected reports whether err means the client refused the PSK the
// request was sealed with: it closed without answering, or answered with a
// frame sealed with another key.
func keyRejected(err error) bool {
	return errors.Is(err, ErrNoAnswer) || errors.Is(err, wire.ErrAuth)
}

// Target is where a client listens and the PSK to seal requests with.
type Target struct {
	Address string
	Port    uint32
	PSK     string
}

// addr is the host:port to dial.
func (t Target) addr() string {
	return net.JoinHostPort(t.Address, strconv.FormatUint(uint64(t.Port), 10))
}

// LogValue keeps the PSK out of logs.
func (t Target) LogValue() slog.Value { return slog.StringValue(t.addr()) }

// Dialer contacts clients over protocol 2, one TCP connection per exchange.
// The zero value is ready to use. A Dialer holds no state, so one built per
// operation from the current options costs nothing.
type Dialer struct {
	// Timeout bounds the dial, each write, and each read: every frame
	// received (Keepalive and ActionOutput included) restarts it. While a
	// script runs, a read waits Timeout plus wire.KeepaliveInterval, since
	// a client with nothing to say sends a Keepalive only after that
	// interval. Zero means DefaultTimeout.
	Timeout time.Duration

	// IPVersion is domain.IPVersionAuto (or ""), IPVersion4 or IPVersion6:
	// which address family to dial.
	IPVersion string

	// Dial replaces the TCP dial, for tests that run a conversation over
	// net.Pipe. Nil means a net.Dialer with Timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// keepalive replaces wire.KeepaliveInterval, for tests.
	keepalive time.Duration

	// frames, if set, is the memory budget that large frames being read
	// share (see frameBudget).
	frames *budget

	// knobs are the Service's benchmark knobs: none in a release build
	// (knobs.go).
	knobs knobs
}

// NewDialer returns the Dialer for the network options o.
func NewDialer(o domain.NetworkOptions) Dialer {
	return Dialer{Timeout: time.Duration(o.Timeout) * time.Second, IPVersion: o.ForceIPVersion}
}

func (d Dialer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d Dialer) network() string {
	switch d.IPVersion {
	case domain.IPVersion4:
		return "tcp4"
	case domain.IPVersion6:
		return "tcp6"
	default:
		return "tcp"
	}
}

// exchange is one connection to one client: a request written, frames read.
type exchange struct {
	d       Dialer
	t       Target
	key     *wire.Key // nil when a test build derives per frame; use k()
	conn    net.Conn
	started bool // some frame arrived, so the key was accepted
	// watched ends the exchange when it ends (see watch); nil for a run,
	// whose cancellation is a message instead.
	watched context.Context
}

// open dials t, giving up when ctx ends, and returns the exchange and the
// function that closes its connection.
func (d Dialer) open(ctx context.Context, t Target) (*exchange, func(), error) {
	dctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	var conn net.Conn
	var err error
	if d.Dial != nil {
		conn, err = d.Dial(dctx, d.network(), t.addr())
	} else {
		nd := net.Dialer{Timeout: d.timeout()}
		conn, err = nd.DialContext(dctx, d.network(), t.addr())
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, context.Cause(ctx)
		}
		return nil, nil, &ConnError{Kind: ErrConnect, Addr: t.addr(), Err: err}
	}
	// Derive the key only once connected: a host that cannot be reached
	// costs no scrypt run (~80 ms, 32 MiB), which matters for the first
	// sweep after a start. A client waits a minute for our request, far
	// longer than a derivation, even one queued behind others.
	x := &exchange{d: d, t: t, key: d.knobs.exchangeKey(t.PSK), conn: conn}
	return x, func() { conn.Close() }, nil
}

// write sends one frame with a write deadline.
func (x *exchange) write(typ uint32, msg any) error {
	x.conn.SetWriteDeadline(time.Now().Add(x.d.timeout()))
	if err := x.k().WriteMessage(typ, msg, x.conn); err != nil {
		return x.classify(err)
	}
	return nil
}

// read reads one frame, waiting at most until deadline.
func (x *exchange) read(deadline time.Time) (uint32, any, error) {
	typ, msg, held, err := x.readHolding(deadline)
	x.release(held)
	return typ, msg, err
}

// readHolding is read for a frame whose message the caller keeps: held is
// what it took from the frame budget, to be given back with release once
// the message is done with (0 for a small frame or no budget).
func (x *exchange) readHolding(deadline time.Time) (typ uint32, msg any, held int64, err error) {
	x.conn.SetReadDeadline(deadline)
	// After setting the deadline: watch's AfterFunc may have set an
	// earlier one that this one just replaced.
	if x.watched != nil && x.watched.Err() != nil {
		return 0, nil, 0, context.Cause(x.watched)
	}
	var r io.Reader = x.conn
	if x.d.frames != nil {
		// Look at the header first: a large frame waits for its share of
		// the budget before its body is read.
		var hdr [wire.HeaderLen]byte
		if _, err := io.ReadFull(x.conn, hdr[:]); err != nil {
			return 0, nil, 0, x.classify(err)
		}
		if n := wire.FrameLen(hdr); n >= smallFrame {
			held = x.d.frames.acquire(frameCost*int64(n), budgetWait)
		}
		r = io.MultiReader(bytes.NewReader(hdr[:]), x.conn)
	}
	typ, msg, err = x.k().ReadMessage(r)
	if err != nil {
		x.release(held)
		return 0, nil, 0, x.classify(err)
	}
	x.started = true
	return typ, msg, held, nil
}

// release gives back what readHolding took from the frame budget.
func (x *exchange) release(held int64) {
	if x.d.frames != nil {
		x.d.frames.release(held)
	}
}

// classify turns an I/O or wire error into a ConnError.
func (x *exchange) classify(err error) error {
	kind := ErrProtocol
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		kind = ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrClosedPipe):
		kind = ErrDisconnected
		if !x.started {
			kind = ErrNoAnswer
		}
	}
	return &ConnError{Kind: kind, Addr: x.t.addr(), Err: err}
}

// unexpected is the error for a frame of the wrong type.
func (x *exchange) unexpected(typ uint32) error {
	if typ == wire.MessageTypeGeneralFailure {
		return &ConnError{Kind: ErrProtocol, Addr: x.t.addr(), Err: errors.New("the client reported a general failure")}
	}
	return &ConnError{Kind: ErrProtocol, Addr: x.t.addr(), Err: fmt.Errorf("unexpected message type %d", typ)}
}

// watch ends the exchange when ctx ends: a blocked read or write returns
// at once, and no new read starts. The returned stop must be called
// before the exchange ends.
func (x *exchange) watch(ctx context.Context) (stop func() bool) {
	x.watched = ctx
	return context.AfterFunc(ctx, func() { x.conn.SetDeadline(time.Now()) })
}

// ctxErr prefers the context's error when the context ended: the I/O error
// it caused says nothing about the client.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// Heartbeat asks the client at t for its version and properties.
func (d Dialer) Heartbeat(ctx context.Context, t Target, serverVersion string) (wire.MessageHeartbeatResponse, error) {
	x, closeConn, err := d.open(ctx, t)
	if err != nil {
		return wire.MessageHeartbeatResponse{}, err
	}
	defer closeConn()
	defer x.watch(ctx)()
	if err := x.write(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{ServerVersion: serverVersion}); err != nil {
		return wire.MessageHeartbeatResponse{}, ctxErr(ctx, err)
	}
	for {
		typ, msg, err := x.read(time.Now().Add(d.timeout()))
		if err != nil {
			return wire.MessageHeartbeatResponse{}, ctxErr(ctx, err)
		}
		switch typ {
		case wire.MessageTypeKeepalive:
			continue
		case wire.MessageTypeHeartbeatResponse:
			if r, ok := msg.(wire.MessageHeartbeatResponse); ok {
				return r, nil
			}
		}
		return wire.MessageHeartbeatResponse{}, x.unexpected(typ)
	}
}

// Trigger sends an action other than RunScript (upload, exit, reboot,
// shutdown, update PSK, reload) and returns the client's ActionResult. The
// caller checks ScriptResult.ExecError, never Success: a client that refused
// the action still answers, and 0.x clients leave Success false on success.
func (d Dialer) Trigger(ctx context.Context, t Target, msg wire.MessageTriggerAction) (wire.MessageActionResult, error) {
	x, closeConn, err := d.open(ctx, t)
	if err != nil {
		return wire.MessageActionResult{}, err
	}
	defer closeConn()
	defer x.watch(ctx)()
	if err := x.write(wire.MessageTypeTriggerAction, msg); err != nil {
		return wire.MessageActionResult{}, ctxErr(ctx, err)
	}
	for {
		typ, m, err := x.read(time.Now().Add(d.timeout()))
		if err != nil {
			return wire.MessageActionResult{}, ctxErr(ctx, err)
		}
		switch typ {
		case wire.MessageTypeKeepalive, wire.MessageTypeActionOutput:
			continue
		case wire.MessageTypeActionResult:
			if r, ok := m.(wire.MessageActionResult); ok {
				return r, nil
			}
		}
		return wire.MessageActionResult{}, x.unexpected(typ)
	}
}

// Run runs script on the client at t and returns its ActionResult.
// onOutput, if not nil, is called with the whole output so far each time
// the client sends some; it runs on Run's goroutine and should be quick.
//
// When ctx ends mid-run, Run sends CancelAction on the same connection and
// keeps reading until the client's ActionResult arrives, for at most
// CancelGrace plus the timeout (from the cancel on); so a canceled run usually returns its
// result and a nil error. If the client does not answer in that time, Run
// returns an ErrTimeout ConnError.
func (d Dialer) Run(ctx context.Context, t Target, script wire.Script, onOutput func(stdout, stderr []byte)) (wire.MessageActionResult, error) {
	res, held, err := d.run(ctx, t, script, onOutput)
	if d.frames != nil {
		d.frames.release(held)
	}
	return res, err
}

// run is Run that leaves the result's share of the frame budget taken:
// held is to be given back (with budget.release) once the result is
// stored. Results waiting for the store count against the budget, so that
// a burst of large results waits in the clients' sockets, not in memory.
func (d Dialer) run(ctx context.Context, t Target, script wire.Script, onOutput func(stdout, stderr []byte)) (_ wire.MessageActionResult, held int64, _ error) {
	// The dial itself is abandoned when ctx ends: nothing runs yet.
	x, closeConn, err := d.open(ctx, t)
	if err != nil {
		return wire.MessageActionResult{}, 0, err
	}
	defer closeConn()
	if ctx.Err() != nil {
		return wire.MessageActionResult{}, 0, context.Cause(ctx)
	}
	trigger := wire.MessageTriggerAction{Action: wire.ActionRunScript, Script: script}
	if err := x.write(wire.MessageTypeTriggerAction, trigger); err != nil {
		return wire.MessageActionResult{}, 0, err
	}

	// From here on a canceled ctx means "ask the client to stop", sent from
	// the AfterFunc goroutine while this one keeps reading. A net.Conn allows
	// one reader and one writer at once, and nothing else writes after the
	// trigger.
	var (
		mu       sync.Mutex
		hardStop time.Time // zero until canceled
	)
	cancelSent := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(cancelSent)
		mu.Lock()
		hardStop = time.Now().Add(CancelGrace + d.timeout())
		mu.Unlock()
		// A failed write shows up as a failed read below. (Not x.write:
		// classify reads state the reading goroutine owns.)
		x.conn.SetWriteDeadline(time.Now().Add(d.timeout()))
		x.k().WriteMessage(wire.MessageTypeCancelAction, wire.MessageCancelAction{}, x.conn)
	})
	defer func() {
		if !stop() {
			<-cancelSent
		}
	}()

	idle := d.timeout() + wire.KeepaliveInterval
	if d.keepalive > 0 {
		idle = d.timeout() + d.keepalive
	}
	for {
		deadline := time.Now().Add(idle)
		mu.Lock()
		if !hardStop.IsZero() && hardStop.Before(deadline) {
			deadline = hardStop
		}
		mu.Unlock()
		typ, m, held, err := x.readHolding(deadline)
		if err != nil {
			return wire.MessageActionResult{}, 0, err
		}
		switch typ {
		case wire.MessageTypeKeepalive:
			x.release(held) // a Keepalive has no body, but a peer may pad it
			continue
		case wire.MessageTypeActionOutput:
			if o, ok := m.(wire.MessageActionOutput); ok {
				if onOutput != nil {
					onOutput(o.Stdout, o.Stderr)
				}
				x.release(held)
				continue
			}
		case wire.MessageTypeActionResult:
			if r, ok := m.(wire.MessageActionResult); ok {
				// Decoded, the result holds about its length: give back
				// the rest at once.
				kept := held / frameCost
				x.release(held - kept)
				return r, kept, nil
			}
		}
		x.release(held)
		return wire.MessageActionResult{}, 0, x.unexpected(typ)
	}
}
