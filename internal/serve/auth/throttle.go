package auth

import (
	"net"
	"sync"
	"time"
)

// Throttle slows down guessing: after Free failures for a key (a remote
// address or a username), each further attempt must wait twice as long as
// the last, from one second up to Max. A success clears the key. Keys idle
// for Forget are forgotten. State is in memory: a restart forgives.
type Throttle struct {
	Free   int
	Max    time.Duration
	Forget time.Duration
	// MaxKeys bounds memory; past it, keys that are not blocked are dropped.
	MaxKeys int
	Now     func() time.Time

	mu   sync.Mutex
	keys map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	until    time.Time // attempts before this are refused
	last     time.Time
}

// NewThrottle returns a throttle with otto's login settings: five free
// failures, then a wait from 1 s doubling up to a minute.
func NewThrottle(now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{Free: 5, Max: time.Minute, Forget: 15 * time.Minute, MaxKeys: 100000, Now: now}
}

// Wait reports how long the caller must still wait before trying any of
// keys again; 0 means it may try now.
func (t *Throttle) Wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	var wait time.Duration
	for _, k := range keys {
		if e := t.keys[k]; e != nil && e.until.After(now) {
			wait = max(wait, e.until.Sub(now))
		}
	}
	return wait
}

// Fail records a failed attempt for each key.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	if t.keys == nil {
		t.keys = map[string]*throttleEntry{}
	}
	if len(t.keys) >= t.MaxKeys {
		t.sweep(now)
	}
	for _, k := range keys {
		e := t.keys[k]
		if e == nil || now.Sub(e.last) > t.Forget {
			e = &throttleEntry{}
			t.keys[k] = e
		}
		e.failures++
		e.last = now
		if over := e.failures - t.Free; over > 0 {
			d := t.Max
			if over <= 16 {
				d = min(t.Max, time.Second<<(over-1))
			}
			e.until = now.Add(d)
		}
	}
}

// Succeed clears the keys.
func (t *Throttle) Succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

func (t *Throttle) sweep(now time.Time) {
	for k, e := range t.keys {
		if now.Sub(e.last) > t.Forget || !e.until.After(now) {
			delete(t.keys, k)
		}
	}
}

// RateLimit allows at most Limit events per key in each Window (a fixed
// window, which is enough to keep one address from flooding).
type RateLimit struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	start   time.Time
	counts  map[string]int
	maxKeys int
}

// NewRateLimit returns a limiter of limit events per key per window.
func NewRateLimit(limit int, window time.Duration, now func() time.Time) *RateLimit {
	if now == nil {
		now = time.Now
	}
	return &RateLimit{Limit: limit, Window: window, Now: now, maxKeys: 100000}
}

// Allow counts one event for key and reports whether it is within the
// limit, and if not, how long until the window ends.
func (l *RateLimit) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if l.counts == nil || now.Sub(l.start) >= l.Window || len(l.counts) >= l.maxKeys {
		l.start, l.counts = now, map[string]int{}
	}
	l.counts[key]++
	if l.counts[key] > l.Limit {
		return false, l.Window - now.Sub(l.start)
	}
	return true, 0
}

// AddrKey turns a remote address ("1.2.3.4:5678" or an IP) into a throttle
// key: the IP for IPv4, the /64 network for IPv6, since one machine there
// commonly holds a whole /64.
func AddrKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "addr:" + host
	case ip.To4() != nil:
		return "addr:" + ip.String()
	default:
		return "addr:" + ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
}
