package fleet

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// Kinds of RunUpdate. They double as the event names of a server-sent
// events stream.
const (
	// UpdateState: the run changed state (it started running).
	UpdateState = "state"
	// UpdateOutput: more output arrived. Run.Stdout and Run.Stderr hold the
	// whole output so far (capped) as it is when the update is delivered,
	// so a slow reader that missed some updates loses nothing but
	// intermediate steps; since the cap keeps the beginning, each output
	// only ever extends the previous one.
	UpdateOutput = "output"
	// UpdateResult: the run ended and Run is its stored record. It is the
	// last update of that run, and it is never dropped.
	UpdateResult = "result"
)

// RunUpdate is one change of a live run.
type RunUpdate struct {
	Kind string     // UpdateState, UpdateOutput or UpdateResult
	Run  domain.Run // the run after the change
}

// Subscription follows one run or one batch of runs as they happen.
type Subscription struct {
	// C delivers the updates in order. It is closed once the result of every
	// run followed has been delivered, or after Close. A reader that falls
	// behind never slows the runs: while it lags, the output updates waiting
	// for it collapse into the latest one per run; state changes and results
	// are all kept.
	C <-chan RunUpdate

	sub *subscriber
}

// Close stops the subscription. It is safe to call more than once, and
// must be called if the reader stops before C is closed.
func (s *Subscription) Close() { s.sub.close() }

// activeRun is a run that is pending or running in this process.
type activeRun struct {
	run    domain.Run // current state; guarded by broker.mu until done is closed
	cancel context.CancelCauseFunc
	ctx    context.Context
	// result is the client's answer, if one came; kept for the sync action
	// API, which reports a client's ExecError apart from connection errors.
	result *wire.ScriptResult
	// held is the result's share of the frame budget, given back once the
	// final record is stored.
	held int64
	// live is the bytes of output kept from the client's updates, counted
	// in broker.live until the run ends; lagged is set once an update did
	// not fit in that budget. Both are guarded by broker.mu.
	live   int64
	lagged bool
	// ending is set once the run's final state is made, while it waits to
	// be stored; run keeps the state before until finish. Guarded by
	// broker.mu.
	ending bool
	done   chan struct{} // closed once the final record is stored
	// claimed is set by whoever ends up finishing the run: the worker that
	// picks it up, or Cancel for a run still waiting for a worker.
	claimed atomic.Bool
}

// queuedOutputMax is the most output, in bytes, that a result update
// waiting in a subscriber's queue keeps: a larger one is read back from the
// store when it goes out, so that a reader that lags behind a batch of
// large outputs does not hold them all in memory.
const queuedOutputMax = 64 << 10

// liveOutputMax is the most output, in bytes, that the runs in flight keep
// in memory between their start and their result. Protocol 2 sends a run's
// whole output so far every 50 ms, and 64 runs printing a megabyte each
// would keep 64 MiB; past this budget a run keeps the output it has and
// takes the rest from its result, which carries the whole output anyway.
// Only the live view lags: subscribers get the rest with the result.
const liveOutputMax = 16 << 20

// broker keeps the live runs and fans their changes out to subscribers.
type broker struct {
	// load reads a stored run, for result updates queued without their
	// output; nil keeps every output in the queue.
	load func(id string) (domain.Run, error)

	liveMax int64 // liveOutputMax, or less in tests

	mu        sync.Mutex
	live      int64 // bytes of output the active runs keep (activeRun.live)
	active    map[string]*activeRun
	batches   map[string]map[string]*activeRun
	runSubs   map[string]map[*subscriber]struct{}
	batchSubs map[string]map[*subscriber]struct{}
}

func newBroker(load func(id string) (domain.Run, error)) *broker {
	return &broker{
		load:      load,
		liveMax:   liveOutputMax,
		active:    make(map[string]*activeRun),
		batches:   make(map[string]map[string]*activeRun),
		runSubs:   make(map[string]map[*subscriber]struct{}),
		batchSubs: make(map[string]map[*subscriber]struct{}),
	}
}

// add registers freshly created runs as active.
func (b *broker) add(runs []*activeRun) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ar := range runs {
		b.active[ar.run.ID] = ar
		m := b.batches[ar.run.BatchID]
		if m == nil {
			m = make(map[string]*activeRun)
			b.batches[ar.run.BatchID] = m
		}
		m[ar.run.ID] = ar
	}
}

// get returns the active run id.
func (b *broker) get(id string) *activeRun {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active[id]
}

// snapshot returns the current state of an active run.
func (b *broker) snapshot(ar *activeRun) domain.Run {
	b.mu.Lock()
	defer b.mu.Unlock()
	return ar.run
}

// current returns active run id as it is now.
func (b *broker) current(id string) (domain.Run, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ar := b.active[id]
	if ar == nil {
		return domain.Run{}, false
	}
	return ar.run, true
}

// output sets the output so far of a running run, each stream capped at
// limit bytes, and tells subscribers; it keeps the run's older output
// instead if the new one would take the output of all active runs past
// liveMax.
func (b *broker) output(ar *activeRun, stdout, stderr string, limit int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := ar.run
	if !setOutput(&r, stdout, stderr, limit) {
		return
	}
	n := int64(len(r.Stdout) + len(r.Stderr))
	if b.live-ar.live+n > b.liveMax {
		ar.lagged = true
		return
	}
	b.live += n - ar.live
	ar.live, ar.run = n, r
	b.publish(RunUpdate{Kind: UpdateOutput, Run: ar.run})
}

// update changes an active run with fn and tells subscribers; fn reports
// whether anything changed.
func (b *broker) update(ar *activeRun, kind string, fn func(r *domain.Run) bool) domain.Run {
	b.mu.Lock()
	defer b.mu.Unlock()
	if fn(&ar.run) {
		b.publish(RunUpdate{Kind: kind, Run: ar.run})
	}
	return ar.run
}

// end returns the final state of an active run, made by fn from its
// current state, and marks the run as ending. The run itself stays as it
// was until finish publishes the final state once it is stored, so that a
// subscriber that comes in between is handed the run as not ended, and
// gets its result once.
func (b *broker) end(ar *activeRun, fn func(r *domain.Run)) domain.Run {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := ar.run
	fn(&r)
	ar.ending = true
	return r
}

// ended reports whether the final state of an active run is made (see end).
func (b *broker) ended(ar *activeRun) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return ar.ending
}

// finish records the final state of a run, whose record is now stored
// (or could not be: stored false), tells subscribers, and forgets the run.
func (b *broker) finish(ar *activeRun, final domain.Run, stored bool) {
	b.mu.Lock()
	ar.run = final
	b.live -= ar.live
	ar.live = 0
	b.publishResult(RunUpdate{Kind: UpdateResult, Run: final}, stored && b.load != nil)
	delete(b.active, final.ID)
	if m := b.batches[final.BatchID]; m != nil {
		delete(m, final.ID)
		if len(m) == 0 {
			delete(b.batches, final.BatchID)
		}
	}
	b.mu.Unlock()
	close(ar.done)
}

// publish hands u to the subscribers of its run and of its batch; b.mu is
// held.
func (b *broker) publish(u RunUpdate) { b.publishResult(u, false) }

// publishResult is publish; stored says that u is a result whose record
// the store has, so that a queue may leave its output out until it goes
// out.
func (b *broker) publishResult(u RunUpdate, stored bool) {
	for s := range b.runSubs[u.Run.ID] {
		s.push(u, stored)
	}
	for s := range b.batchSubs[u.Run.BatchID] {
		s.push(u, stored)
	}
	if u.Kind == UpdateResult {
		delete(b.runSubs, u.Run.ID)
	}
}

// subscribe follows run id if it is active; it returns the run's current
// state and the subscription, or ok false when the run is not active.
func (b *broker) subscribe(id string) (domain.Run, *Subscription, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ar := b.active[id]
	if ar == nil {
		return domain.Run{}, nil, false
	}
	s := newSubscriber(b, 1)
	s.runID = id
	if b.runSubs[id] == nil {
		b.runSubs[id] = make(map[*subscriber]struct{})
	}
	b.runSubs[id][s] = struct{}{}
	return ar.run, &Subscription{C: s.out, sub: s}, true
}

// subscribeBatch follows the active runs of batch id and returns their
// current states (possibly none).
func (b *broker) subscribeBatch(id string) ([]domain.Run, *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var runs []domain.Run
	for _, ar := range b.batches[id] {
		runs = append(runs, ar.run)
	}
	s := newSubscriber(b, len(runs))
	s.batchID = id
	if len(runs) > 0 {
		if b.batchSubs[id] == nil {
			b.batchSubs[id] = make(map[*subscriber]struct{})
		}
		b.batchSubs[id][s] = struct{}{}
	}
	return runs, &Subscription{C: s.out, sub: s}
}

// unsubscribe removes s; b.mu is not held.
func (b *broker) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.runSubs[s.runID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.runSubs, s.runID)
		}
	}
	if m := b.batchSubs[s.batchID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.batchSubs, s.batchID)
		}
	}
}

// subscriber queues updates for one reader and feeds them to its channel
// from a goroutine of its own, so that publishing never blocks.
type subscriber struct {
	b       *broker
	runID   string
	batchID string

	mu        sync.Mutex
	queue     []*queued
	outputs   map[string]*queued // the queued output update of each run
	remaining int                // runs whose result is still to come
	wake      chan struct{}      // buffered 1: "queue changed"
	quit      chan struct{}
	closeOnce sync.Once

	out chan RunUpdate
}

func newSubscriber(b *broker, runs int) *subscriber {
	s := &subscriber{
		b:         b,
		outputs:   make(map[string]*queued),
		remaining: runs,
		wake:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
		out:       make(chan RunUpdate),
	}
	go s.pump()
	return s
}

// queued is an update waiting in a subscriber's queue. Its run may be
// without its output, to be filled in when it goes out.
type queued struct {
	RunUpdate
	reload bool // a result whose output is to be read from the store
}

// push queues u. An output update replaces the one of the same run still
// in the queue: each carries the whole output so far. A queued output
// update holds no output: pump takes the run's output as it is when the
// update goes out, so that a lagging reader keeps no old snapshots alive.
// Nor does a queued result with more than queuedOutputMax bytes of output
// if it is stored: pump reads the output back.
func (s *subscriber) push(u RunUpdate, stored bool) {
	q := &queued{RunUpdate: u}
	switch {
	case u.Kind == UpdateOutput:
		q.Run.Stdout, q.Run.Stderr = "", ""
	case u.Kind == UpdateResult && stored && len(u.Run.Stdout)+len(u.Run.Stderr) > queuedOutputMax:
		q.Run.Stdout, q.Run.Stderr = "", ""
		q.reload = true
	}
	s.mu.Lock()
	if u.Kind == UpdateOutput {
		if prev := s.outputs[u.Run.ID]; prev != nil {
			*prev = *q
			s.mu.Unlock()
			return
		}
		s.outputs[u.Run.ID] = q
	}
	s.queue = append(s.queue, q)
	if u.Kind == UpdateResult {
		s.remaining--
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump delivers the queue to out until every result went out or the
// subscription is closed.
func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			done := s.remaining <= 0
			s.mu.Unlock()
			if done {
				s.b.unsubscribe(s)
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.quit:
				return
			}
		}
		q := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if s.outputs[q.Run.ID] == q {
			delete(s.outputs, q.Run.ID)
		}
		u := q.RunUpdate
		s.mu.Unlock()
		switch {
		case u.Kind == UpdateOutput:
			var ok bool
			if u.Run, ok = s.b.current(u.Run.ID); !ok {
				continue // ended: its result, queued after, has the output
			}
		case q.reload:
			// The result was stored before it was published. Should the
			// run be gone or changed since (deleted, pruned), its output
			// is gone from the server, and the result goes out without.
			if r, err := s.b.load(u.Run.ID); err == nil && r.State == u.Run.State && r.Finished.Equal(u.Run.Finished) {
				u.Run.Stdout, u.Run.Stderr, u.Run.Truncated = r.Stdout, r.Stderr, r.Truncated
			}
		}
		select {
		case s.out <- u:
		case <-s.quit:
			return
		}
	}
}

func (s *subscriber) close() {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.b.unsubscribe(s)
	})
}
