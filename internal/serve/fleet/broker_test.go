package fleet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// TestBroker_SlowSubscriber: a reader that does not read never blocks the
// run; when it reads at last, it gets the latest output and the result,
// not the hundreds of steps in between.
func TestBroker_SlowSubscriber(t *testing.T) {
	b := newBroker()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ar := &activeRun{run: domain.Run{ID: 1, BatchID: "b", State: domain.RunPending}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	b.add([]*activeRun{ar})
	_, sub, ok := b.subscribe(1)
	if !ok {
		t.Fatal("subscribe to an active run failed")
	}
	_, batchSub := b.subscribeBatch("b")
	defer sub.Close()
	defer batchSub.Close()

	published := make(chan struct{})
	go func() {
		defer close(published)
		b.update(ar, UpdateState, func(r *domain.Run) bool { r.State = domain.RunRunning; return true })
		out := ""
		for i := range 500 {
			out += fmt.Sprintf("line %d\n", i)
			b.update(ar, UpdateOutput, func(r *domain.Run) bool { r.Stdout = out; return true })
		}
		final := ar.run
		final.State = domain.RunDone
		b.finish(ar, final)
	}()
	select {
	case <-published:
	case <-time.After(5 * time.Second):
		t.Fatal("publishing blocked on subscribers that do not read")
	}
	for _, s := range []*Subscription{sub, batchSub} {
		var got []RunUpdate
		for u := range s.C {
			got = append(got, u)
		}
		if len(got) != 3 || got[0].Kind != UpdateState || got[1].Kind != UpdateOutput || got[2].Kind != UpdateResult {
			t.Fatalf("updates = %d (%v...), want state, one output, result", len(got), got[0].Kind)
		}
		if !strings.HasSuffix(got[1].Run.Stdout, "line 499\n") || got[2].Run.State != domain.RunDone {
			t.Errorf("latest output ends %q, result state %s", got[1].Run.Stdout[len(got[1].Run.Stdout)-10:], got[2].Run.State)
		}
	}
	if len(b.active) != 0 || len(b.batches) != 0 || len(b.runSubs) != 0 || len(b.batchSubs) != 0 {
		t.Errorf("broker keeps state after the end: %d %d %d %d", len(b.active), len(b.batches), len(b.runSubs), len(b.batchSubs))
	}
}

// TestBroker_CloseEarly: a reader that leaves is forgotten.
func TestBroker_CloseEarly(t *testing.T) {
	b := newBroker()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ar := &activeRun{run: domain.Run{ID: 7, BatchID: "x"}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	b.add([]*activeRun{ar})
	_, sub, _ := b.subscribe(7)
	sub.Close()
	sub.Close()
	for range sub.C {
	}
	b.mu.Lock()
	n := len(b.runSubs)
	b.mu.Unlock()
	if n != 0 {
		t.Errorf("%d run subscriptions left after Close", n)
	}
	b.finish(ar, ar.run)
}

func TestSubscribeBatch_Unknown(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.svc.SubscribeBatch(e.ctx, "nope"); err == nil {
		t.Error("SubscribeBatch of an unknown batch succeeded")
	}
	if _, _, err := e.svc.Subscribe(e.ctx, 404); err == nil {
		t.Error("Subscribe to an unknown run succeeded")
	}
}
