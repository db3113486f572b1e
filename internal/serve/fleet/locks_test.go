package fleet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestHostLocks(t *testing.T) {
	var l hostLocks
	ctx := context.Background()

	r1, _ := l.rlock(ctx, "1")
	r2, _ := l.rlock(ctx, "1")
	if _, ok := l.tryLock("1"); ok {
		t.Fatal("tryLock succeeded while readers hold the lock")
	}
	if unlock, ok := l.tryLock("2"); !ok {
		t.Fatal("tryLock of another host failed")
	} else {
		unlock()
	}

	var locked atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		unlock, err := l.lock(ctx, "1")
		if err != nil {
			t.Error(err)
			return
		}
		locked.Store(true)
		unlock()
	}()
	time.Sleep(20 * time.Millisecond)
	// A waiting writer does not hold up new readers.
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	r3, err := l.rlock(tctx, "1")
	cancel()
	if err != nil {
		t.Fatalf("rlock while a writer waits: %v", err)
	}
	r1()
	r2()
	if locked.Load() {
		t.Fatal("writer got the lock while a reader held it")
	}
	r3()
	<-done
	if !locked.Load() {
		t.Fatal("writer never got the lock")
	}

	w, _ := l.lock(ctx, "1")
	tctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.rlock(tctx, "1"); err == nil {
		t.Fatal("rlock succeeded under a writer")
	}
	w()
	l.mu.Lock()
	n := len(l.locks)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("%d lock entries left after every holder and waiter left", n)
	}
}
