package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// CrashReport is what the crash test found.
type CrashReport struct {
	Hosts int `json:"hosts"`
	// Fan-out: runs acknowledged by POST /api/runs before the kill, and
	// how each was found after the restart.
	RunsAcked          int `json:"runs_acked"`
	RunsDone           int `json:"runs_done"`
	RunsFailedStopped  int `json:"runs_failed_server_stopped"`
	RunsOther          int `json:"runs_other"`
	GroupsAcked        int `json:"groups_acked"`
	GroupsFound        int `json:"groups_found"`
	ReachableAfterRuns int `json:"reachable_after_fanout_crash"`
	// Rotation: rotations acknowledged before the kill, and hosts whose
	// stored PSK is the one their client holds after the restart.
	RotationsAcked     int      `json:"rotations_acked"`
	RotationsKept      int      `json:"rotations_kept"`
	ReachableAfterRot  int      `json:"reachable_after_rotation_crash"`
	ReachableLater     int      `json:"reachable_2s_later"`
	HostsInSync        int      `json:"hosts_psk_in_sync"`
	KilledAfterFanout  string   `json:"killed_after_fanout"`
	KilledAfterRotates string   `json:"killed_after_rotations"`
	Problems           []string `json:"problems"`
}

func (c *CrashReport) print(w io.Writer) {
	fmt.Fprintf(w, "\ncrash (kill -9), %d hosts:\n", c.Hosts)
	fmt.Fprintf(w, "  during a fan-out (killed %s after the first POST /api/runs answered):\n", c.KilledAfterFanout)
	fmt.Fprintf(w, "    runs acknowledged %d: after restart %d done, %d failed %q, %d otherwise\n",
		c.RunsAcked, c.RunsDone, c.RunsFailedStopped, "server stopped during the run", c.RunsOther)
	fmt.Fprintf(w, "    groups created meanwhile: %d acknowledged, %d found; sweep after restart: %d/%d reachable\n",
		c.GroupsAcked, c.GroupsFound, c.ReachableAfterRuns, c.Hosts)
	fmt.Fprintf(w, "  during PSK rotations (killed after %s):\n", c.KilledAfterRotates)
	fmt.Fprintf(w, "    rotations acknowledged %d, kept %d; sweeps after restart: %d/%d then %d/%d reachable; server and client PSK agree on %d/%d\n",
		c.RotationsAcked, c.RotationsKept, c.ReachableAfterRot, c.Hosts, c.ReachableLater, c.Hosts, c.HostsInSync, c.Hosts)
	for _, p := range c.Problems {
		fmt.Fprintf(w, "    PROBLEM: %s\n", p)
	}
}

func (c *CrashReport) problem(format string, args ...any) {
	if len(c.Problems) < 20 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

// Crash timing.
const (
	// crashScript runs long enough that a kill lands while runs are in
	// flight, with output on the way.
	crashScript = "echo started; sleep 1; echo finished"
	// crashBatches is how many batches are started before the kill: one
	// of "echo fast", then crashScript.
	crashBatches = 3
	// crashAfter is when the server is killed, after the first batch was
	// acknowledged.
	crashAfter = 700 * time.Millisecond
)

// crash kills the server with SIGKILL during a fan-out and during PSK
// rotations, restarts it on the same data directory, and checks that
// every acknowledged change is there and every host is reachable.
func (b *Bench) crash(ctx context.Context) (err error) {
	n := b.opts.CrashN
	b.logf("crash, %d hosts", n)
	rep := &CrashReport{Hosts: n, Problems: []string{}}
	b.report.Crash = rep
	r, err := b.newRig(ctx, "crash", n, rigOptions{label: "crash: "})
	if err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	defer b.closeRig(r, &err)
	if err := r.warmUp(ctx); err != nil {
		return fmt.Errorf("crash: %w", err)
	}
	if err := b.crashFanOut(ctx, r, rep); err != nil {
		return fmt.Errorf("crash during fan-out: %w", err)
	}
	if err := b.crashRotation(ctx, r, rep); err != nil {
		return fmt.Errorf("crash during rotation: %w", err)
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("crash: %d problems, the first: %s", len(rep.Problems), rep.Problems[0])
	}
	return nil
}

// restart restarts the killed server and points the API client at it.
func (r *rig) restart(ctx context.Context) error {
	if err := r.srv.restart(ctx); err != nil {
		return err
	}
	api, err := r.api.withBase(r.srv.url)
	if err != nil {
		return err
	}
	r.api = api
	return nil
}

func (b *Bench) crashFanOut(ctx context.Context, r *rig, rep *CrashReport) error {
	s, err := r.api.createScript(ctx, "crash", crashScript)
	if err != nil {
		return err
	}
	fast, err := r.api.createScript(ctx, "crash-fast", "echo fast")
	if err != nil {
		return err
	}
	before, err := r.api.Hosts(ctx)
	if err != nil {
		return err
	}
	// Start batches and create groups until the kill; remember what was
	// acknowledged.
	var (
		mu     sync.Mutex
		runIDs []apitype.ID
		groups []apitype.ID
	)
	firstAck := make(chan struct{})
	var once sync.Once
	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range crashBatches {
			// The first batch ends before the kill, the others not.
			id := s.ID
			if i == 0 {
				id = fast.ID
			}
			bt, err := r.api.StartRuns(wctx, apitype.RunsRequest{ScriptID: id, GroupIDs: []apitype.ID{r.group.ID}})
			if err != nil {
				return // the kill
			}
			mu.Lock()
			for _, run := range bt.Runs {
				runIDs = append(runIDs, run.ID)
			}
			mu.Unlock()
			once.Do(func() { close(firstAck) })
			time.Sleep(100 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for i := 0; i < 1000 && wctx.Err() == nil; i++ {
			g, err := r.api.createGroup(wctx, fmt.Sprintf("crash-%d", i))
			if err != nil {
				return
			}
			mu.Lock()
			groups = append(groups, g.ID)
			mu.Unlock()
		}
	})
	select {
	case <-firstAck:
	case <-time.After(time.Minute):
		stopWriters()
		wg.Wait()
		return fmt.Errorf("no batch was acknowledged within a minute")
	}
	time.Sleep(crashAfter)
	r.srv.kill()
	rep.KilledAfterFanout = crashAfter.String()
	stopWriters()
	wg.Wait()
	b.logf("crash: killed during the fan-out (%d runs and %d groups acknowledged); restarting", len(runIDs), len(groups))
	if err := r.restart(ctx); err != nil {
		return err
	}

	after, err := r.api.Hosts(ctx)
	if err != nil {
		return err
	}
	have := make(map[apitype.ID]bool)
	for _, h := range after {
		have[h.ID] = true
	}
	for _, h := range before {
		if !have[h.ID] {
			rep.problem("host %s (%s) is gone after the restart", h.ID, h.Name)
		}
	}
	rep.RunsAcked = len(runIDs)
	for _, id := range runIDs {
		run, err := r.api.Run(ctx, string(id))
		switch {
		case err != nil:
			rep.problem("acknowledged run %s: %v", id, err)
		case run.State == apitype.RunDone:
			rep.RunsDone++
		case run.State == apitype.RunFailed && run.Error == "server stopped during the run":
			rep.RunsFailedStopped++
		default:
			rep.RunsOther++
			rep.problem("run %s after the restart: state %s, error %q", id, run.State, run.Error)
		}
	}
	rep.GroupsAcked = len(groups)
	for _, id := range groups {
		if _, err := r.api.Group(ctx, string(id)); err != nil {
			rep.problem("acknowledged group %s: %v", id, err)
			continue
		}
		rep.GroupsFound++
	}
	// The clients finish their scripts meanwhile; a sweep reaches them all.
	res, err := r.api.sweep(ctx)
	if err != nil {
		return err
	}
	rep.ReachableAfterRuns = res.Reachable
	if res.Reachable != r.n {
		rep.problem("after the fan-out crash, %d of %d hosts reachable", res.Reachable, r.n)
	}
	return nil
}

func (b *Bench) crashRotation(ctx context.Context, r *rig, rep *CrashReport) error {
	var (
		mu    sync.Mutex
		acked = make(map[apitype.ID]string)
	)
	var done atomic.Int64
	wctx, stop := context.WithCancel(ctx)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, b.opts.RotateParallel) {
		wg.Go(func() {
			for i := range next {
				psk, err := r.api.RotatePSK(wctx, string(r.hosts[i].ID))
				if err == nil {
					mu.Lock()
					acked[r.hosts[i].ID] = psk
					mu.Unlock()
					done.Add(1)
				}
			}
		})
	}
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		for i := range r.n {
			select {
			case next <- i:
			case <-wctx.Done():
				close(next)
				return
			}
		}
		close(next)
	}()
	// Kill once a third is acknowledged (or after 30 s at most).
	deadline := time.Now().Add(30 * time.Second)
	for done.Load() < int64(max(1, r.n/3)) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r.srv.kill()
	rep.KilledAfterRotates = fmt.Sprintf("%d of %d acknowledged", done.Load(), r.n)
	stop()
	<-feedDone
	wg.Wait()
	rep.RotationsAcked = len(acked)
	// The clients that were sent a new PSK finish storing it (deriving
	// its key first) after the server died. Restart once they are done, as
	// a supervisor's restart delay would: a server that contacts a client
	// still in the middle of an update strands it (see the stranding race
	// in docs/benchmarks.md), which is not what this test is about.
	settled := r.awaitClientsSettled(15 * time.Second)
	b.logf("crash: killed during rotations (%d acknowledged); clients settled after %s; restarting", len(acked), settled.Round(time.Millisecond))
	if err := r.restart(ctx); err != nil {
		return err
	}
	res, err := r.api.sweep(ctx)
	if err != nil {
		return err
	}
	rep.ReachableAfterRot = res.Reachable
	if res.Reachable != r.n {
		rep.problem("after the rotation crash, %d of %d hosts reachable", res.Reachable, r.n)
	}
	// A second sweep a moment later: still every host.
	time.Sleep(2 * time.Second)
	if res, err = r.api.sweep(ctx); err != nil {
		return err
	}
	rep.ReachableLater = res.Reachable
	if res.Reachable != r.n {
		rep.problem("2 s after the first sweep, %d of %d hosts reachable", res.Reachable, r.n)
	}
	bad, err := r.inSync(ctx)
	if err != nil {
		return err
	}
	rep.HostsInSync = r.n - len(bad)
	for _, h := range bad {
		rep.problem("%s: the server's PSK is not the one its client holds", h)
	}
	hosts, err := r.api.Hosts(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if psk, ok := acked[h.ID]; ok {
			if h.PSK == psk {
				rep.RotationsKept++
			} else {
				rep.problem("host %s: the acknowledged rotation was lost", h.ID)
			}
		}
	}
	return nil
}

// awaitClientsSettled waits until no client's PSK changed for two seconds
// (at most max) and returns how long that took.
func (r *rig) awaitClientsSettled(max time.Duration) time.Duration {
	start := time.Now()
	read := func() []string {
		out := make([]string, len(r.fleet.clients))
		for i, c := range r.fleet.clients {
			out[i], _ = c.currentPSK()
		}
		return out
	}
	prev, stable := read(), 0
	for time.Since(start) < max && stable < 2 {
		time.Sleep(time.Second)
		cur := read()
		if slices.Equal(cur, prev) {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
	return time.Since(start)
}
