package auth_test

import (
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/auth"
)

// slowHasher counts the calls in progress.
type slowHasher struct {
	mu       sync.Mutex
	now, max int
}

func (h *slowHasher) enter() {
	h.mu.Lock()
	h.now++
	h.max = max(h.max, h.now)
	h.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	h.mu.Lock()
	h.now--
	h.mu.Unlock()
}

func (h *slowHasher) Hash(string) (string, error) { h.enter(); return "h", nil }
func (h *slowHasher) Check(string, string) bool   { h.enter(); return true }

func TestBounded(t *testing.T) {
	h := &slowHasher{}
	b := auth.NewBounded(h, 2)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				b.Hash("x")
			} else {
				b.Check("h", "x")
			}
		})
	}
	wg.Wait()
	if h.max != 2 {
		t.Errorf("at most %d hashes and checks ran at once, want 2", h.max)
	}
}
