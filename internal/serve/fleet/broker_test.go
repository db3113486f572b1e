package fleet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// TestBroker_SlowSubscriber: a reader that does not read never blocks the
// run; when it reads at last, it gets the latest output and the result,
// not the hundreds of steps in between, and its queue kept no snapshot.
func TestBroker_SlowSubscriber(t *testing.T) {
	b := newBroker(nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ar := &activeRun{run: domain.Run{ID: "1", BatchID: "b", State: domain.RunPending}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	b.add([]*activeRun{ar})
	_, sub, ok := b.subscribe("1")
	if !ok {
		t.Fatal("subscribe to an active run failed")
	}
	_, batchSub := b.subscribeBatch("b")
	defer sub.Close()
	defer batchSub.Close()

	publish := func(f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("publishing blocked on subscribers that do not read")
		}
	}
	publish(func() {
		b.update(ar, UpdateState, func(r *domain.Run) bool { r.State = domain.RunRunning; return true })
		out := ""
		for i := range 500 {
			out += fmt.Sprintf("line %d\n", i)
			b.update(ar, UpdateOutput, func(r *domain.Run) bool { r.Stdout = out; return true })
		}
	})
	for _, s := range []*subscriber{sub.sub, batchSub.sub} {
		s.mu.Lock()
		for _, q := range s.queue {
			if q.Run.Stdout != "" {
				t.Errorf("a queued %s update holds %d bytes of output", q.Kind, len(q.Run.Stdout))
			}
		}
		s.mu.Unlock()
	}
	for _, s := range []*Subscription{sub, batchSub} {
		if u := <-s.C; u.Kind != UpdateState {
			t.Fatalf("first update %s, want state", u.Kind)
		}
		if u := <-s.C; u.Kind != UpdateOutput || !strings.HasSuffix(u.Run.Stdout, "line 499\n") {
			t.Fatalf("second update %s with %d bytes, want the latest output", u.Kind, len(u.Run.Stdout))
		}
	}
	publish(func() {
		b.update(ar, UpdateOutput, func(r *domain.Run) bool { r.Stdout += "last\n"; return true })
		final := ar.run
		final.State = domain.RunDone
		b.finish(ar, final, true)
	})
	for _, s := range []*Subscription{sub, batchSub} {
		var got []RunUpdate
		for u := range s.C {
			got = append(got, u)
		}
		// The output update queued before the result may go out (if the
		// reader took it before the run ended) or not: the result carries
		// the whole output.
		if len(got) == 2 && got[0].Kind == UpdateOutput && strings.HasSuffix(got[0].Run.Stdout, "last\n") {
			got = got[1:]
		}
		if len(got) != 1 || got[0].Kind != UpdateResult || got[0].Run.State != domain.RunDone ||
			!strings.HasSuffix(got[0].Run.Stdout, "last\n") {
			t.Fatalf("updates after the end = %d, want the result with the whole output", len(got))
		}
	}
	if len(b.active) != 0 || len(b.batches) != 0 || len(b.runSubs) != 0 || len(b.batchSubs) != 0 {
		t.Errorf("broker keeps state after the end: %d %d %d %d", len(b.active), len(b.batches), len(b.runSubs), len(b.batchSubs))
	}
}

// TestBroker_QueuedResultReadBack: a result with a large output waits in a
// lagging reader's queue without it, and goes out with the stored record.
func TestBroker_QueuedResultReadBack(t *testing.T) {
	big := strings.Repeat("x", queuedOutputMax+1)
	stored := domain.Run{ID: "3", BatchID: "q", State: domain.RunDone, Stdout: big}
	b := newBroker(func(id string) (domain.Run, error) {
		if id != stored.ID {
			t.Errorf("load(%s), want %s", id, stored.ID)
		}
		return stored, nil
	})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ar := &activeRun{run: domain.Run{ID: "3", BatchID: "q", State: domain.RunRunning}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	b.add([]*activeRun{ar})
	_, sub := b.subscribeBatch("q")
	defer sub.Close()
	b.finish(ar, stored, true)
	sub.sub.mu.Lock()
	for _, q := range sub.sub.queue {
		if q.Run.Stdout != "" {
			t.Errorf("the queued result holds %d bytes of output", len(q.Run.Stdout))
		}
	}
	sub.sub.mu.Unlock()
	u, ok := <-sub.C
	if !ok || u.Kind != UpdateResult || u.Run.Stdout != big {
		t.Fatalf("got %s with %d bytes of output, want the result with %d", u.Kind, len(u.Run.Stdout), len(big))
	}
}

// TestBroker_LiveOutputBudget: past the budget a run keeps its older
// output; once a run ends, its share is free for the others.
func TestBroker_LiveOutputBudget(t *testing.T) {
	b := newBroker(nil)
	b.liveMax = 100
	runs := make([]*activeRun, 2)
	for i := range runs {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		runs[i] = &activeRun{run: domain.Run{ID: strconv.Itoa(i + 1), BatchID: "l", State: domain.RunRunning}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	}
	b.add(runs)
	first, second := runs[0], runs[1]
	b.output(first, strings.Repeat("a", 60), "", 0)
	b.output(second, strings.Repeat("b", 30), "", 0)
	b.output(second, strings.Repeat("b", 50), "", 0) // 60 + 50 > 100: kept at 30
	if got := len(b.snapshot(second).Stdout); got != 30 {
		t.Errorf("second run keeps %d bytes, want its older 30", got)
	}
	b.output(first, strings.Repeat("a", 65), "err", 0) // 68 + 30 fits
	if got := b.snapshot(first); len(got.Stdout) != 65 || got.Stderr != "err" {
		t.Errorf("first run keeps %d+%d bytes, want 65+3", len(got.Stdout), len(got.Stderr))
	}
	if b.live != 98 {
		t.Errorf("live = %d, want 98", b.live)
	}
	b.finish(first, b.snapshot(first), true)
	b.output(second, strings.Repeat("b", 90), "", 0)
	if got := len(b.snapshot(second).Stdout); got != 90 {
		t.Errorf("after the first run ended, the second keeps %d bytes, want 90", got)
	}
	b.finish(second, b.snapshot(second), true)
	if b.live != 0 {
		t.Errorf("live = %d after every run ended, want 0", b.live)
	}
}

// TestBroker_CloseEarly: a reader that leaves is forgotten.
func TestBroker_CloseEarly(t *testing.T) {
	b := newBroker(nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ar := &activeRun{run: domain.Run{ID: "7", BatchID: "x"}, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	b.add([]*activeRun{ar})
	_, sub, _ := b.subscribe("7")
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
	b.finish(ar, ar.run, true)
}

func TestSubscribeBatch_Unknown(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.svc.SubscribeBatch(e.ctx, "nope"); err == nil {
		t.Error("SubscribeBatch of an unknown batch succeeded")
	}
	if _, _, err := e.svc.Subscribe(e.ctx, "404"); err == nil {
		t.Error("Subscribe to an unknown run succeeded")
	}
}
