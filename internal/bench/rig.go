package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// registerParallel is how many hosts are added through the API at once.
const registerParallel = 8

// maxWarmupSweeps bounds the sweeps of a warm-up: the first derives every
// key and rotates every PSK (hosts added by hand rotate at first contact),
// the second derives the new keys; a third should never be needed.
const maxWarmupSweeps = 5

// rig is one server with its clients, registered.
type rig struct {
	name   string
	label  string // prefixed to the phase names, for rigs other than scale's
	dir    string
	n      int
	srv    *server
	api    *apiClient
	fleet  *fleet
	group  apitype.Group
	hosts  []apitype.Host // hosts[i] is fleet.clients[i]
	byID   map[apitype.ID]*benchClient
	report *Report
	logs   *os.File // the clients' log, with --verbose

	warmUpParallel int // Network.MaxParallel during the warm-up
}

// rigOptions change how a rig starts.
type rigOptions struct {
	label    string // see rig.label
	perFrame bool
	// setOptions are laid over the server's options before the first
	// contact with a client.
	setOptions map[string]any
}

// adminPassword is the first admin's password of the benchmark servers:
// a random one per run, since the servers listen on 127.0.0.1 where other
// users of the machine could reach them.
var adminPassword = sync.OnceValue(func() string { return newPSK()[:24] })

// closeRig stops r at the end of a phase whose error is *err: a failure to
// stop becomes the error if there was none, and the server's log is kept
// if the phase failed.
func (b *Bench) closeRig(r *rig, err *error) {
	if cerr := r.close(); cerr != nil && *err == nil {
		*err = cerr
	}
	if *err != nil {
		b.keepLog(r.srv.logPath)
	}
}

// newRig starts a server in dir/<name>, n clients, and registers them
// through PUT /api/hosts/host as admin: the fast path (self-registration,
// PUT /api/register, is limited to 10 a minute per address, on purpose).
// It records the registration as the phase "register".
func (b *Bench) newRig(ctx context.Context, name string, n int, ro rigOptions) (*rig, error) {
	r := &rig{name: name, label: ro.label, dir: filepath.Join(b.dir, name), n: n, report: b.report,
		warmUpParallel: cmp.Or(b.opts.WarmUpParallel, defaultWarmUpParallel)}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, err
	}
	if err := checkFileLimit(n); err != nil {
		return nil, err
	}
	otto := b.otto
	if ro.perFrame {
		otto = b.ottoTest // only a test build has the per-frame knob
	}
	var err error
	r.srv, err = startServer(ctx, otto, filepath.Join(r.dir, "data"), filepath.Join(r.dir, "server.log"), adminPassword(), serverOptions{perFrame: ro.perFrame, env: b.opts.ServerEnv})
	if err != nil {
		return nil, err
	}
	if r.api, err = login(ctx, r.srv.url, "admin", adminPassword()); err != nil {
		r.close()
		return nil, err
	}
	if ro.setOptions != nil {
		if err := r.api.setOptions(ctx, ro.setOptions); err != nil {
			r.close()
			return nil, err
		}
	}
	if r.group, err = r.api.createGroup(ctx, "bench-"+name); err != nil {
		r.close()
		return nil, err
	}
	var clog *slog.Logger
	if b.opts.Verbose {
		if r.logs, err = os.OpenFile(filepath.Join(r.dir, "clients.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			clog = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}
	b.logf("%s: starting %d clients", name, n)
	t0 := time.Now()
	r.fleet, err = startFleet(ctx, filepath.Join(r.dir, "clients"), name, n, clientOptions{perFrame: ro.perFrame, log: clog})
	if err != nil {
		r.close()
		return nil, err
	}
	b.logf("%s: %d clients up, keys derived, in %s", name, n, time.Since(t0).Round(time.Millisecond))
	if err := r.register(ctx); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// register adds every client as a host, registerParallel at once.
func (r *rig) register(ctx context.Context) error {
	r.hosts = make([]apitype.Host, r.n)
	r.byID = make(map[apitype.ID]*benchClient, r.n)
	m := startMeter(r.srv.pid)
	t0 := time.Now()
	lat := make([]time.Duration, r.n)
	var firstErr atomic.Pointer[error]
	next := make(chan int)
	var wg sync.WaitGroup
	for range registerParallel {
		wg.Go(func() {
			for i := range next {
				if firstErr.Load() != nil {
					continue
				}
				c := r.fleet.clients[i]
				t := time.Now()
				h, err := r.api.addHost(ctx, c.name, c.port, c.psk, r.group.ID)
				lat[i] = time.Since(t)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				r.hosts[i] = h
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
	if p := firstErr.Load(); p != nil {
		return fmt.Errorf("registering hosts: %w", *p)
	}
	for i, h := range r.hosts {
		r.byID[h.ID] = r.fleet.clients[i]
	}
	r.report.add(phase(r.label+"register", r.n, r.n, r.n, wall, lat, u, "PUT /api/hosts/host as admin, 8 at once"))
	return nil
}

// defaultWarmUpParallel is Network.MaxParallel during a warm-up. Its first sweep
// rotates every PSK (hosts added by hand rotate at first contact), and each
// client derives its new key before it acknowledges. Real clients do that
// on their own CPUs; here they share this machine's, and 64 derivations at
// once take longer than the server waits for the acknowledgement (10 s).
// So the warm-up contacts a few hosts at a time; the measured steps use
// the default, 64.
const defaultWarmUpParallel = 4

// warmUp sweeps until every host answers and no PSK was rotated on the
// way, so that every key is derived on both sides before measuring.
func (r *rig) warmUp(ctx context.Context) error {
	if err := r.api.setOptions(ctx, map[string]any{"Network": map[string]any{"MaxParallel": r.warmUpParallel}}); err != nil {
		return err
	}
	defer r.api.setOptions(ctx, map[string]any{"Network": map[string]any{"MaxParallel": 64}})
	m := startMeter(r.srv.pid)
	t0 := time.Now()
	var sweeps, rotated int
	var last apitype.SweepResult
	for sweeps < maxWarmupSweeps {
		res, err := r.api.sweep(ctx)
		if err != nil {
			return fmt.Errorf("warm-up sweep: %w", err)
		}
		sweeps++
		rotated += res.Rotated
		last = res
		if res.Reachable == r.n && res.Rotated == 0 {
			break
		}
	}
	u := m.end()
	if last.Reachable != r.n || last.Rotated != 0 {
		return fmt.Errorf("warm-up: after %d sweeps, %d of %d hosts reachable, %d rotated in the last", sweeps, last.Reachable, r.n, last.Rotated)
	}
	r.report.add(phase(r.label+"warm-up", r.n, r.n, r.n, time.Since(t0), nil, u,
		fmt.Sprintf("%d sweeps, %d hosts at once: keys derived on both sides, %d PSKs rotated at first contact", sweeps, r.warmUpParallel, rotated)))
	return r.quiet(ctx)
}

// Background sweeps. The server sweeps at its start (no hosts yet), then
// every Network.HeartbeatFrequency minutes, read before each wait: the
// second sweep comes 5 minutes after the start whatever the options say.
const (
	firstBackgroundSweep = 5 * time.Minute
	quietFrequency       = 24 * 60 // minutes: no background sweep during the measurements
)

// quiet keeps the server's background sweeps out of the measurements:
// the next ones a day apart, and, if the one due 5 minutes after the
// start has not come yet but would within the next minutes of measuring,
// a wait for it (a sweep of 1,000 hosts takes a core for a while).
func (r *rig) quiet(ctx context.Context) error {
	if err := r.api.setOptions(ctx, map[string]any{"Network": map[string]any{"HeartbeatFrequency": quietFrequency}}); err != nil {
		return err
	}
	due := r.srv.started.Add(firstBackgroundSweep)
	if r.n < 500 || time.Until(due) > 5*time.Minute {
		return nil // the measurements end before it
	}
	deadline := due.Add(2 * time.Minute)
	for r.srv.backgroundSweeps() < 2 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Second):
		}
	}
	return nil
}

// inSync checks that every host's stored PSK is the one its client holds,
// and returns the hosts where it is not. A rotation whose acknowledgement
// was late leaves the new PSK pending on the server (not shown by the API)
// until a contact settles it, so a mismatch is looked at again after the
// clients are idle and one more sweep.
func (r *rig) inSync(ctx context.Context) ([]string, error) {
	var bad []string
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			r.awaitClientsSettled(15 * time.Second)
			if _, err := r.api.sweep(ctx); err != nil {
				return nil, err
			}
		}
		hosts, err := r.api.Hosts(ctx)
		if err != nil {
			return nil, err
		}
		bad = bad[:0]
		for _, h := range hosts {
			c := r.byID[h.ID]
			if c == nil {
				continue
			}
			if held, err := c.currentPSK(); err != nil || held != h.PSK {
				bad = append(bad, fmt.Sprintf("host %s (%s)", h.ID, h.Name))
			}
		}
		if len(bad) == 0 {
			break
		}
	}
	return bad, nil
}

// close stops the clients and the server.
func (r *rig) close() error {
	var errs []error
	if r.fleet != nil {
		errs = append(errs, r.fleet.close())
	}
	if r.srv != nil {
		if err := r.srv.stop(); err != nil {
			errs = append(errs, fmt.Errorf("server %s: %w", r.name, err))
		}
	}
	if r.logs != nil {
		r.logs.Close()
	}
	return errors.Join(errs...)
}
