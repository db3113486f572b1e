package wire

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingDerive returns a cheap stand-in for NewKey and the number of
// derivations it made per PSK.
func countingDerive() (func(string) *Key, func(string) int) {
	var mu sync.Mutex
	counts := map[string]int{}
	derive := func(psk string) *Key {
		mu.Lock()
		counts[psk]++
		mu.Unlock()
		raw := sha256.Sum256([]byte(psk))
		return newKey(raw[:])
	}
	count := func(psk string) int {
		mu.Lock()
		defer mu.Unlock()
		return counts[psk]
	}
	return derive, count
}

func TestKeyCacheBounded(t *testing.T) {
	const bound = 4
	derive, count := countingDerive()
	c := newKeyCache(bound, derive)
	for i := range 3 * bound {
		c.get(fmt.Sprint("psk", i))
		if got, want := c.len(), min(i+1, bound); got != want {
			t.Fatalf("after %d PSKs, len() = %d, want %d", i+1, got, want)
		}
	}
	newest := fmt.Sprint("psk", 3*bound-1)
	c.get(newest)
	if got := count(newest); got != 1 {
		t.Errorf("get(%q) again derived %d times in all, want 1", newest, got)
	}
	c.get("psk0")
	if got := count("psk0"); got != 2 {
		t.Errorf("get(evicted psk0) derived %d times in all, want 2", got)
	}
}

func TestKeyCacheLeastRecentlyUsed(t *testing.T) {
	derive, count := countingDerive()
	c := newKeyCache(2, derive)
	c.get("a")
	c.get("b")
	c.get("a") // a is now more recent than b
	c.get("c") // evicts b
	c.get("a")
	c.get("b")
	if got := count("a"); got != 1 {
		t.Errorf("a derived %d times, want 1", got)
	}
	if got := count("b"); got != 2 {
		t.Errorf("b derived %d times, want 2", got)
	}
}

func TestKeyCacheDerivesOnce(t *testing.T) {
	var derived atomic.Int32
	c := newKeyCache(keyCacheSize, func(psk string) *Key {
		derived.Add(1)
		time.Sleep(20 * time.Millisecond) // as slow as scrypt, so callers overlap
		raw := sha256.Sum256([]byte(psk))
		return newKey(raw[:])
	})
	const n = 16
	got := make([]*Key, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = c.get("shared") })
	}
	wg.Wait()
	if d := derived.Load(); d != 1 {
		t.Errorf("%d concurrent get(shared) derived %d times, want 1", n, d)
	}
	for i, k := range got {
		if k == nil || k != got[0] {
			t.Fatalf("get(shared) #%d = %p, want %p", i, k, got[0])
		}
	}
}

func TestKeyForCaches(t *testing.T) {
	if a, b := KeyFor(vectorPSK), KeyFor(vectorPSK); a != b {
		t.Errorf("KeyFor(%q) = %p, then %p, want the same key", vectorPSK, a, b)
	}
}
