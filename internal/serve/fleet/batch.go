package fleet

import (
	"time"
)

// Batching of store writes. A commit costs an fsync (~2 ms on a disk), so
// results of many hosts go to the store together: at 10,000 hosts, one
// commit each would take 20 s of fsyncs alone.
const (
	// batchMax is how many results one commit carries at most.
	batchMax = 200
	// batchDelay is how long a result waits for others before it is
	// committed anyway; it is also the most a finished run waits before
	// Wait and subscribers see its result.
	batchDelay = 100 * time.Millisecond
	// batchBytes bounds the bytes one commit carries, for batchers given a
	// size: a transaction holds its dirty pages in memory until the commit,
	// so 200 runs of 1 MiB output each would hold 200 MiB at once.
	batchBytes = 16 << 20
)

// batcher collects values and hands them to flush in groups: when batchMax
// are waiting, batchDelay after the first of a group arrived, or at close.
// flush runs on the batcher's goroutine, one call at a time; while it runs,
// add blocks once the buffer is full, which paces the producers.
type batcher[T any] struct {
	in   chan T
	done chan struct{}
	size func(T) int // nil: only batchMax bounds a group
}

func newBatcher[T any](flush func([]T)) *batcher[T] {
	return newSizedBatcher(flush, nil)
}

// newSizedBatcher is newBatcher whose groups also end at batchBytes, as
// measured by size.
func newSizedBatcher[T any](flush func([]T), size func(T) int) *batcher[T] {
	b := &batcher[T]{in: make(chan T, batchMax), done: make(chan struct{}), size: size}
	go b.loop(flush)
	return b
}

func (b *batcher[T]) loop(flush func([]T)) {
	defer close(b.done)
	var (
		buf   []T
		bytes int
		timer *time.Timer
		fire  <-chan time.Time
	)
	send := func() {
		if timer != nil {
			timer.Stop()
			timer, fire = nil, nil
		}
		if len(buf) > 0 {
			flush(buf)
			buf, bytes = nil, 0
		}
	}
	for {
		select {
		case v, ok := <-b.in:
			if !ok {
				send()
				return
			}
			buf = append(buf, v)
			if b.size != nil {
				bytes += b.size(v)
			}
			if len(buf) >= batchMax || bytes >= batchBytes {
				send()
			} else if timer == nil {
				timer = time.NewTimer(batchDelay)
				fire = timer.C
			}
		case <-fire:
			timer, fire = nil, nil
			send()
		}
	}
}

// add queues v. It must not be called after close.
func (b *batcher[T]) add(v T) { b.in <- v }

// close flushes what is left and waits for it.
func (b *batcher[T]) close() {
	close(b.in)
	<-b.done
}
