package e2e

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Modes of a proxy.
const (
	// proxyForward forwards both ways.
	proxyForward int32 = iota
	// proxyCutReplies cuts every connection as soon as the client sends
	// anything back: the server's requests arrive, no answer returns.
	proxyCutReplies
	// proxyCutNextReply cuts the next connection on which the client
	// answers, then goes back to proxyForward.
	proxyCutNextReply
)

// proxy is a TCP proxy between the server and a client that can drop the
// client's answers, to lose an acknowledgement on purpose.
type proxy struct {
	env    *env
	ln     net.Listener
	target string
	mode   atomic.Int32
	cuts   atomic.Int32 // connections cut

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// StartProxy listens on a free loopback port and forwards to target.
func (e *env) StartProxy(target string) *proxy {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	p := &proxy{env: e, ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	e.goroutine(p.accept)
	e.t.Cleanup(p.close) // runs before env's cleanup, which waits for p's goroutines
	return p
}

// Port is the port the proxy listens on.
func (p *proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// SetMode switches the mode for the answers to come.
func (p *proxy) SetMode(m int32) { p.mode.Store(m) }

// Cuts is how many connections the proxy cut so far.
func (p *proxy) Cuts() int { return int(p.cuts.Load()) }

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// track registers c for close; it reports false (and closes c) once the
// proxy is closed.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) accept() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.track(down) {
			p.env.goroutine(func() { p.handle(down) })
		}
	}
}

// cutNow decides, at the client's first byte on a connection, whether to
// cut it.
func (p *proxy) cutNow() bool {
	switch p.mode.Load() {
	case proxyCutReplies:
		return true
	case proxyCutNextReply:
		return p.mode.CompareAndSwap(proxyCutNextReply, proxyForward)
	}
	return false
}

// handle forwards one connection from the server (down) to the client.
func (p *proxy) handle(down net.Conn) {
	defer p.untrack(down)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		return
	}
	defer p.untrack(up)
	requests := make(chan struct{})
	p.env.goroutine(func() {
		defer close(requests)
		io.Copy(up, down)
		up.(*net.TCPConn).CloseWrite()
	})
	buf := make([]byte, 32<<10)
	n, _ := up.Read(buf)
	if n > 0 && p.cutNow() {
		p.cuts.Add(1)
		down.Close() // the server sees the connection end with no answer
		up.Close()
		<-requests
		return
	}
	if n > 0 {
		if _, err := down.Write(buf[:n]); err == nil {
			io.Copy(down, up)
		}
	}
	down.(*net.TCPConn).CloseWrite()
	<-requests
}

// blackhole accepts connections and never answers: a host that hangs.
type blackhole struct {
	*proxy // for its listener and connection bookkeeping
}

// StartBlackhole listens on a free loopback port; what connects there is
// read and never answered, until it closes.
func (e *env) StartBlackhole() *blackhole {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	p := &proxy{env: e, ln: ln, conns: make(map[net.Conn]struct{})}
	e.goroutine(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.track(c) {
				e.goroutine(func() {
					defer p.untrack(c)
					io.Copy(io.Discard, c)
				})
			}
		}
	})
	e.t.Cleanup(p.close)
	return &blackhole{p}
}
