package fleet

import (
	"sync"
	"time"
)

// Reading a frame costs memory beyond its own length: the body as it
// arrives, gob's copy of it while decoding, and the decoded message. A run's
// output comes as ActionOutput frames that each carry the whole output so
// far, so 64 runs printing a megabyte each would decode hundreds of
// megabytes at once. The frames being read by one Service share a budget.
const (
	// frameBudget is the memory, in bytes, that large frames being read at
	// once may hold.
	frameBudget = 16 << 20
	// frameCost is what reading a frame holds, as a multiple of its length.
	frameCost = 3
	// smallFrame is the length below which a frame is read without taking
	// from the budget: heartbeats, keepalives and short outputs.
	smallFrame = 64 << 10
	// budgetWait is the longest a frame waits for the budget before it is
	// read anyway. A peer that announces a large frame and stalls holds its
	// share until its read times out; waiting for it would stall every
	// other client's output, so the budget is a soft one. Clients wait a
	// minute for a write to go through, far longer.
	budgetWait = 2 * time.Second
)

// budget is a memory budget shared by concurrent users.
type budget struct {
	size int64

	mu      sync.Mutex
	used    int64
	changed chan struct{} // closed and replaced at every release
}

func newBudget(size int64) *budget {
	return &budget{size: size, changed: make(chan struct{})}
}

// acquire takes n bytes from the budget and returns how many it took, to be
// given back with release: n, or the whole budget if n is larger. It waits
// for them to be free, at most wait if wait is positive (then takes them
// anyway). A budget that nobody holds gives any request at once.
func (b *budget) acquire(n int64, wait time.Duration) int64 {
	n = min(n, b.size)
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used > 0 && b.used+n > b.size {
		ch := b.changed
		b.mu.Unlock()
		timedOut := false
		select {
		case <-ch:
		case <-timeout:
			timedOut = true
		}
		b.mu.Lock()
		if timedOut {
			break
		}
	}
	b.used += n
	return n
}

// release gives back n bytes that acquire took.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	close(b.changed)
	b.changed = make(chan struct{})
}
