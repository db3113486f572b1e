package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// SoakReport is what the soak measured.
type SoakReport struct {
	Seconds  float64        `json:"seconds"`
	Clients  int            `json:"clients"`
	Requests int            `json:"requests"`
	ByStatus map[string]int `json:"by_status"`
	APIP50MS float64        `json:"api_p50_ms"`
	APIP99MS float64        `json:"api_p99_ms"`
	Batches  int            `json:"batches"`
	Runs     int            `json:"runs"`
	RunsOK   int            `json:"runs_ok"`
	Sweeps   int            `json:"sweeps"`
	Samples  []SoakSample   `json:"samples"`
	Flat     []FlatCheck    `json:"flat"`
	Problems []string       `json:"problems"`
}

// SoakSample is the server at one moment.
type SoakSample struct {
	Seconds    float64 `json:"t_s"`
	RSSMiB     float64 `json:"rss_mib"`
	AnonMiB    float64 `json:"rss_anon_mib"`
	FileMiB    float64 `json:"rss_file_mib"`
	FDs        int     `json:"fds"`
	Threads    int     `json:"threads"`
	CPUSeconds float64 `json:"cpu_s"`
}

// FlatCheck compares the last third of the samples with the first.
type FlatCheck struct {
	Metric string  `json:"metric"`
	Judged bool    `json:"judged"` // false: reported only
	First  float64 `json:"first_third_avg"`
	Last   float64 `json:"last_third_avg"`
	Ratio  float64 `json:"ratio"`
	Bound  float64 `json:"bound"`
	Pass   bool    `json:"pass"`
}

// soakFlatBound is how much the last third's average may exceed the
// first third's: a leak grows without bound, a cache settles.
const soakFlatBound = 1.5

// soakMinSamples is the fewest samples the flatness check judges.
const soakMinSamples = 6

func (s *SoakReport) print(w io.Writer) {
	fmt.Fprintf(w, "\nsoak: %.0f s, %d clients; %d API requests (p50 %s, p99 %s), %d batches (%d/%d runs ok), %d sweeps\n",
		s.Seconds, s.Clients, s.Requests, fmtDur(s.APIP50MS), fmtDur(s.APIP99MS), s.Batches, s.RunsOK, s.Runs, s.Sweeps)
	fmt.Fprintf(w, "  statuses: %v\n", s.ByStatus)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "t\tRSS\tanon\tfile\tfds\tthreads\tCPU\t")
	for _, x := range s.Samples {
		fmt.Fprintf(tw, "%.0f s\t%.1f MiB\t%.1f MiB\t%.1f MiB\t%d\t%d\t%.1f s\t\n", x.Seconds, x.RSSMiB, x.AnonMiB, x.FileMiB, x.FDs, x.Threads, x.CPUSeconds)
	}
	tw.Flush()
	for _, f := range s.Flat {
		verdict := "flat"
		if !f.Pass {
			verdict = "GROWS"
		}
		if !f.Judged {
			verdict += " (not judged)"
		}
		fmt.Fprintf(w, "  %s: first third %.1f, last third %.1f: x%.2f (bound x%.1f) %s\n", f.Metric, f.First, f.Last, f.Ratio, f.Bound, verdict)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  PROBLEM: %s\n", p)
	}
}

// soakLoad counts the load generator's requests.
type soakLoad struct {
	mu       sync.Mutex
	lat      []time.Duration
	byStatus map[string]int
	first500 string
}

func (l *soakLoad) add(what string, d time.Duration, err error) {
	status := "200"
	if err != nil {
		status = "error"
		if s := statusOf(err); s != 0 {
			status = strconv.Itoa(s)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lat) < 1_000_000 {
		l.lat = append(l.lat, d)
	}
	l.byStatus[status]++
	if status == "500" && l.first500 == "" {
		l.first500 = what + ": " + err.Error()
	}
}

// soak runs mixed API load and runs on opts.SoakClients clients for
// opts.Soak, sampling the server every opts.SoakSample.
func (b *Bench) soak(ctx context.Context) (err error) {
	n := b.opts.SoakClients
	b.logf("soak for %s on %d clients", b.opts.Soak, n)
	rep := &SoakReport{Clients: n, ByStatus: map[string]int{}, Samples: []SoakSample{}, Flat: []FlatCheck{}, Problems: []string{}}
	b.report.Soak = rep
	r, err := b.newRig(ctx, "soak", n, rigOptions{label: "soak: "})
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	defer b.closeRig(r, &err)
	if err := r.warmUp(ctx); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	script, err := r.api.createScript(ctx, "soak", "echo soak; date; uname -a")
	if err != nil {
		return err
	}

	start := time.Now()
	sctx, cancel := context.WithDeadline(ctx, start.Add(b.opts.Soak))
	defer cancel()
	load := &soakLoad{byStatus: map[string]int{}}
	var wg sync.WaitGroup

	// The load generator: opts.SoakRate requests a second from 8 workers.
	tokens := make(chan struct{})
	wg.Go(func() {
		defer close(tokens)
		t := time.NewTicker(time.Second / time.Duration(max(1, b.opts.SoakRate)))
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			select {
			case tokens <- struct{}{}:
			default: // the workers are behind: drop, do not queue
			}
		}
	})
	for w := range 8 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			seq := 0
			for range tokens {
				seq++
				b.soakRequest(sctx, r, rnd, load, w, seq)
			}
		})
	}
	// Runs on every client, one batch at a time.
	var batchMu sync.Mutex
	wg.Go(func() {
		t := time.NewTicker(b.opts.SoakRunEvery)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			res, runs, err := r.batch(sctx, apitype.RunsRequest{ScriptID: script.ID, GroupIDs: []apitype.ID{r.group.ID}})
			if sctx.Err() != nil {
				return
			}
			batchMu.Lock()
			rep.Batches++
			rep.Runs += runs
			for _, run := range res.Done {
				if run.Success {
					rep.RunsOK++
				}
			}
			if err != nil && len(rep.Problems) < 10 {
				rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d: %v", rep.Batches, err))
			}
			batchMu.Unlock()
		}
	})
	// A sweep a minute, as an impatient operator would.
	wg.Go(func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			res, err := r.api.sweep(sctx)
			if sctx.Err() != nil {
				return
			}
			batchMu.Lock()
			rep.Sweeps++
			if err == nil && res.Reachable != n && len(rep.Problems) < 10 {
				rep.Problems = append(rep.Problems, fmt.Sprintf("sweep %d: %d of %d reachable", rep.Sweeps, res.Reachable, n))
			}
			batchMu.Unlock()
		}
	})
	// The samples.
	sample := func() {
		st, err := readProc(r.srv.pid)
		if err != nil {
			return
		}
		x := SoakSample{Seconds: round(time.Since(start).Seconds()), RSSMiB: mibOf(st.RSS), AnonMiB: mibOf(st.Anon),
			FileMiB: mibOf(st.File), FDs: st.FDs, Threads: st.Threads, CPUSeconds: round(st.CPU.Seconds())}
		rep.Samples = append(rep.Samples, x)
		b.logf("soak: RSS %.1f MiB (anon %.1f, file %.1f), %d fds, %d threads, CPU %.1f s", x.RSSMiB, x.AnonMiB, x.FileMiB, x.FDs, x.Threads, x.CPUSeconds)
	}
	sample()
	t := time.NewTicker(b.opts.SoakSample)
sampling:
	for {
		select {
		case <-sctx.Done():
			break sampling
		case <-t.C:
			sample()
			if !r.srv.alive() {
				cancel()
			}
		}
	}
	t.Stop()
	wg.Wait()
	sample()
	rep.Seconds = round(time.Since(start).Seconds())

	load.mu.Lock()
	for k, v := range load.byStatus {
		rep.ByStatus[k] = v
		rep.Requests += v
	}
	p50, p99 := percentiles(load.lat)
	rep.APIP50MS, rep.APIP99MS = ms(p50), ms(p99)
	if load.first500 != "" {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d answers were 500, the first: %s", load.byStatus["500"], load.first500))
	}
	load.mu.Unlock()
	if !r.srv.alive() {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the server died: %v", r.srv.exitErr()))
	}
	if len(rep.Samples) > soakMinSamples {
		// The judged signals: the heap and stacks (a leak of memory or
		// goroutines shows in RssAnon: the server has no goroutine
		// endpoint), descriptors, threads, and RSS as a whole, which also
		// counts the pages of the database file that the server maps (it
		// lets go of them every 10 s, or the run history would show).
		rep.flat("RSS anon (MiB)", true, func(x SoakSample) float64 { return x.AnonMiB })
		rep.flat("open fds", true, func(x SoakSample) float64 { return float64(x.FDs) })
		rep.flat("threads", true, func(x SoakSample) float64 { return float64(x.Threads) })
		rep.flat("RSS (MiB), database pages included", true, func(x SoakSample) float64 { return x.RSSMiB })
	} else {
		rep.Problems = append(rep.Problems, fmt.Sprintf("only %d samples: run the soak longer than %d samples (--soak-sample %s) to judge flatness",
			len(rep.Samples), soakMinSamples, b.opts.SoakSample))
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("soak: %d problems, the first: %s", len(rep.Problems), rep.Problems[0])
	}
	return nil
}

// flat adds the flatness check of one metric; a judged one that grows
// is a problem. The first sample, taken right after the warm-up, is left
// out: it still holds the memory the warm-up's key derivations freed,
// which the runtime hands back within seconds.
func (s *SoakReport) flat(name string, judged bool, get func(SoakSample) float64) {
	samples := s.Samples[1:]
	third := len(samples) / 3
	avg := func(xs []SoakSample) float64 {
		sum := 0.0
		for _, x := range xs {
			sum += get(x)
		}
		return sum / float64(len(xs))
	}
	first, last := avg(samples[:third]), avg(samples[len(samples)-third:])
	ratio := last / max(first, 1e-9)
	f := FlatCheck{Metric: name, Judged: judged, First: round(first), Last: round(last), Ratio: round(ratio), Bound: soakFlatBound, Pass: ratio <= soakFlatBound}
	s.Flat = append(s.Flat, f)
	if judged && !f.Pass {
		s.Problems = append(s.Problems, fmt.Sprintf("%s grows: first third %.1f, last third %.1f", name, first, last))
	}
}

func mibOf(b int64) float64 { return round(float64(b) / (1 << 20)) }

// soakRequest is one request of the load generator: mostly reads, some
// writes (a group created, renamed and deleted; a host's environment
// edited).
func (b *Bench) soakRequest(ctx context.Context, r *rig, rnd *rand.Rand, load *soakLoad, worker, seq int) {
	timed := func(what string, fn func() error) {
		t := time.Now()
		err := fn()
		if ctx.Err() != nil {
			return
		}
		load.add(what, time.Since(t), err)
	}
	get := func(path string) {
		timed("GET "+path, func() error { return r.api.Do(ctx, "GET", path, nil, nil) })
	}
	switch p := rnd.IntN(100); {
	case p < 30:
		get("/api/hosts")
	case p < 45:
		get("/api/groups")
	case p < 65:
		get("/api/runs?limit=100")
	case p < 80:
		get("/api/heartbeat")
	case p < 85:
		get("/api/events?c=50")
	case p < 90:
		get("/api/state")
	case p < 96:
		var g apitype.Group
		name := fmt.Sprintf("soak-%d-%d", worker, seq)
		timed("PUT /api/groups/group", func() error {
			var err error
			g, err = r.api.createGroup(ctx, name)
			return err
		})
		if g.ID == "" {
			return
		}
		timed("POST /api/groups/group/{id}", func() error {
			_, err := r.api.EditGroup(ctx, string(g.ID), apitype.GroupRequest{Name: name + "-renamed"})
			return err
		})
		timed("DELETE /api/groups/group/{id}", func() error {
			return r.api.DeleteGroup(ctx, string(g.ID))
		})
	default:
		h := r.hosts[rnd.IntN(len(r.hosts))]
		timed("POST /api/hosts/host/{id}", func() error {
			_, err := r.api.EditHost(ctx, string(h.ID), apitype.HostRequest{
				Name: h.Name, Address: h.Address, Port: h.Port, GroupIDs: h.GroupIDs,
				Environment: []apitype.Variable{{Key: "SOAK", Value: strconv.Itoa(seq)}},
			})
			return err
		})
	}
}
