package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// RunRequest asks for a script to run on hosts.
type RunRequest struct {
	ScriptID string
	// HostIDs and the members of GroupIDs are the targets; a host named
	// twice runs once, and disabled hosts are skipped.
	HostIDs  []string
	GroupIDs []string
	// StartedBy is who asked: a username, "schedule:<id>" or "register".
	StartedBy  string
	ScheduleID string
}

// Why a run ended without the client's result.
var (
	errUserCanceled  = errors.New("canceled by a user")
	errServerStopped = errors.New("server stopped during the run")
)

// afterActionWait bounds how long an after-run update_psk waits for the
// other runs on its host to end.
const afterActionWait = 30 * time.Second

// attachmentBudget bounds the attachment bytes of the runs being sent at
// once: each connection seals its own copy of the files (one frame per
// PSK), so a large attachment lowers a batch's parallelism.
const attachmentBudget = 256 << 20

// runJob is one host's run of a batch.
type runJob struct {
	ar     *activeRun
	hostID string
}

// batchPlan is what every run of a batch shares.
type batchPlan struct {
	opts        domain.Options
	script      domain.Script
	groups      map[string]domain.Group
	attachments []domain.Attachment
	jobs        []runJob
}

// runRecord is a run's state on its way to the store. done, if set, is
// called once it is stored (stored true) or given up on.
type runRecord struct {
	run  domain.Run
	done func(stored bool)
}

// StartRuns creates one run per target host, all sharing a new batch ID,
// stores them as pending in one transaction, and returns them at once; the
// runs then go on in the background through a pool of
// Options.Network.MaxParallel workers. Follow them with Subscribe,
// SubscribeBatch or Wait. A disabled script is refused with
// ErrScriptDisabled; a request that reaches no enabled host with
// ErrNoTargets; unknown IDs with an error matching domain.ErrNotFound.
func (s *Service) StartRuns(ctx context.Context, req RunRequest) ([]domain.Run, error) {
	// Take the background slot first, so that Close waits for this batch
	// (and keeps the results batch open for it) once the runs exist.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.runs.Add(1)
	s.mu.Unlock()
	started := false
	defer func() {
		if !started {
			s.runs.Done()
		}
	}()

	var plan batchPlan
	var hosts []domain.Host
	err := s.store.View(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		plan.opts = withDefaults(o)
		if plan.script, err = tx.Script(req.ScriptID); err != nil {
			return fmt.Errorf("fleet: script %s: %w", req.ScriptID, err)
		}
		if !plan.script.Enabled {
			return fmt.Errorf("%w: %q", ErrScriptDisabled, plan.script.Name)
		}
		for _, id := range plan.script.AttachmentIDs {
			a, err := tx.Attachment(id)
			if err != nil {
				return fmt.Errorf("fleet: attachment %s of script %q: %w", id, plan.script.Name, err)
			}
			plan.attachments = append(plan.attachments, a)
		}
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		plan.groups = make(map[string]domain.Group, len(groups))
		for _, g := range groups {
			plan.groups[g.ID] = g
		}
		hosts, err = resolveTargets(tx, req, plan.groups)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, ErrNoTargets
	}

	batchID := newBatchID()
	now := s.now()
	runs := make([]domain.Run, len(hosts))
	for i, h := range hosts {
		runs[i] = domain.Run{
			BatchID:    batchID,
			ScriptID:   plan.script.ID,
			ScriptName: plan.script.Name,
			HostID:     h.ID,
			HostName:   h.Name,
			StartedBy:  req.StartedBy,
			ScheduleID: req.ScheduleID,
			State:      domain.RunPending,
			Started:    now,
		}
	}
	err = s.store.Update(ctx, func(tx domain.Tx) error {
		for i := range runs {
			if err := tx.PutRun(&runs[i]); err != nil {
				return err
			}
		}
		return tx.AppendEvent(&domain.Event{Time: now, Type: domain.EventScriptRun, User: req.StartedBy,
			Details: map[string]string{"ScriptID": plan.script.ID, "ScriptName": plan.script.Name,
				"BatchID": batchID, "Hosts": strconv.Itoa(len(runs))}})
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: storing runs: %w", err)
	}

	ars := make([]*activeRun, len(runs))
	for i, r := range runs {
		ctx, cancel := context.WithCancelCause(s.base)
		ars[i] = &activeRun{run: r, ctx: ctx, cancel: cancel, done: make(chan struct{})}
		plan.jobs = append(plan.jobs, runJob{ar: ars[i], hostID: r.HostID})
	}
	s.broker.add(ars)
	s.log.Info("runs started", "batch", batchID, "script", plan.script.Name, "hosts", len(runs), "started_by", req.StartedBy)
	started = true
	go func() {
		defer s.runs.Done()
		s.runBatch(plan)
	}()
	return runs, nil
}

// resolveTargets returns the enabled hosts of req, each once, in ID order.
func resolveTargets(tx domain.Tx, req RunRequest, groups map[string]domain.Group) ([]domain.Host, error) {
	for _, id := range req.GroupIDs {
		if _, ok := groups[id]; !ok {
			return nil, fmt.Errorf("fleet: group %s: %w", id, domain.ErrNotFound)
		}
	}
	want := make(map[string]bool)
	for _, id := range req.HostIDs {
		if _, err := tx.Host(id); err != nil {
			return nil, fmt.Errorf("fleet: host %s: %w", id, err)
		}
		want[id] = true
	}
	var all []domain.Host
	if len(req.GroupIDs) > 0 {
		var err error
		if all, err = tx.Hosts(); err != nil {
			return nil, err
		}
	} else {
		for id := range want {
			h, _ := tx.Host(id)
			all = append(all, h)
		}
		slices.SortFunc(all, func(a, b domain.Host) int { return domain.CompareIDs(a.ID, b.ID) })
	}
	var out []domain.Host
	for _, h := range all {
		if !h.Enabled {
			continue
		}
		if want[h.ID] || slices.ContainsFunc(req.GroupIDs, func(g string) bool { return slices.Contains(h.GroupIDs, g) }) {
			out = append(out, h)
		}
	}
	return out, nil
}

func newBatchID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// runBatch runs the jobs of one batch through the pool.
func (s *Service) runBatch(plan batchPlan) {
	files, size, err := s.loadAttachments(plan.attachments)
	if err != nil {
		s.log.Error("loading attachments failed", "script", plan.script.Name, "err", err)
		for _, j := range plan.jobs {
			s.finish(j.ar, plan.opts, nil, err)
		}
		return
	}
	parallel := plan.opts.Network.MaxParallel
	if size > 0 {
		parallel = max(1, min(parallel, int(attachmentBudget/size)))
	}
	d := s.dialer(plan.opts.Network)
	fanOut(s.base, parallel, plan.jobs, func(_ context.Context, j runJob) {
		s.runOne(d, plan, files, j)
	})
}

// loadAttachments reads the attachments' data once for the whole batch.
func (s *Service) loadAttachments(atts []domain.Attachment) ([]wire.File, int64, error) {
	var files []wire.File
	var size int64
	for _, a := range atts {
		r, err := s.store.OpenBlob(s.base, a.BlobKey)
		if err != nil {
			return nil, 0, fmt.Errorf("attachment %q: %w", a.Path, err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("attachment %q: %w", a.Path, err)
		}
		files = append(files, wire.File{
			Path:  a.Path,
			Owner: wire.RunAs(a.Owner),
			Mode:  modeToWire(a.Mode),
			Data:  data,
		})
		size += int64(len(data))
	}
	return files, size, nil
}

// modeToWire converts permission bits (0o4755) into the wire's decimal
// digits (4755).
func modeToWire(m uint32) uint32 {
	fm := os.FileMode(m & 0o777)
	for _, b := range []struct {
		octal uint32
		mode  os.FileMode
	}{{0o4000, os.ModeSetuid}, {0o2000, os.ModeSetgid}, {0o1000, os.ModeSticky}} {
		if m&b.octal != 0 {
			fm |= b.mode
		}
	}
	return wire.ModeToWire(fm)
}

// runOne runs one job and records its result.
func (s *Service) runOne(d Dialer, plan batchPlan, files []wire.File, j runJob) {
	ar := j.ar
	if !ar.claimed.CompareAndSwap(false, true) {
		return // canceled while pending, and finished by Cancel
	}
	ctx := ar.ctx
	if ctx.Err() != nil {
		s.finish(ar, plan.opts, nil, context.Cause(ctx))
		return
	}
	unlock, err := s.locks.rlock(ctx, j.hostID)
	if err != nil {
		s.finish(ar, plan.opts, nil, context.Cause(ctx))
		return
	}
	// Read the host under its lock: a rotation may have changed its key
	// since the batch was planned.
	var h domain.Host
	err = s.store.View(ctx, func(tx domain.Tx) error {
		var err error
		h, err = tx.Host(j.hostID)
		return err
	})
	if err != nil {
		unlock()
		s.finish(ar, plan.opts, nil, fmt.Errorf("host %s: %w", j.hostID, err))
		return
	}

	s.results.add(runRecord{run: s.broker.update(ar, UpdateState, func(r *domain.Run) bool {
		r.State, r.Started = domain.RunRunning, s.now()
		return true
	})})
	if h.PendingPSK != "" {
		// Settle the key with a heartbeat first: a run is not repeated
		// with the other key, since a client that closed without answering
		// might have been killed mid-script.
		if _, err := s.heartbeatWithKeys(ctx, d, &h); err != nil {
			unlock()
			s.finish(ar, plan.opts, nil, err)
			return
		}
	}
	script := s.wireScript(plan.opts, plan.script, plan.groups, h, files)
	outMax := plan.opts.Runs.OutputMaxBytes
	onOutput := func(stdout, stderr []byte) {
		s.broker.output(ar, unsafeString(stdout), unsafeString(stderr), outMax)
	}
	res, held, err := d.run(ctx, target(h, h.PSK), script, onOutput)
	ar.held = held
	unlock()
	if err != nil {
		s.finish(ar, plan.opts, nil, err)
		return
	}
	var afterErr error
	if res.ScriptResult.Success && res.ScriptResult.ExecError == "" && ctx.Err() == nil {
		afterErr = s.afterRun(d, plan.script.AfterExecution, h)
	}
	s.finishWith(ar, plan.opts, &res.ScriptResult, nil, afterErr)
}

// afterRun performs a script's after-run action on h.
func (s *Service) afterRun(d Dialer, action string, h domain.Host) error {
	ctx := s.base
	var wireAction uint32
	switch action {
	case domain.AfterNone:
		return nil
	case domain.AfterUpdatePSK:
		ctx, cancel := context.WithTimeout(ctx, afterActionWait)
		defer cancel()
		unlock, err := s.locks.lock(ctx, h.ID)
		if err != nil {
			return fmt.Errorf("after-run action %s skipped: other runs on the host did not end in time", action)
		}
		defer unlock()
		// Reread the host: its key may have settled meanwhile.
		if err := s.store.View(ctx, func(tx domain.Tx) error {
			var err error
			h, err = tx.Host(h.ID)
			return err
		}); err != nil {
			return fmt.Errorf("after-run action %s: %w", action, err)
		}
		if _, err := s.rotate(ctx, d, h); err != nil {
			return fmt.Errorf("after-run action %s: %s", action, Reason(err))
		}
		return nil
	case domain.AfterReboot:
		wireAction = wire.ActionReboot
	case domain.AfterShutdown:
		wireAction = wire.ActionShutdown
	case domain.AfterExitClient:
		wireAction = wire.ActionExit
	default:
		return fmt.Errorf("after-run action %q is unknown", action)
	}
	if err := s.trigger(ctx, d, h.ID, wire.MessageTriggerAction{Action: wireAction}); err != nil {
		return fmt.Errorf("after-run action %s: %s", action, Reason(err))
	}
	return nil
}

// trigger sends an action to host id under its shared lock, settling a
// pending PSK first, and fails if the client reports a failure in
// ExecError.
func (s *Service) trigger(ctx context.Context, d Dialer, id string, msg wire.MessageTriggerAction) error {
	unlock, err := s.locks.rlock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	var h domain.Host
	if err := s.store.View(ctx, func(tx domain.Tx) error {
		var err error
		h, err = tx.Host(id)
		return err
	}); err != nil {
		return err
	}
	if h.PendingPSK != "" {
		if _, err := s.heartbeatWithKeys(ctx, d, &h); err != nil {
			return err
		}
	}
	res, err := d.Trigger(ctx, target(h, h.PSK), msg)
	if err != nil {
		return err
	}
	// For an action that is not a script, success is a zero ScriptResult
	// (0.x clients never set Success for one) and a failure sets ExecError.
	if res.ScriptResult.ExecError != "" {
		return errors.New(res.ScriptResult.ExecError)
	}
	return nil
}

// setOutput stores the whole output so far into r, each stream capped at
// limit bytes, and reports whether it changed. An output is kept as it
// came, without a copy, unless the cap cut it: then the kept part is copied
// (once per change), so that the rest can be freed.
func setOutput(r *domain.Run, stdout, stderr string, limit int) bool {
	changed := false
	for _, o := range [2]struct {
		dst *string
		src string
	}{{&r.Stdout, stdout}, {&r.Stderr, stderr}} {
		n, cut := cutLen(o.src, limit)
		r.Truncated = r.Truncated || cut
		if n == len(*o.dst) {
			continue // output only grows; the same length means nothing new
		}
		*o.dst = o.src[:n]
		if cut {
			*o.dst = strings.Clone(*o.dst)
		}
		changed = true
	}
	return changed
}

// unsafeString is b as a string without a copy. Protocol 2 sends the whole
// output so far with every update, so a copy per update was a second
// megabyte per run in flight for a script printing one. It is safe here
// because b is a fresh slice from decoding one ActionOutput frame that
// nothing writes to afterwards.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// cutLen returns how much of s a cap of limit bytes keeps, cut back to a
// UTF-8 boundary, and whether that cuts s. The beginning is kept, not the
// end, so that live output only ever grows.
func cutLen(s string, limit int) (int, bool) {
	if limit <= 0 || len(s) <= limit {
		return len(s), false
	}
	n := limit
	for i := 0; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return n, true
}

// finish records the end of a run that got no result from the client.
func (s *Service) finish(ar *activeRun, opts domain.Options, res *wire.ScriptResult, err error) {
	s.finishWith(ar, opts, res, err, nil)
}

// finishWith records how a run ended: res is the client's result (nil if
// none came), err why none came, afterErr the failure of the after-run
// action. The record goes to the store through the results batch; Wait
// and subscribers see it once it is stored.
func (s *Service) finishWith(ar *activeRun, opts domain.Options, res *wire.ScriptResult, err, afterErr error) {
	now := s.now()
	cause := context.Cause(ar.ctx) // nil, errUserCanceled, or Close's context.Canceled
	if cause != nil && !errors.Is(cause, errUserCanceled) {
		cause = errServerStopped
	}
	final := s.broker.end(ar, func(r *domain.Run) {
		if r.State == domain.RunPending {
			r.Started = now
		}
		r.Finished = now
		r.Duration = now.Sub(r.Started)
		if res != nil {
			setOutput(r, res.Stdout, res.Stderr, opts.Runs.OutputMaxBytes)
			if res.Elapsed > 0 {
				r.Duration = res.Elapsed
			}
			r.State, r.ExitCode, r.Success, r.Error = domain.RunDone, res.Code, res.Success, res.ExecError
			if res.ExecError != "" {
				r.State, r.Success = domain.RunFailed, false
			}
		} else {
			r.State, r.Error = domain.RunFailed, Reason(err)
			if cause != nil && (errors.Is(err, context.Canceled) || errors.Is(err, cause)) {
				r.Error = cause.Error() // the cancellation says it better
			}
			if ar.lagged {
				// Later updates did not fit in the live output budget, and
				// no result brought them: say the output is not whole.
				r.Truncated = true
				r.Error = strings.TrimPrefix(fmt.Sprintf("%s; output past its first %d bytes was not kept (the runs in flight held the server's %d MiB of live output)",
					r.Error, len(r.Stdout)+len(r.Stderr), liveOutputMax>>20), "; ")
			}
		}
		switch {
		case errors.Is(cause, errUserCanceled):
			r.State, r.Success = domain.RunCanceled, false
		case errors.Is(cause, errServerStopped):
			r.State, r.Success = domain.RunFailed, false
		}
		if cause != nil && r.Error == "" {
			r.Error = cause.Error()
		}
		if afterErr != nil {
			if r.Error != "" {
				r.Error += "; "
			}
			r.Error += afterErr.Error()
		}
	}) // the result update is published by broker.finish
	ar.result = res
	ar.cancel(nil) // release the context's resources
	s.results.add(runRecord{run: final, done: func(stored bool) {
		s.broker.finish(ar, final, stored)
		s.frames.release(ar.held)
	}})
	level := slog.LevelInfo
	if final.State != domain.RunDone || !final.Success {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "run ended", "run", final.ID, "batch", final.BatchID,
		"script", final.ScriptName, "host", final.HostName, "state", final.State,
		"exit_code", final.ExitCode, "error", final.Error)
}

// flushRuns stores a batch of run records in one transaction, then tells
// those waiting for them.
func (s *Service) flushRuns(batch []runRecord) {
	put := func(recs []runRecord) func(tx domain.Tx) error {
		return func(tx domain.Tx) error {
			for i := range recs {
				r := recs[i].run
				if err := tx.PutRun(&r); err != nil && !errors.Is(err, domain.ErrNotFound) {
					return err
				}
			}
			return nil
		}
	}
	stored := make([]bool, len(batch))
	if err := s.retryUpdate(context.Background(), "runs", put(batch)); err == nil {
		for i := range stored {
			stored[i] = true
		}
	} else if len(batch) > 1 {
		// One record the store refuses must not take the others with it.
		for i := range batch {
			stored[i] = s.retryUpdate(context.Background(), "run", put(batch[i:i+1])) == nil
		}
	}
	for i, rec := range batch {
		if rec.done != nil {
			rec.done(stored[i])
		}
	}
}

// Cancel stops run id: a pending run does not start, a running one is
// sent CancelAction and ends as canceled with the output it had.
func (s *Service) Cancel(id string) error {
	ar := s.broker.get(id)
	if ar != nil && s.broker.ended(ar) {
		ar = nil // ended; its record is on its way to the store
	}
	if ar == nil {
		return fmt.Errorf("%w: run %s", ErrRunNotActive, id)
	}
	ar.cancel(errUserCanceled)
	// A run no worker has picked up yet may wait long for one: end it
	// now, holding a background slot so that Close waits for its record.
	s.mu.Lock()
	closing := s.closed
	if !closing {
		s.runs.Add(1)
	}
	s.mu.Unlock()
	if closing {
		return nil // Close ends every run
	}
	defer s.runs.Done()
	if ar.claimed.CompareAndSwap(false, true) {
		s.finish(ar, domain.Options{}, nil, errUserCanceled) // without a result the options play no part
	}
	return nil
}

// Live returns run id as it is now, with its output so far, if it is
// pending or running in this server; ok is false for any other run, whose
// stored record is the whole truth.
func (s *Service) Live(id string) (r domain.Run, ok bool) {
	ar := s.broker.get(id)
	if ar == nil {
		return domain.Run{}, false
	}
	return s.broker.snapshot(ar), true
}

// Wait waits for run id to end and returns its record. For a run that
// already ended it returns the stored record at once.
func (s *Service) Wait(ctx context.Context, id string) (domain.Run, error) {
	ar, err := s.wait(ctx, id)
	if err != nil || ar == nil {
		return s.storedRun(ctx, id)
	}
	return ar.run, nil
}

// wait waits for the active run id; it returns nil if the run is not
// active.
func (s *Service) wait(ctx context.Context, id string) (*activeRun, error) {
	ar := s.broker.get(id)
	if ar == nil {
		return nil, nil
	}
	select {
	case <-ar.done:
		return ar, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Service) storedRun(ctx context.Context, id string) (domain.Run, error) {
	if err := ctx.Err(); err != nil {
		return domain.Run{}, err
	}
	var r domain.Run
	err := s.store.View(ctx, func(tx domain.Tx) error {
		var err error
		r, err = tx.Run(id)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("fleet: run %s: %w", id, err)
	}
	return r, nil
}

// Subscribe follows run id: it returns the run as it is now and a
// Subscription whose channel delivers its changes until its result. For a
// run that already ended, the channel is closed at once and the returned
// run is the stored record.
func (s *Service) Subscribe(ctx context.Context, id string) (domain.Run, *Subscription, error) {
	if r, sub, ok := s.broker.subscribe(id); ok {
		return r, sub, nil
	}
	r, err := s.storedRun(ctx, id)
	if err != nil {
		return r, nil, err
	}
	// It may have been created by another server sharing the store, or
	// just ended here: either way nothing more will come from this one.
	sub := newSubscriber(s.broker, 0)
	return r, &Subscription{C: sub.out, sub: sub}, nil
}

// SubscribeBatch follows every run of batch id: it returns the runs as they
// are now, in ID order, and a Subscription whose channel delivers their
// changes until the last result.
func (s *Service) SubscribeBatch(ctx context.Context, id string) ([]domain.Run, *Subscription, error) {
	live, sub := s.broker.subscribeBatch(id)
	isLive := make(map[string]bool, len(live))
	for _, r := range live {
		isLive[r.ID] = true
	}
	runs := live
	err := s.store.View(ctx, func(tx domain.Tx) error {
		summaries, err := tx.Runs(domain.RunFilter{BatchID: id})
		if err != nil {
			return err
		}
		for _, sum := range summaries {
			if isLive[sum.ID] {
				continue
			}
			r, err := tx.Run(sum.ID) // with its output, which Runs leaves out
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		return nil
	})
	if err != nil {
		sub.Close()
		return nil, nil, fmt.Errorf("fleet: batch %s: %w", id, err)
	}
	if len(runs) == 0 {
		sub.Close()
		return nil, nil, fmt.Errorf("fleet: batch %s: %w", id, domain.ErrNotFound)
	}
	slices.SortFunc(runs, func(a, b domain.Run) int { return domain.CompareIDs(a.ID, b.ID) })
	return runs, sub, nil
}

// WireScript is script sc as host h runs it: the environment merged for h,
// the body, the attachments with their data. Registration sends these as a
// new host's first-run scripts; runs build the same form.
func (s *Service) WireScript(ctx context.Context, sc domain.Script, h domain.Host) (wire.Script, error) {
	var (
		opts   domain.Options
		groups = map[string]domain.Group{}
		atts   []domain.Attachment
	)
	err := s.store.View(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		opts = withDefaults(o)
		for _, id := range h.GroupIDs {
			g, err := tx.Group(id)
			if err != nil {
				return fmt.Errorf("group %s: %w", id, err)
			}
			groups[id] = g
		}
		for _, id := range sc.AttachmentIDs {
			a, err := tx.Attachment(id)
			if err != nil {
				return fmt.Errorf("attachment %s: %w", id, err)
			}
			atts = append(atts, a)
		}
		return nil
	})
	if err != nil {
		return wire.Script{}, fmt.Errorf("fleet: script %q for host %q: %w", sc.Name, h.Name, err)
	}
	files, _, err := s.loadAttachments(atts)
	if err != nil {
		return wire.Script{}, fmt.Errorf("fleet: script %q for host %q: %w", sc.Name, h.Name, err)
	}
	return s.wireScript(opts, sc, groups, h, files), nil
}

// wireScript builds the wire form of sc for h with files already loaded.
func (s *Service) wireScript(o domain.Options, sc domain.Script, groups map[string]domain.Group, h domain.Host, files []wire.File) wire.Script {
	if files == nil {
		files = []wire.File{}
	}
	return wire.Script{
		Name:             sc.Name,
		RunAs:            wire.RunAs(sc.RunAs),
		Environment:      s.runEnv(o, sc, groups, h).Map(),
		WorkingDirectory: sc.WorkingDirectory,
		Executable:       sc.Executable,
		Files:            files,
		Data:             []byte(sc.Script),
	}
}
