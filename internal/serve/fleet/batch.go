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
	// so 200 runs of 1 MiB output each would hold 200 MiB at once. It also
	// bounds the bytes waiting for the next commit: add waits for room.
	batchBytes = 4 << 20
)

// batcher collects values and hands them to flush in groups: when batchMax
// are waiting, batchDelay after the first of a group arrived, or at close.
// flush runs on the batcher's goroutine, one call at a time; while it runs,
// add blocks once the buffer is full, which paces the producers.
type batcher[T any] struct {
	in   chan sized[T]
	done chan struct{}
	size func(T) int // nil: only batchMax bounds a group
	room *budget     // of batchBytes, for the values not yet flushed; nil without size
}

// sized is a value with the bytes it took from the batcher's room.
type sized[T any] struct {
	v    T
	took int64
}

func newBatcher[T any](flush func([]T)) *batcher[T] {
	return newSizedBatcher(flush, nil)
}

// newSizedBatcher is newBatcher whose groups also end at batchBytes, as
// measured by size, and whose add waits while the values not yet flushed
// hold batchBytes (a value larger than that waits until it is alone).
func newSizedBatcher[T any](flush func([]T), size func(T) int) *batcher[T] {
	b := &batcher[T]{in: make(chan sized[T], batchMax), done: make(chan struct{}), size: size}
	if size != nil {
		b.room = newBudget(batchBytes)
	}
	go b.loop(flush)
	return b
}

func (b *batcher[T]) loop(flush func([]T)) {
	defer close(b.done)
	var (
		buf   []T
		bytes int64
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
			if b.room != nil {
				b.room.release(bytes)
			}
			buf, bytes = nil, 0
		}
	}
	for {
		select {
		case e, ok := <-b.in:
			if !ok {
				send()
				return
			}
			buf = append(buf, e.v)
			bytes += e.took
			if len(buf) >= batchMax || (b.room != nil && bytes >= batchBytes) {
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

// add queues v, waiting for room first if the batcher has a size. It must
// not be called after close.
func (b *batcher[T]) add(v T) {
	e := sized[T]{v: v}
	if b.room != nil {
		e.took = b.room.acquire(int64(b.size(v)), 0)
	}
	b.in <- e
}

// close flushes what is left and waits for it.
func (b *batcher[T]) close() {
	close(b.in)
	<-b.done
}
