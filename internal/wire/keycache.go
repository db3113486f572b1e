package wire

import (
	"container/list"
	"crypto/sha256"
	"runtime"
	"runtime/debug"
	"sync"
)

// keys is the cache behind KeyFor.
var keys = newKeyCache(keyCacheSize, deriveLimited)

// deriving holds a slot per scrypt derivation running in KeyFor: a server's
// first sweep after a start derives a key per host from many workers at
// once, and each derivation holds 32 MiB.
var deriving = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// deriveLimited is NewKey, at most len(deriving) at a time. Each
// derivation's 32 MiB is handed back to the OS at once: left to the
// runtime, a burst of them (a server's first sweep, a round of rotations)
// keeps hundreds of MiB of freed memory mapped for minutes. The forced
// collection costs a few milliseconds against scrypt's ~80.
func deriveLimited(psk string) *Key {
	deriving <- struct{}{}
	defer func() { <-deriving }()
	k := NewKey(psk)
	debug.FreeOSMemory()
	return k
}

// keyCache is a bounded, least-recently-used cache of keys by PSK, safe for
// concurrent use. It indexes entries by a SHA-256 of the PSK so that it does
// not keep PSKs in memory. Concurrent first uses of one PSK derive it once.
type keyCache struct {
	derive func(psk string) *Key

	mu      sync.Mutex
	max     int
	lru     list.List // of *keyEntry, most recently used first
	entries map[[sha256.Size]byte]*list.Element
}

type keyEntry struct {
	id   [sha256.Size]byte
	once sync.Once
	key  *Key
}

func newKeyCache(max int, derive func(psk string) *Key) *keyCache {
	return &keyCache{derive: derive, max: max, entries: make(map[[sha256.Size]byte]*list.Element)}
}

func (c *keyCache) get(psk string) *Key {
	id := sha256.Sum256([]byte(psk))
	c.mu.Lock()
	el, ok := c.entries[id]
	if ok {
		c.lru.MoveToFront(el)
	} else {
		el = c.lru.PushFront(&keyEntry{id: id})
		c.entries[id] = el
		if c.lru.Len() > c.max {
			oldest := c.lru.Back()
			c.lru.Remove(oldest)
			delete(c.entries, oldest.Value.(*keyEntry).id)
		}
	}
	e := el.Value.(*keyEntry)
	c.mu.Unlock()

	// Derive outside the lock, so other PSKs need not wait. An entry evicted
	// meanwhile still serves the callers that already hold it.
	e.once.Do(func() { e.key = c.derive(psk) })
	return e.key
}

// len returns the number of keys in the cache.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
