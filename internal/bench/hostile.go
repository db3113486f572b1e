package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// HostileReport is what the fuzzer saw.
type HostileReport struct {
	Seconds  float64        `json:"seconds"`
	Seed     int64          `json:"seed"`
	Workers  int            `json:"workers"`
	Requests int            `json:"requests"`
	ByStatus map[string]int `json:"by_status"` // HTTP status, or "closed", "timeout", "error"
	ByKind   map[string]int `json:"by_kind"`
	// Errors500 describe the requests answered 500 (the first 20).
	Errors500  []string `json:"errors_500"`
	Panics     []string `json:"panics"`
	ServerDied bool     `json:"server_died"`
	PeakRSSMiB float64  `json:"server_peak_rss_mib"`
	EndRSSMiB  float64  `json:"server_end_rss_mib"`
	CPUSeconds float64  `json:"server_cpu_s"`
	EndFDs     int      `json:"server_end_fds"`

	mu sync.Mutex
}

func (h *HostileReport) count(kind, status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Requests++
	h.ByStatus[status]++
	h.ByKind[kind]++
}

func (h *HostileReport) record500(desc string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.Errors500) < 20 {
		h.Errors500 = append(h.Errors500, desc)
	}
}

func (h *HostileReport) print(w io.Writer) {
	fmt.Fprintf(w, "\nhostile input: %d requests in %.0f s from %d workers (seed %d); server peak RSS %.1f MiB, at the end %.1f MiB and %d fds, CPU %.1f s\n",
		h.Requests, h.Seconds, h.Workers, h.Seed, h.PeakRSSMiB, h.EndRSSMiB, h.EndFDs, h.CPUSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	keys := make([]string, 0, len(h.ByStatus))
	for k := range h.ByStatus {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprint(tw, "  status\tcount\t\n")
	for _, k := range keys {
		fmt.Fprintf(tw, "  %s\t%d\t\n", k, h.ByStatus[k])
	}
	tw.Flush()
	keys = keys[:0]
	for k := range h.ByKind {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprint(w, "  kinds:")
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, h.ByKind[k])
	}
	fmt.Fprintln(w)
	for _, e := range h.Errors500 {
		fmt.Fprintf(w, "  500: %s\n", e)
	}
	for _, p := range h.Panics {
		fmt.Fprintf(w, "  panic in the server log: %s\n", p)
	}
	if h.ServerDied {
		fmt.Fprintln(w, "  THE SERVER DIED")
	}
}

// Fuzzer bounds.
const (
	fuzzRequestTimeout = 10 * time.Second // one request; a slower answer counts as "timeout"
	fuzzTrickleMax     = 3 * time.Second  // how long a slow body or header trickles
	fuzzHugeBody       = 6 << 20          // the largest body sent
	fuzzHugeHeader     = 2 << 20          // the largest header sent
	// fuzzCredsTail is the share of the run, at its end, in which bad
	// credentials are sent: each failure throttles the address (by
	// design), which would turn the rest of the run into 429s.
	fuzzCredsTail = 0.15
)

// fuzzTarget is what the fuzzer knows of the server.
type fuzzTarget struct {
	api     *apiClient   // the fuzz user: an admin the fuzzer never edits
	hostTCP string       // 127.0.0.1:PORT
	ids     []apitype.ID // IDs that exist (some of them)
	batches []string
	users   []string // users that may be edited and deleted
}

// hostile runs the API under a fuzzing client for opts.Hostile.
func (b *Bench) hostile(ctx context.Context) (err error) {
	seed := b.opts.HostileSeed
	if seed == 0 {
		seed = rand.Int64N(math.MaxInt32) + 1
	}
	workers := max(1, b.opts.HostileWorkers)
	rep := &HostileReport{Seed: seed, Workers: workers, ByStatus: map[string]int{}, ByKind: map[string]int{},
		Errors500: []string{}, Panics: []string{}}
	b.report.Hostile = rep
	b.logf("hostile input for %s, seed %d (replay with --hostile-seed %d)", b.opts.Hostile, seed, seed)
	dir := filepath.Join(b.dir, "hostile")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	srv, err := startServer(ctx, b.otto, filepath.Join(dir, "data"), filepath.Join(dir, "server.log"), adminPassword(), serverOptions{env: b.opts.ServerEnv})
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = fmt.Errorf("hostile: stopping the server: %w", serr)
		}
		if err != nil {
			b.keepLog(srv.logPath)
		}
	}()
	target, err := seedHostile(ctx, srv)
	if err != nil {
		return fmt.Errorf("hostile: setting up: %w", err)
	}

	m := startMeter(srv.pid)
	start := time.Now()
	deadline := start.Add(b.opts.Hostile)
	credsFrom := start.Add(time.Duration(float64(b.opts.Hostile) * (1 - fuzzCredsTail)))
	fctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			f := &fuzzer{t: target, rep: rep, rnd: rand.New(rand.NewPCG(uint64(seed), uint64(i))), hc: newHTTPClient()}
			f.hc.Timeout = fuzzRequestTimeout
			for fctx.Err() == nil && srv.alive() {
				if i == 0 && workers > 1 {
					// One worker trickles, so that the others keep the
					// request rate up.
					f.slow(fctx)
					continue
				}
				f.one(fctx, time.Now().After(credsFrom))
			}
		})
	}
	// Watch the server meanwhile: a death ends the run at once.
	go func() {
		select {
		case <-srv.done:
			cancel()
		case <-fctx.Done():
		}
	}()
	wg.Wait()
	u := m.end()
	rep.Seconds = round(time.Since(start).Seconds())
	rep.PeakRSSMiB = round(float64(u.PeakRSS) / (1 << 20))
	rep.EndRSSMiB = round(float64(u.EndRSS) / (1 << 20))
	rep.CPUSeconds = round(u.CPU.Seconds())
	rep.EndFDs = u.EndFDs
	rep.ServerDied = !srv.alive()
	rep.Panics = append(rep.Panics, srv.panicLines()...)

	var problems []string
	if rep.ServerDied {
		problems = append(problems, fmt.Sprintf("the server died: %v", srv.exitErr()))
	} else {
		// Still serving, and still itself.
		// A 429 is an answer too: the bad credentials at the end throttle
		// this address, by design.
		if _, err := target.api.State(ctx); err != nil && statusOf(err) != http.StatusTooManyRequests {
			problems = append(problems, fmt.Sprintf("after the fuzzing, GET /api/state: %v", err))
		}
	}
	if n := rep.ByStatus["500"]; n > 0 {
		problems = append(problems, fmt.Sprintf("%d answers were 500, the first: %s", n, rep.Errors500[0]))
	}
	if len(rep.Panics) > 0 {
		problems = append(problems, fmt.Sprintf("the server logged a panic: %s", rep.Panics[0]))
	}
	if len(problems) > 0 {
		return fmt.Errorf("hostile: %s", strings.Join(problems, "; "))
	}
	return nil
}

// seedHostile creates the fuzz user and records for the fuzzer to find:
// groups, scripts, hosts whose ports nobody listens on (no client ever
// runs a fuzzed script), a schedule, a rule, an attachment and a run.
func seedHostile(ctx context.Context, srv *server) (*fuzzTarget, error) {
	admin, err := login(ctx, srv.url, "admin", adminPassword())
	if err != nil {
		return nil, err
	}
	t := &fuzzTarget{hostTCP: strings.TrimPrefix(srv.url, "http://"), users: []string{"admin", "viewer1", "nobody", ""}}
	fuzzPass := newPSK()[:20]
	if _, err := admin.CreateUser(ctx, apitype.UserRequest{Username: "fuzz", Password: fuzzPass, Role: apitype.RoleAdmin}); err != nil {
		return nil, err
	}
	if _, err := admin.CreateUser(ctx, apitype.UserRequest{Username: "viewer1", Password: newPSK()[:20]}); err != nil {
		return nil, err
	}
	if t.api, err = login(ctx, srv.url, "fuzz", fuzzPass); err != nil {
		return nil, err
	}
	add := func(id apitype.ID) { t.ids = append(t.ids, id) }
	var groups []apitype.ID
	for i := range 3 {
		g, err := admin.createGroup(ctx, fmt.Sprintf("fuzz-group-%d", i))
		if err != nil {
			return nil, err
		}
		add(g.ID)
		groups = append(groups, g.ID)
	}
	var scripts []apitype.ID
	for i := range 3 {
		s, err := admin.createScript(ctx, fmt.Sprintf("fuzz-script-%d", i), "echo fuzz")
		if err != nil {
			return nil, err
		}
		add(s.ID)
		scripts = append(scripts, s.ID)
	}
	var hosts []apitype.ID
	for i := range 4 {
		port, err := deadPort()
		if err != nil {
			return nil, err
		}
		h, err := admin.addHost(ctx, fmt.Sprintf("fuzz-host-%d", i), port, newPSK(), groups[i%len(groups)])
		if err != nil {
			return nil, err
		}
		add(h.ID)
		hosts = append(hosts, h.ID)
	}
	sch, err := admin.CreateSchedule(ctx, apitype.ScheduleRequest{Name: "fuzz-schedule", ScriptID: scripts[0],
		Scope: apitype.Scope{GroupIDs: groups[:1]}, Pattern: "@yearly"})
	if err != nil {
		return nil, err
	}
	add(sch.ID)
	rule, err := admin.CreateRule(ctx, apitype.RegisterRule{Name: "fuzz-rule", GroupID: groups[0],
		Clauses: []apitype.RegisterClause{{Property: "hostname", Pattern: "^fuzz"}}})
	if err != nil {
		return nil, err
	}
	add(rule.ID)
	att, err := admin.UploadAttachment(ctx, apiclient.AttachmentUpload{Path: "/etc/fuzz.conf"}, "fuzz.conf", strings.NewReader("fuzz\n"))
	if err != nil {
		return nil, fmt.Errorf("uploading an attachment: %w", err)
	}
	add(att.ID)
	bt, err := admin.StartRuns(ctx, apitype.RunsRequest{ScriptID: scripts[0], HostIDs: hosts[:2]})
	if err != nil {
		return nil, err
	}
	t.batches = append(t.batches, bt.BatchID)
	for _, r := range bt.Runs {
		add(r.ID)
	}
	return t, nil
}

// deadPort returns a 127.0.0.1 port that nothing listens on (just
// closed), so that hosts the fuzzer reaches never run anything.
func deadPort() (uint32, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port, nil
}

// fuzzer is one worker's state.
type fuzzer struct {
	t   *fuzzTarget
	rep *HostileReport
	rnd *rand.Rand
	hc  *http.Client
}

// one sends one hostile request. With creds it may also send bad
// credentials.
func (f *fuzzer) one(ctx context.Context, creds bool) {
	p := f.rnd.IntN(100)
	switch {
	case creds && p < 20:
		f.badCreds(ctx)
	case p < 55:
		f.route(ctx)
	case p < 63:
		f.garbagePath(ctx)
	case p < 72:
		f.badJSON(ctx)
	case p < 75:
		f.hugeBody(ctx)
	case p < 79:
		f.multipartBody(ctx)
	case p < 84:
		f.hugeHeader(ctx)
	case p < 85:
		f.slow(ctx)
	case p < 94:
		f.rawGarbage(ctx)
	default:
		f.stream(ctx)
	}
}

// fill substitutes a route's parameters.
func (f *fuzzer) fill(pattern string) string {
	for strings.Contains(pattern, "{") {
		i := strings.IndexByte(pattern, '{')
		j := strings.IndexByte(pattern[i:], '}') + i
		name := pattern[i+1 : j]
		var v string
		switch name {
		case "username":
			v = f.pick(f.t.users...)
			if f.rnd.IntN(4) == 0 {
				v = url.PathEscape(f.str())
			}
		case "batch":
			v = f.pick(append(slices.Clone(f.t.batches), "0", "zz", strings.Repeat("f", 32), url.PathEscape(f.str()))...)
		default:
			switch f.rnd.IntN(6) {
			case 0, 1, 2:
				v = url.PathEscape(string(f.t.ids[f.rnd.IntN(len(f.t.ids))]))
			case 3:
				v = f.pick("0", "-1", "9223372036854775807", "9223372036854775808", "1e3", "0x10", "007", " 1")
			case 4:
				v = itoa(f.rnd.Int64N(1000))
			default:
				v = url.PathEscape(f.str())
			}
		}
		pattern = pattern[:i] + v + pattern[j+1:]
	}
	return pattern
}

func (f *fuzzer) pick(vals ...string) string { return vals[f.rnd.IntN(len(vals))] }

// str returns a random string: plain, special, long or binary.
func (f *fuzzer) str() string {
	switch f.rnd.IntN(10) {
	case 0:
		return ""
	case 1:
		return strings.Repeat("A", f.rnd.IntN(100_000))
	case 2:
		b := make([]byte, f.rnd.IntN(64))
		for i := range b {
			b[i] = byte(f.rnd.IntN(256))
		}
		return string(b)
	case 3:
		return f.pick("../../etc/passwd", "/", "%00", "\x00", "ü€𝄞", "<script>", "'; DROP TABLE", "{{.}}", "$(id)", "* * * * *", "@hourly", "TZ=UTC * * * * *", "\r\nX-Injected: 1")
	default:
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789-_ ./"
		b := make([]byte, 1+f.rnd.IntN(24))
		for i := range b {
			b[i] = letters[f.rnd.IntN(len(letters))]
		}
		return string(b)
	}
}

// value returns a random JSON value for key (which may be "").
func (f *fuzzer) value(key string, depth int) any {
	if key == "Address" {
		// Never an address the server could resolve or reach off this
		// machine: loopback, or something invalid.
		return []any{"127.0.0.1", "", "not a host!", 7, nil, "127.0.0.1:1"}[f.rnd.IntN(6)]
	}
	switch n := f.rnd.IntN(12); {
	case n < 3:
		return f.str()
	case n < 6:
		return []any{0, 1, 2, 3, -1, 65535, 65536, math.MaxInt64, math.MinInt64, 1e308, -0.5, 3.14,
			f.rnd.IntN(20), f.rnd.Int64()}[f.rnd.IntN(14)]
	case n < 7:
		return f.rnd.IntN(2) == 0
	case n < 8:
		return nil
	case n < 10 && depth < 4:
		var arr []any
		for range f.rnd.IntN(6) {
			if f.rnd.IntN(2) == 0 {
				arr = append(arr, f.t.ids[f.rnd.IntN(len(f.t.ids))])
			} else {
				arr = append(arr, f.value("", depth+1))
			}
		}
		return arr
	case depth < 4:
		return f.object(depth + 1)
	default:
		return f.str()
	}
}

// object returns a random JSON object of known and unknown fields.
func (f *fuzzer) object(depth int) map[string]any {
	obj := map[string]any{}
	for range f.rnd.IntN(9) {
		k := apiFields[f.rnd.IntN(len(apiFields))]
		if f.rnd.IntN(10) == 0 {
			k = f.str()
		}
		obj[k] = f.value(k, depth)
	}
	return obj
}

// headers sets the fuzz user's credentials, or rarely none or a cookie.
func (f *fuzzer) headers(req *http.Request) {
	switch f.rnd.IntN(20) {
	case 0: // none
	case 1:
		req.AddCookie(&http.Cookie{Name: "otto_session", Value: f.pick("x", strings.Repeat("a", 64), "")})
		req.Header.Set("X-OTTO-CSRF", "1")
	default:
		req.Header.Set("X-OTTO-USERNAME", f.t.api.user)
		req.Header.Set("X-OTTO-API-KEY", f.t.api.key)
	}
	if f.rnd.IntN(10) == 0 {
		req.Header.Set("Origin", f.pick("http://evil.example", "null", "http://"+f.t.hostTCP))
	}
}

// send sends req and counts its answer. desc describes it for a 500.
func (f *fuzzer) send(ctx context.Context, kind string, req *http.Request, desc string) {
	req = req.WithContext(ctx)
	resp, err := f.hc.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return // the run ended
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout"):
			f.rep.count(kind, "timeout")
		default:
			f.rep.count(kind, "error")
		}
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	f.rep.count(kind, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode == http.StatusInternalServerError {
		f.rep.record500(desc)
	}
}

func describe(method, path string, body []byte) string {
	if len(body) > 200 {
		body = append(body[:200:200], "..."...)
	}
	return fmt.Sprintf("%s %s %q", method, path, body)
}

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"}

// route sends a request to a documented route with a random JSON body.
func (f *fuzzer) route(ctx context.Context) {
	rt := apiRoutes[f.rnd.IntN(len(apiRoutes))]
	if rt.Pattern == "/api/login" || strings.HasSuffix(rt.Pattern, "/stream") || rt.Pattern == "/api/action/async" {
		// Logins throttle (bad creds come at the end); streams have their
		// own kind.
		rt = apiRoutes[2]
	}
	method := rt.Method
	if f.rnd.IntN(8) == 0 {
		method = fuzzMethods[f.rnd.IntN(len(fuzzMethods))]
	}
	path := f.fill(rt.Pattern)
	if f.rnd.IntN(5) == 0 {
		q := url.Values{}
		for range 1 + f.rnd.IntN(3) {
			q.Set(f.pick("c", "limit", "before", "host", "script", "schedule", "batch", f.str()), f.pick("1", "0", "-5", "10001", "abc", f.str()))
		}
		path += "?" + q.Encode()
	}
	var body []byte
	if method != "GET" && method != "HEAD" || f.rnd.IntN(10) == 0 {
		var v any = f.object(0)
		if f.rnd.IntN(6) == 0 {
			v = f.value("", 0)
		}
		body, _ = json.Marshal(v)
	}
	req, err := http.NewRequest(method, "http://"+f.t.hostTCP+path, bytes.NewReader(body))
	if err != nil {
		f.rep.count("route", "bad-request-url")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	f.headers(req)
	f.send(ctx, "route", req, describe(method, path, body))
}

// garbagePath sends a request to a path no route has, or a mangled one.
func (f *fuzzer) garbagePath(ctx context.Context) {
	rt := apiRoutes[f.rnd.IntN(len(apiRoutes))]
	var path string
	switch f.rnd.IntN(6) {
	case 0:
		path = "/api/" + url.PathEscape(f.str())
	case 1:
		path = strings.Replace(rt.Pattern, "/api/", "/api//", 1)
	case 2:
		path = f.fill(rt.Pattern) + "/" + url.PathEscape(f.str())
	case 3:
		path = "/api/" + strings.Repeat("a/", 2000+f.rnd.IntN(4000))
	case 4:
		path = "/" + url.PathEscape(f.str())
	default:
		path = "/api/../api/hosts/%2e%2e/%2fhost"
	}
	method := fuzzMethods[f.rnd.IntN(len(fuzzMethods))]
	req, err := http.NewRequest(method, "http://"+f.t.hostTCP+path, nil)
	if err != nil {
		f.rep.count("garbage-path", "bad-request-url")
		return
	}
	f.headers(req)
	f.send(ctx, "garbage-path", req, describe(method, path, nil))
}

// writeRoutes are the routes that take a body.
func writeRoutes() []apitype.Route {
	var out []apitype.Route
	for _, rt := range apiRoutes {
		if rt.Method != "GET" && rt.Pattern != "/api/login" && rt.Pattern != "/api/action/async" {
			out = append(out, rt)
		}
	}
	return out
}

// badJSON sends a body that is not JSON, or JSON of the wrong shape.
func (f *fuzzer) badJSON(ctx context.Context) {
	ws := writeRoutes()
	rt := ws[f.rnd.IntN(len(ws))]
	bodies := []string{
		`{`, `{"Name":`, `{"Name": "x",}`, `[]`, `null`, `"str"`, `12`, `{"Name": "x"} trailing`,
		strings.Repeat("[", 100_000), strings.Repeat(`{"a":`, 10_000), `{"Port": 1e400}`, `{"ID": "1"}`,
		`{"Name": "\ud800"}`, "\xff\xfe\x00", `{"Name":"x","Name":"y"}`, `{"GroupIDs": [1, "a", null]}`,
		`{"Environment": [{"Key": "", "Value": "x"}]}`, `{"Scope": {"HostIDs": [-1]}}`, `{"Pattern": "61 * * * *"}`,
	}
	body := []byte(bodies[f.rnd.IntN(len(bodies))])
	path := f.fill(rt.Pattern)
	req, _ := http.NewRequest(rt.Method, "http://"+f.t.hostTCP+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", f.pick("application/json", "text/plain", "multipart/form-data; boundary=x", ""))
	f.headers(req)
	f.send(ctx, "bad-json", req, describe(rt.Method, path, body))
}

// hugeBody sends a body far over the JSON limit.
func (f *fuzzer) hugeBody(ctx context.Context) {
	ws := writeRoutes()
	rt := ws[f.rnd.IntN(len(ws))]
	n := 1<<20 + f.rnd.IntN(fuzzHugeBody-1<<20)
	var body []byte
	if f.rnd.IntN(2) == 0 {
		body = []byte(`{"Name": "` + strings.Repeat("x", n) + `"}`)
	} else {
		body = bytes.Repeat([]byte{'['}, n)
	}
	path := f.fill(rt.Pattern)
	req, _ := http.NewRequest(rt.Method, "http://"+f.t.hostTCP+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	f.headers(req)
	f.send(ctx, "huge-body", req, describe(rt.Method, path, body))
}

// multipartBody sends an attachment form, well-formed or not.
func (f *fuzzer) multipartBody(ctx context.Context) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for range f.rnd.IntN(6) {
		name := f.pick("Path", "Mode", "UID", "GID", "Inherit", "Name", "file", "Other", f.str())
		if name == "file" {
			fw, _ := mw.CreateFormFile("file", f.str())
			fw.Write([]byte(f.str()))
		} else {
			mw.WriteField(name, f.pick("/etc/x", "0644", "9999", "-1", "true", "relative/path", f.str()))
		}
	}
	if f.rnd.IntN(5) != 0 {
		mw.Close()
	}
	method, path := "PUT", "/api/attachments"
	if f.rnd.IntN(3) == 0 {
		method, path = "POST", f.fill("/api/attachments/attachment/{id}")
	}
	data := body.Bytes()
	req, _ := http.NewRequest(method, "http://"+f.t.hostTCP+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", f.pick(mw.FormDataContentType(), "multipart/form-data", "multipart/form-data; boundary="))
	f.headers(req)
	f.send(ctx, "multipart", req, describe(method, path, data))
}

// badCreds sends wrong credentials, logins and registrations. Only at the
// end of the run: failures throttle the address.
func (f *fuzzer) badCreds(ctx context.Context) {
	var req *http.Request
	var body []byte
	switch f.rnd.IntN(4) {
	case 0:
		body, _ = json.Marshal(map[string]any{"Username": f.pick("admin", "fuzz", f.str()), "Password": f.str()})
		if f.rnd.IntN(3) == 0 {
			body, _ = json.Marshal(f.value("", 0))
		}
		req, _ = http.NewRequest("POST", "http://"+f.t.hostTCP+"/api/login", bytes.NewReader(body))
	case 1:
		body, _ = json.Marshal(map[string]any{"key": f.str(), "port": f.value("", 2), "properties": f.object(2)})
		req, _ = http.NewRequest("PUT", "http://"+f.t.hostTCP+"/api/register", bytes.NewReader(body))
		req.Header.Set("X-OTTO-PROTO-VERSION", f.pick("2", "1", "", f.str()))
	default:
		rt := apiRoutes[f.rnd.IntN(len(apiRoutes))]
		req, _ = http.NewRequest(rt.Method, "http://"+f.t.hostTCP+f.fill(rt.Pattern), nil)
		req.Header.Set("X-OTTO-USERNAME", f.pick("fuzz", "admin", "", f.str()))
		req.Header.Set("X-OTTO-API-KEY", f.pick("", "x", strings.Repeat("0", 64), f.str()))
	}
	if req == nil {
		f.rep.count("bad-creds", "bad-request-url")
		return
	}
	f.send(ctx, "bad-creds", req, describe(req.Method, req.URL.Path, body))
}

// stream opens a live stream briefly.
func (f *fuzzer) stream(ctx context.Context) {
	pattern := f.pick("/api/runs/run/{id}/stream", "/api/runs/batch/{batch}/stream")
	path := f.fill(pattern)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", "http://"+f.t.hostTCP+path, nil)
	f.headers(req)
	resp, err := f.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			f.rep.count("stream", "error")
		}
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // ends with the stream or the timeout
	resp.Body.Close()
	f.rep.count("stream", strconv.Itoa(resp.StatusCode))
	if resp.StatusCode == http.StatusInternalServerError {
		f.rep.record500(describe("GET", path, nil))
	}
}

// raw opens a TCP connection to the server for hand-made requests.
func (f *fuzzer) raw(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", f.t.hostTCP)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(fuzzRequestTimeout + fuzzTrickleMax))
	return c, nil
}

// readRaw reads the answer on c, if any, and counts it.
func (f *fuzzer) readRaw(ctx context.Context, c net.Conn, kind, desc string) {
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
		case errors.As(err, &ne) && ne.Timeout():
			f.rep.count(kind, "timeout")
		default:
			f.rep.count(kind, "closed")
		}
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	f.rep.count(kind, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode == http.StatusInternalServerError {
		f.rep.record500(desc)
	}
}

// authHeader is the fuzz user's credentials as raw header lines.
func (f *fuzzer) authHeader() string {
	return "X-OTTO-USERNAME: " + f.t.api.user + "\r\nX-OTTO-API-KEY: " + f.t.api.key + "\r\n"
}

// slow sends a slow body or a slow header.
func (f *fuzzer) slow(ctx context.Context) {
	if f.rnd.IntN(2) == 0 {
		f.slowBody(ctx)
	} else {
		f.slowHeader(ctx)
	}
}

// hugeHeader sends a header of up to 2 MiB.
func (f *fuzzer) hugeHeader(ctx context.Context) {
	c, err := f.raw(ctx)
	if err != nil {
		f.rep.count("huge-header", "error")
		return
	}
	defer c.Close()
	n := 8<<10 + f.rnd.IntN(fuzzHugeHeader)
	var b strings.Builder
	b.WriteString("GET /api/hosts HTTP/1.1\r\nHost: " + f.t.hostTCP + "\r\n" + f.authHeader())
	if f.rnd.IntN(2) == 0 {
		b.WriteString("X-Big: " + strings.Repeat("b", n) + "\r\n")
	} else {
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "X-H-%d: v\r\n", i)
		}
	}
	b.WriteString("\r\n")
	go func() { io.WriteString(c, b.String()) }() // the server may stop reading
	f.readRaw(ctx, c, "huge-header", fmt.Sprintf("GET /api/hosts with %d bytes of headers", n))
}

// slowBody announces a body and trickles it, then finishes it or hangs up.
func (f *fuzzer) slowBody(ctx context.Context) {
	c, err := f.raw(ctx)
	if err != nil {
		f.rep.count("slow-body", "error")
		return
	}
	defer c.Close()
	body := []byte(`{"Name": "slow-` + strconv.Itoa(f.rnd.IntN(1<<30)) + `"}`)
	path := f.fill(f.pick("/api/groups/group", "/api/scripts/script", "/api/search/system", "/api/hosts/host/{id}"))
	method := "PUT"
	if strings.HasPrefix(path, "/api/search") || strings.HasPrefix(path, "/api/hosts/host/") {
		method = "POST"
	}
	announced := len(body)
	if f.rnd.IntN(3) == 0 {
		announced += 1000 // never all sent
	}
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		method, path, f.t.hostTCP, f.authHeader(), announced)
	every := time.Duration(10+f.rnd.IntN(200)) * time.Millisecond
	stop := time.Now().Add(fuzzTrickleMax)
	for i := 0; i < len(body) && time.Now().Before(stop); i++ {
		if _, err := c.Write(body[i : i+1]); err != nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
	if announced > len(body) || time.Now().After(stop) {
		f.rep.count("slow-body", "hung-up")
		return
	}
	f.readRaw(ctx, c, "slow-body", describe(method, path, body))
}

// slowHeader trickles a request's header (slowloris) and hangs up.
func (f *fuzzer) slowHeader(ctx context.Context) {
	c, err := f.raw(ctx)
	if err != nil {
		f.rep.count("slow-header", "error")
		return
	}
	defer c.Close()
	hdr := "GET /api/state HTTP/1.1\r\nHost: " + f.t.hostTCP + "\r\nX-Slow: "
	stop := time.Now().Add(fuzzTrickleMax)
	for i := 0; time.Now().Before(stop); i++ {
		if _, err := io.WriteString(c, hdr[i%len(hdr):i%len(hdr)+1]); err != nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	f.rep.count("slow-header", "hung-up")
}

// rawGarbage sends bytes that are not quite HTTP.
func (f *fuzzer) rawGarbage(ctx context.Context) {
	c, err := f.raw(ctx)
	if err != nil {
		f.rep.count("raw", "error")
		return
	}
	defer c.Close()
	h := f.t.hostTCP
	reqs := []string{
		"GARBAGE\r\n\r\n",
		"GET /api/hosts HTTP/9.9\r\nHost: " + h + "\r\n\r\n",
		"GET /api/hosts\r\n\r\n",
		"GET /api/hosts HTTP/1.0\r\n" + f.authHeader() + "\r\n",
		"POST /api/groups/group HTTP/1.1\r\nHost: " + h + "\r\n" + f.authHeader() + "Transfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
		"PUT /api/groups/group HTTP/1.1\r\nHost: " + h + "\r\n" + f.authHeader() + "Content-Length: -1\r\n\r\n{}",
		"PUT /api/groups/group HTTP/1.1\r\nHost: " + h + "\r\n" + f.authHeader() + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"GET /api/state HTTP/1.1\r\nHost: " + h + "\r\n" + f.authHeader() + "\r\nGET /api/hosts HTTP/1.1\r\nHost: " + h + "\r\n" + f.authHeader() + "\r\n",
		"GET /api/state HTTP/1.1\r\nHost: " + h + "\r\nX-OTTO-USERNAME: fuzz\r\nX-OTTO-USERNAME: admin\r\nX-OTTO-API-KEY: " + f.t.api.key + "\r\n\r\n",
		"GET /api/state HTTP/1.1\r\nHost: " + h + "\r\nBad Header Line\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		string(make([]byte, 1+f.rnd.IntN(4096))),
	}
	req := reqs[f.rnd.IntN(len(reqs))]
	go func() { io.WriteString(c, req) }()
	f.readRaw(ctx, c, "raw", fmt.Sprintf("raw %q", firstLine(req)))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
