package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Report is what a run measured, printed as tables and written as JSON.
type Report struct {
	Machine  Machine        `json:"machine"`
	Started  time.Time      `json:"started"`
	Seconds  float64        `json:"seconds"`
	Phases   []Phase        `json:"phases"`
	Budgets  []Budget       `json:"budgets"`
	Soak     *SoakReport    `json:"soak,omitempty"`
	Hostile  *HostileReport `json:"hostile,omitempty"`
	Crash    *CrashReport   `json:"crash,omitempty"`
	Failures []string       `json:"failures"`

	start time.Time
	mu    sync.Mutex
}

// Machine describes where the numbers come from.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemoryMiB int64  `json:"memory_mib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Otto      string `json:"otto"`
}

// Phase is one measured step.
type Phase struct {
	Name  string `json:"phase"`
	N     int    `json:"n"`     // clients registered
	Hosts int    `json:"hosts"` // hosts the step involved
	OK    int    `json:"ok"`    // hosts for which it worked
	// WallMS is the time the caller waited, end to end through the API.
	WallMS float64 `json:"wall_ms"`
	// P50MS and P99MS are per host: a heartbeat's LastAttempt to
	// LastReply, a run's Duration, a rotation request's round trip.
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// ServerPeakRSSMiB is the server's peak RSS during the step.
	ServerPeakRSSMiB float64 `json:"server_peak_rss_mib"`
	// ServerPeakAnonMiB is the highest of the server's RssAnon sampled
	// every 20 ms: its heap and stacks, without the pages of the database
	// file it maps (which RSS counts once read, and the kernel can drop).
	ServerPeakAnonMiB float64 `json:"server_peak_anon_mib"`
	ServerCPUSeconds  float64 `json:"server_cpu_s"`
	// BenchCPUSeconds is otto-bench's own CPU time: the clients.
	BenchCPUSeconds float64 `json:"bench_cpu_s"`
	// Load1 is the machine's 1-minute load average at the end: other
	// work on a shared machine shows here.
	Load1 float64 `json:"load1"`
	Note  string  `json:"note,omitempty"`
}

// Budget compares a measurement with issue 9's budget.
type Budget struct {
	What     string  `json:"what"`
	Measured float64 `json:"measured"`
	Limit    float64 `json:"limit"`
	Unit     string  `json:"unit"`
	// Max says the limit is an upper bound; otherwise it is a lower one.
	Max  bool `json:"max"`
	Pass bool `json:"pass"`
}

func newReport() *Report {
	now := time.Now()
	return &Report{Started: now.UTC(), start: now, Phases: []Phase{}, Budgets: []Budget{}, Failures: []string{}}
}

func (r *Report) add(p Phase) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Phases = append(r.Phases, p)
}

func (r *Report) budget(what string, measured, limit float64, unit string, isMax bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pass := measured >= limit
	if isMax {
		pass = measured <= limit
	}
	r.Budgets = append(r.Budgets, Budget{What: what, Measured: round(measured), Limit: limit, Unit: unit, Max: isMax, Pass: pass})
}

func (r *Report) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// find returns the phase name of fleet size n.
func (r *Report) find(name string, n int) (Phase, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.Phases {
		if p.Name == name && p.N == n {
			return p, true
		}
	}
	return Phase{}, false
}

func (r *Report) finish() {
	r.Seconds = round(time.Since(r.start).Seconds())
}

// phase builds a Phase from a wall time, per-host latencies and usage.
func phase(name string, n, hosts, ok int, wall time.Duration, lat []time.Duration, u usage, note string) Phase {
	p50, p99 := percentiles(lat)
	return Phase{
		Name: name, N: n, Hosts: hosts, OK: ok,
		WallMS:            ms(wall),
		P50MS:             ms(p50),
		P99MS:             ms(p99),
		ServerPeakRSSMiB:  round(float64(u.PeakRSS) / (1 << 20)),
		ServerPeakAnonMiB: round(float64(u.PeakAnon) / (1 << 20)),
		ServerCPUSeconds:  round(u.CPU.Seconds()),
		BenchCPUSeconds:   round(u.BenchCPU.Seconds()),
		Load1:             loadAvg(),
		Note:              note,
	}
}

// loadAvg is the 1-minute load average, or 0.
func loadAvg() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscanf(string(data), "%f", &l)
	return l
}

// percentiles returns the 50th and 99th percentile of lat, nearest rank.
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return rank(0.50), rank(0.99)
}

func ms(d time.Duration) float64 { return round(float64(d) / float64(time.Millisecond)) }

// round keeps three significant decimals, for readable JSON.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// fmtDur prints milliseconds in a unit a person reads at a glance.
func fmtDur(msec float64) string {
	switch {
	case msec == 0:
		return "-"
	case msec < 10:
		return fmt.Sprintf("%.2f ms", msec)
	case msec < 1000:
		return fmt.Sprintf("%.0f ms", msec)
	default:
		return fmt.Sprintf("%.2f s", msec/1000)
	}
}

// print writes the tables.
func (r *Report) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.Machine
	fmt.Fprintf(w, "\nmachine: %d CPUs, %s, %d MiB, Linux %s, %s; %s\n", m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.Go, m.Otto)
	if len(r.Phases) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "phase\tN\tok/hosts\twall\tp50/host\tp99/host\tsrv peak RSS\tanon\tsrv CPU\tbench CPU\tload\t")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%d\t%d/%d\t%s\t%s\t%s\t%.1f MiB\t%.1f MiB\t%.2f s\t%.2f s\t%.1f\t\n", p.Name, p.N, p.OK, p.Hosts,
				fmtDur(p.WallMS), fmtDur(p.P50MS), fmtDur(p.P99MS), p.ServerPeakRSSMiB, p.ServerPeakAnonMiB, p.ServerCPUSeconds, p.BenchCPUSeconds, p.Load1)
		}
		tw.Flush()
		for _, p := range r.Phases {
			if p.Note != "" {
				fmt.Fprintf(w, "  %s (N=%d): %s\n", p.Name, p.N, p.Note)
			}
		}
	}
	if len(r.Budgets) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "budget\tmeasured\tlimit\t")
		for _, b := range r.Budgets {
			op, verdict := ">=", "ok"
			if b.Max {
				op = "<="
			}
			if !b.Pass {
				verdict = "MISSED"
			}
			fmt.Fprintf(tw, "%s\t%g %s\t%s %g %s\t%s\n", b.What, b.Measured, b.Unit, op, b.Limit, b.Unit, verdict)
		}
		tw.Flush()
	}
	if r.Soak != nil {
		r.Soak.print(w)
	}
	if r.Hostile != nil {
		r.Hostile.print(w)
	}
	if r.Crash != nil {
		r.Crash.print(w)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\nFAILED checks (%d):\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	} else {
		fmt.Fprintln(w, "\nall checks passed")
	}
}

// describeMachine reads the CPU model, memory and kernel, and asks otto
// its version.
func describeMachine(otto string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if st, err := readMeminfo(); err == nil {
		m.MemoryMiB = st
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command(otto, "version").Output(); err == nil {
		m.Otto, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	return m
}

func readMeminfo() (int64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb >> 10, nil
		}
	}
	return 0, fmt.Errorf("no MemTotal")
}
