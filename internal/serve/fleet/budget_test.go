package fleet

import (
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	b := newBudget(100)
	acquired := func(n int64, wait time.Duration) (func(), <-chan struct{}) {
		done := make(chan struct{})
		var took int64
		go func() {
			defer close(done)
			took = b.acquire(n, wait)
		}()
		return func() { <-done; b.release(took) }, done
	}
	isDone := func(c <-chan struct{}, within time.Duration) bool {
		select {
		case <-c:
			return true
		case <-time.After(within):
			return false
		}
	}

	relA, a := acquired(60, time.Hour)
	if !isDone(a, time.Second) {
		t.Fatal("60 of an empty budget of 100 waited")
	}
	relB, bDone := acquired(30, time.Hour)
	if !isDone(bDone, time.Second) {
		t.Fatal("30 more (90 of 100) waited")
	}
	relC, c := acquired(20, time.Hour)
	if isDone(c, 50*time.Millisecond) {
		t.Fatal("20 more (110 of 100) did not wait")
	}
	relA()
	if !isDone(c, time.Second) {
		t.Fatal("a release did not wake the waiter")
	}
	relB()
	relC()

	// A request larger than the budget takes all of it, once it is free.
	relBig, big := acquired(1000, time.Hour)
	if !isDone(big, time.Second) {
		t.Fatal("an oversized request on an empty budget waited")
	}
	relSmall, small := acquired(1, 30*time.Millisecond)
	start := time.Now()
	if !isDone(small, 5*time.Second) {
		t.Fatal("the wait did not end: the budget is a soft one")
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("a request over the budget went through after %v, want the full wait", waited)
	}
	relBig()
	relSmall()
	if b.used != 0 {
		t.Errorf("used = %d after every release, want 0", b.used)
	}
}

// TestSizedBatcher_WaitsForRoom: values not yet stored hold at most
// batchBytes; the producer of one more waits for the flush.
func TestSizedBatcher_WaitsForRoom(t *testing.T) {
	flushing := make(chan []int)
	proceed := make(chan struct{})
	b := newSizedBatcher(func(vs []int) {
		flushing <- vs
		<-proceed
	}, func(v int) int { return v })

	half := batchBytes / 2
	b.add(half) // alone; flushed after batchDelay
	if got := <-flushing; len(got) != 1 {
		t.Fatalf("flushed %v, want the first value alone", got)
	}
	b.add(half) // the first is still being flushed: room for one more half
	added := make(chan struct{})
	go func() {
		defer close(added)
		b.add(half)
	}()
	select {
	case <-added:
		t.Fatal("add went through while the values not yet stored held batchBytes")
	case <-time.After(3 * batchDelay):
	}
	proceed <- struct{}{} // the first flush ends and gives its room back
	select {
	case <-added:
	case <-time.After(5 * time.Second):
		t.Fatal("add still waits after the flush")
	}
	go func() {
		for range flushing {
			proceed <- struct{}{}
		}
	}()
	b.close()
	close(flushing)
}
