package fleet

import (
	"context"
	"sync"
)

// hostLocks serializes PSK changes against everything else on a host.
//
// Heartbeats and runs take a host's lock shared: any number of them may
// talk to one host at once (a long script must not stop heartbeats or other
// runs). A PSK rotation takes it exclusively, so that no exchange starts
// with a key that is about to change, and the rotation's UpdatePSK and the
// settling of a pending key never interleave with another exchange.
//
// Unlike sync.RWMutex, a waiting writer does not block new readers: a
// rotation waiting for an hour-long run must not stall the host's
// heartbeats meanwhile. A writer can therefore starve; rotations either use
// tryLock (and retry at the next sweep) or wait with a context.
//
// The locks live in this process only. Servers sharing one database divide
// hosts among themselves (see Leader), so one host's background work
// happens on one server; on-demand actions from another server's API are
// not serialized against it.
type hostLocks struct {
	mu    sync.Mutex
	locks map[string]*hostLock
}

type hostLock struct {
	refs    int // holders and waiters; the entry is dropped at zero
	readers int
	writer  bool
	changed chan struct{} // closed, and replaced, when the lock is released
}

func (l *hostLocks) get(id string) *hostLock {
	if l.locks == nil {
		l.locks = make(map[string]*hostLock)
	}
	h := l.locks[id]
	if h == nil {
		h = &hostLock{changed: make(chan struct{})}
		l.locks[id] = h
	}
	h.refs++
	return h
}

// put drops a reference; l.mu must be held.
func (l *hostLocks) put(id string, h *hostLock) {
	h.refs--
	if h.refs == 0 {
		delete(l.locks, id)
	}
}

// acquire waits until the lock can be taken (shared or exclusive) or ctx
// ends, and returns the function that releases it.
func (l *hostLocks) acquire(ctx context.Context, id string, exclusive bool) (unlock func(), err error) {
	l.mu.Lock()
	h := l.get(id)
	for {
		if !h.writer && (!exclusive || h.readers == 0) {
			if exclusive {
				h.writer = true
			} else {
				h.readers++
			}
			l.mu.Unlock()
			return func() { l.release(id, h, exclusive) }, nil
		}
		ch := h.changed
		l.mu.Unlock()
		select {
		case <-ch:
			l.mu.Lock()
		case <-ctx.Done():
			l.mu.Lock()
			l.put(id, h)
			l.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

func (l *hostLocks) release(id string, h *hostLock, exclusive bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if exclusive {
		h.writer = false
	} else {
		h.readers--
	}
	close(h.changed)
	h.changed = make(chan struct{})
	l.put(id, h)
}

// rlock takes host id's lock shared (heartbeats, runs, actions).
func (l *hostLocks) rlock(ctx context.Context, id string) (func(), error) {
	return l.acquire(ctx, id, false)
}

// lock takes host id's lock exclusively (PSK rotation).
func (l *hostLocks) lock(ctx context.Context, id string) (func(), error) {
	return l.acquire(ctx, id, true)
}

// tryLock takes host id's lock exclusively if nothing holds it, and
// reports whether it did.
func (l *hostLocks) tryLock(id string) (func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.get(id)
	if h.writer || h.readers > 0 {
		l.put(id, h)
		return nil, false
	}
	h.writer = true
	return func() { l.release(id, h, true) }, true
}
