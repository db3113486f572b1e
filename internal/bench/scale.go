package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// Scale's scripts, run with /bin/sh.
const (
	scriptTrue = "true"
	// scriptMiB prints exactly 1 MiB, the default Runs.OutputMaxBytes: the
	// whole output must arrive, not truncated.
	scriptMiB = "head -c 1048576 /dev/zero | tr '\\000' x"
	mib       = 1 << 20
)

// Timeouts of the scale steps.
const (
	batchTimeout = 10 * time.Minute // one batch, from POST /api/runs to "end"
	budgetSweepN = 1000             // the fleet size the budgets are for
)

// scale measures one fleet size: register, warm up, sweep, `true` on all,
// 1 MiB on MiBHosts hosts, and the rotation of every PSK.
func (b *Bench) scale(ctx context.Context, n int) (err error) {
	b.logf("scale N=%d", n)
	r, err := b.newRig(ctx, "scale-"+strconv.Itoa(n), n, rigOptions{})
	if err != nil {
		return fmt.Errorf("N=%d: %w", n, err)
	}
	defer func() {
		if cerr := r.close(); cerr != nil && err == nil {
			err = fmt.Errorf("N=%d: stopping: %w", n, cerr)
		}
		if err != nil {
			b.keepLog(r.srv.logPath)
		}
	}()
	b.logf("N=%d: registered; warming up", n)
	if err := r.warmUp(ctx); err != nil {
		return fmt.Errorf("N=%d: %w", n, err)
	}
	b.logf("N=%d: sweeps", n)
	if err := b.sweeps(ctx, r, "sweep"); err != nil {
		return fmt.Errorf("N=%d: %w", n, err)
	}
	b.logf("N=%d: true on all", n)
	if err := b.runTrue(ctx, r); err != nil {
		return fmt.Errorf("N=%d: %w", n, err)
	}
	b.logf("N=%d: 1 MiB of output", n)
	if err := b.runMiB(ctx, r); err != nil {
		return fmt.Errorf("N=%d: %w", n, err)
	}
	defer b.budgets(n) // also when the rotation fails
	b.logf("N=%d: PSK rotation", n)
	if err := b.rotateAll(ctx, r); err != nil {
		return fmt.Errorf("N=%d: %w", n, err)
	}
	return nil
}

// budgets compares the phases of fleet size n with issue 9's budgets: the
// times are for 1,000 clients, the memory for any size.
func (b *Bench) budgets(n int) {
	if n == budgetSweepN {
		if p, ok := b.report.find("sweep", n); ok {
			b.report.budget("heartbeat sweep of 1000, wall", p.WallMS/1000, 2, "s", true)
		}
		if p, ok := b.report.find("true on all", n); ok {
			b.report.budget("`true` on 1000, wall", p.WallMS/1000, 5, "s", true)
		}
	}
	peak, all := 0.0, 0.0
	for _, p := range b.report.Phases {
		if p.N != n || strings.HasPrefix(p.Name, "per-frame") || strings.HasPrefix(p.Name, "reference") || p.Name == "sweep, key per frame" {
			continue
		}
		all = max(all, p.ServerPeakRSSMiB)
		if p.Name != "warm-up" {
			peak = max(peak, p.ServerPeakRSSMiB)
		}
	}
	b.report.budget(fmt.Sprintf("server peak RSS, N=%d, measured phases", n), peak, 150, "MiB", true)
	b.report.budget(fmt.Sprintf("server peak RSS, N=%d, warm-up included", n), all, 150, "MiB", true)
}

// sweeps runs opts.Repeat measured sweeps and records the median as name.
func (b *Bench) sweeps(ctx context.Context, r *rig, name string) error {
	var phases []Phase
	var walls []time.Duration
	for range b.opts.Repeat {
		p, wall, err := b.sweep(ctx, r, name)
		if err != nil {
			return err
		}
		phases = append(phases, p)
		walls = append(walls, wall)
	}
	p := phases[median(walls)]
	if len(phases) > 1 {
		p.Note = fmt.Sprintf("median of %d sweeps (walls %s)", len(phases), fmtWalls(walls))
	}
	r.report.add(p)
	return nil
}

func fmtWalls(walls []time.Duration) string {
	s := ""
	for i, w := range walls {
		if i > 0 {
			s += ", "
		}
		s += fmtDur(ms(w))
	}
	return s
}

// sweep runs one POST /api/heartbeat and reads the per-host latencies from
// the statuses: LastAttempt to LastReply.
func (b *Bench) sweep(ctx context.Context, r *rig, name string) (Phase, time.Duration, error) {
	m := startMeter(r.srv.pid)
	t0 := time.Now()
	res, err := r.api.sweep(ctx)
	wall := time.Since(t0)
	u := m.end()
	if err != nil {
		return Phase{}, 0, fmt.Errorf("%s: %w", name, err)
	}
	sts, err := r.api.Heartbeats(ctx)
	if err != nil {
		return Phase{}, 0, err
	}
	var lat []time.Duration
	for _, h := range r.hosts {
		st, ok := sts[string(h.ID)]
		if ok && st.IsReachable && !st.LastReply.Before(st.LastAttempt) {
			lat = append(lat, st.LastReply.Sub(st.LastAttempt))
		}
	}
	if res.Reachable != r.n || res.Hosts != r.n {
		return Phase{}, 0, fmt.Errorf("%s: %d of %d hosts reachable (%d swept)", name, res.Reachable, r.n, res.Hosts)
	}
	return phase(name, r.n, res.Hosts, res.Reachable, wall, lat, u, ""), wall, nil
}

// runTrue runs `true` on the whole group opts.Repeat times and records
// the median.
func (b *Bench) runTrue(ctx context.Context, r *rig) error {
	s, err := r.api.createScript(ctx, "true", scriptTrue)
	if err != nil {
		return err
	}
	var phases []Phase
	var walls []time.Duration
	for range b.opts.Repeat {
		m := startMeter(r.srv.pid)
		t0 := time.Now()
		res, runs, err := r.batch(ctx, apitype.RunsRequest{ScriptID: s.ID, GroupIDs: []apitype.ID{r.group.ID}})
		wall := time.Since(t0)
		u := m.end()
		if err != nil {
			return fmt.Errorf("true on all: %w", err)
		}
		var lat []time.Duration
		ok := 0
		for _, run := range res.Done {
			if run.State == apitype.RunDone && run.Success {
				ok++
			}
			lat = append(lat, run.Duration)
		}
		if ok != r.n {
			return fmt.Errorf("true on all: %d of %d runs succeeded (%d started)%s", ok, r.n, runs, firstRunError(res))
		}
		phases = append(phases, phase("true on all", r.n, runs, ok, wall, lat, u, ""))
		walls = append(walls, wall)
	}
	p := phases[median(walls)]
	p.Note = "p50/p99 are the runs' Durations (the script's time on the client)"
	if len(phases) > 1 {
		p.Note = fmt.Sprintf("median of %d runs (walls %s); %s", len(phases), fmtWalls(walls), p.Note)
	}
	r.report.add(p)
	return nil
}

func firstRunError(res batchResult) string {
	for _, run := range res.Done {
		if !run.Success {
			return fmt.Sprintf("; run %s: state %s, exit %d, error %q", run.ID, run.State, run.ExitCode, run.Error)
		}
	}
	return ""
}

// batch starts the runs req asks for and follows the batch's stream
// to its end. It returns what the stream showed and the number of runs
// started.
func (r *rig) batch(ctx context.Context, req apitype.RunsRequest) (batchResult, int, error) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	bt, err := r.api.StartRuns(ctx, req)
	if err != nil {
		return batchResult{}, 0, err
	}
	res, err := r.api.followBatch(ctx, bt.BatchID)
	if err != nil {
		return res, len(bt.Runs), err
	}
	if len(res.Done) != len(bt.Runs) {
		return res, len(bt.Runs), fmt.Errorf("stream ended with %d of %d runs done", len(res.Done), len(bt.Runs))
	}
	return res, len(bt.Runs), nil
}

// runMiB runs a script printing 1 MiB on the first opts.MiBHosts hosts and
// checks that every byte arrived, in the stream and in the stored runs.
func (b *Bench) runMiB(ctx context.Context, r *rig) error {
	k := min(b.opts.MiBHosts, r.n)
	if k <= 0 {
		return nil
	}
	s, err := r.api.createScript(ctx, "1 MiB", scriptMiB)
	if err != nil {
		return err
	}
	ids := make([]apitype.ID, k)
	for i := range k {
		ids[i] = r.hosts[i].ID
	}
	m := startMeter(r.srv.pid)
	t0 := time.Now()
	res, runs, err := r.batch(ctx, apitype.RunsRequest{ScriptID: s.ID, HostIDs: ids})
	wall := time.Since(t0)
	u := m.end()
	if err != nil {
		return fmt.Errorf("1 MiB on %d hosts: %w", k, err)
	}
	var lat []time.Duration
	ok := 0
	var bad []string
	for id, run := range res.Done {
		lat = append(lat, run.Duration)
		full, err := r.api.Run(ctx, string(id))
		switch {
		case err != nil:
			return err
		case !full.Success || len(full.Stdout) != mib || full.Truncated || res.Output[id] != mib:
			if len(bad) < 3 {
				bad = append(bad, fmt.Sprintf("run %s: state %s, stored %d bytes, streamed %d, truncated %v, error %q",
					id, full.State, len(full.Stdout), res.Output[id], full.Truncated, full.Error))
			}
		default:
			ok++
		}
	}
	r.report.add(phase("1 MiB output", r.n, runs, ok, wall, lat, u,
		"every run's stdout checked: 1 MiB streamed and 1 MiB stored, not truncated"))
	if ok != k {
		return fmt.Errorf("1 MiB on %d hosts: %d complete; %v", k, ok, bad)
	}
	return nil
}

// rotateAll rotates every host's PSK through the API, opts.RotateParallel
// at once, checks that each client holds the PSK the API answered, and then
// sweeps (which derives the new keys on the server) to prove every host
// reachable and its PSK the one its client holds.
//
// A rotation the client did not confirm in time (502: the new PSK stays
// pending, settled at the next contact) is counted, not fatal: what must
// never happen is a host left unreachable.
func (b *Bench) rotateAll(ctx context.Context, r *rig) error {
	parallel := max(1, b.opts.RotateParallel)
	lat := make([]time.Duration, r.n)
	psks := make([]string, r.n)
	errs := make([]error, r.n)
	m := startMeter(r.srv.pid)
	t0 := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := range next {
				t := time.Now()
				psks[i], errs[i] = r.api.RotatePSK(ctx, string(r.hosts[i].ID))
				lat[i] = time.Since(t)
			}
		})
	}
	for i := range r.n {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(t0)
	u := m.end()
	ok, unconfirmed := 0, 0
	var firstUnconfirmed error
	for i, err := range errs {
		if statusOf(err) == http.StatusBadGateway {
			unconfirmed++
			if firstUnconfirmed == nil {
				firstUnconfirmed = err
			}
			continue
		}
		if err == nil {
			var held string
			held, err = r.fleet.clients[i].currentPSK()
			if err == nil && held != psks[i] {
				err = errors.New("the client holds another PSK than the API answered")
			}
		}
		if err != nil {
			return fmt.Errorf("rotation of host %s: %w", r.hosts[i].Name, err)
		}
		ok++
	}
	note := fmt.Sprintf("POST /api/hosts/host/{id}/psk, %d at once; p50/p99 are the requests; each client's config checked", parallel)
	if unconfirmed > 0 {
		note += fmt.Sprintf("; %d unconfirmed (502, left pending), the first: %v", unconfirmed, firstUnconfirmed)
	}
	r.report.add(phase("PSK rotation", r.n, r.n, ok, wall, lat, u, note))
	p, _, err := b.sweep(ctx, r, "sweep after rotation")
	if err != nil {
		return err
	}
	p.Note = "the first contact under the new PSKs: the server derives each new key here (and settles pending ones)"
	r.report.add(p)
	if bad, err := r.inSync(ctx); err != nil {
		return err
	} else if len(bad) > 0 {
		return fmt.Errorf("after the rotation, %d hosts' stored PSK is not the one their client holds, the first: %s", len(bad), bad[0])
	}
	if unconfirmed > 0 {
		r.report.fail("N=%d: %d of %d rotations were not confirmed in time (502), though every host stayed reachable: %v",
			r.n, unconfirmed, r.n, firstUnconfirmed)
	}
	return nil
}

// perFrame measures a sweep of n hosts with the key derived for every
// frame on both sides (a server built with -tags ottotest, through
// OTTO_BENCH_DERIVE_PER_FRAME; the clients through
// client.ServeOptions.DeriveKeyPerFrame), and compares it with the cached
// sweep of the same size.
func (b *Bench) perFrame(ctx context.Context, n int) (err error) {
	b.logf("per-frame key derivation, N=%d", n)
	cached, ok := b.report.find("sweep", n)
	if !ok {
		// No scale run of this size: measure the cached reference now.
		if err := b.referenceSweep(ctx, n); err != nil {
			return err
		}
		cached, _ = b.report.find("sweep", n)
	}
	// No rotation on contact: it would add exchanges the cached sweep
	// does not have. A timeout that covers the derivations under load:
	// 64 exchanges at once, each deriving four keys, on the machine's
	// cores, take far longer than the 10 s default per read.
	r, err := b.newRig(ctx, "per-frame-"+strconv.Itoa(n), n, rigOptions{label: "per-frame: ", perFrame: true, setOptions: map[string]any{
		"Security": map[string]any{"RotatePSK": map[string]any{"Enabled": false}},
		"Network":  map[string]any{"Timeout": 600},
	}})
	if err != nil {
		return fmt.Errorf("per-frame N=%d: %w", n, err)
	}
	defer b.closeRig(r, &err)
	p, _, err := b.sweep(ctx, r, "sweep, key per frame")
	if err != nil {
		return fmt.Errorf("per-frame: %w", err)
	}
	ratio := p.WallMS / cached.WallMS
	p.Note = fmt.Sprintf("scrypt for every frame on both sides, as 0.x peers; %.0fx the cached sweep's wall (%s), %.0fx its p50 per host",
		ratio, fmtDur(cached.WallMS), p.P50MS/cached.P50MS)
	r.report.add(p)
	r.report.budget(fmt.Sprintf("sweep speed-up over per-frame derivation, N=%d", n), round(ratio), 100, "x", false)
	return nil
}

// referenceSweep measures the cached sweep of n hosts for perFrame.
func (b *Bench) referenceSweep(ctx context.Context, n int) (err error) {
	r, err := b.newRig(ctx, "reference-"+strconv.Itoa(n), n, rigOptions{label: "reference: "})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := r.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := r.warmUp(ctx); err != nil {
		return err
	}
	return b.sweeps(ctx, r, "sweep")
}
