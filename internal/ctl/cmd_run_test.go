package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// runFixture is a fake API with three hosts, a group of them and a
// script, whose POST /api/runs starts one run per host.
type runFixture struct {
	*fakeAPI
	mu    sync.Mutex
	req   apitype.RunsRequest
	runs  []apitype.Run // as they end
	hosts []apitype.Host
}

func newRunFixture(t *testing.T, hosts ...string) *runFixture {
	f := &runFixture{fakeAPI: newFakeAPI(t)}
	for i, h := range hosts {
		f.hosts = append(f.hosts, apitype.Host{ID: apitype.ID(strconv.Itoa(i + 1)), Name: h})
	}
	f.mux.HandleFunc("GET /api/hosts", func(w http.ResponseWriter, r *http.Request) { reply(w, f.hosts) })
	f.mux.HandleFunc("GET /api/groups", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []apitype.Group{{ID: "1", Name: "all"}})
	})
	f.mux.HandleFunc("GET /api/scripts", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []apitype.Script{{ID: "7", Name: "uptime"}})
	})
	f.mux.HandleFunc("POST /api/runs", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if err := json.NewDecoder(r.Body).Decode(&f.req); err != nil {
			replyErr(w, 400, err.Error())
			return
		}
		b := apitype.Batch{BatchID: "b1"}
		for i, h := range f.hosts {
			b.Runs = append(b.Runs, apitype.Run{ID: apitype.ID(strconv.Itoa(11 + i)), BatchID: "b1", ScriptID: "7", ScriptName: "uptime",
				HostID: h.ID, HostName: h.Name, State: apitype.RunPending})
		}
		reply(w, b)
	})
	f.mux.HandleFunc("GET /api/runs/run/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, run := range f.runs {
			if fmt.Sprint(run.ID) == r.PathValue("id") {
				reply(w, run)
				return
			}
		}
		replyErr(w, 404, "no run "+r.PathValue("id"))
	})
	return f
}

// final sets the runs as they end: web1 succeeds, web2 fails with exit 1,
// web3 cannot be reached.
func (f *runFixture) final() {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := []apitype.Run{
		{State: apitype.RunDone, Success: true, ExitCode: 0, Stdout: "up 3 days\nload 0.1\n", Duration: 1500 * time.Millisecond},
		{State: apitype.RunDone, Success: false, ExitCode: 1, Stdout: "partial", Stderr: "disk full\n", Duration: 2 * time.Second},
		{State: apitype.RunFailed, Error: "dial tcp 10.0.0.3:12444: connection refused"},
	}
	f.runs = nil
	for i, h := range f.hosts {
		r := all[i]
		r.ID, r.BatchID, r.ScriptID, r.ScriptName, r.HostID, r.HostName = apitype.ID(strconv.Itoa(11+i)), "b1", "7", "uptime", h.ID, h.Name
		f.runs = append(f.runs, r)
	}
}

func sse(w http.ResponseWriter, event string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	w.(http.Flusher).Flush()
}

func (f *runFixture) streamAll(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	out := func(id int, stream, data string) {
		h := f.hosts[id-11]
		sse(w, "output", apitype.Output{RunID: apitype.ID(strconv.Itoa(id)), HostID: h.ID, HostName: h.Name, Stream: stream, Data: data})
	}
	fmt.Fprint(w, ": hello\n\n")
	for i, h := range f.hosts {
		sse(w, "state", apitype.Run{ID: apitype.ID(strconv.Itoa(11 + i)), BatchID: "b1", HostID: h.ID, HostName: h.Name, State: apitype.RunRunning})
	}
	// Lines arrive in pieces, interleaved between hosts and streams.
	out(11, "stdout", "up 3")
	out(12, "stdout", "par")
	out(11, "stdout", " days\nload")
	out(12, "stderr", "disk full\n")
	out(11, "stdout", " 0.1\n")
	out(12, "stdout", "tial")
	f.final()
	for _, run := range f.runs {
		run.Stdout, run.Stderr = "", ""
		sse(w, "done", run)
	}
	sse(w, "end", struct{}{})
}

func TestRunFollowsThreeHosts(t *testing.T) {
	f := newRunFixture(t, "web1", "web2", "web3")
	f.mux.HandleFunc("GET /api/runs/batch/b1/stream", f.streamAll)
	f.use(t)
	r := ctlRun(t, "", "run", "uptime", "--host", "web1,web2", "--group", "all")
	if r.code != ExitUnreachable {
		t.Errorf("exit code = %d, want 3 (web3 unreachable wins over web2's failure)\n%s", r.code, r.stderr)
	}
	if f.req.ScriptID != "7" || fmt.Sprint(f.req.HostIDs) != "[1 2]" || fmt.Sprint(f.req.GroupIDs) != "[1]" {
		t.Errorf("POST /api/runs body = %+v, want script 7, hosts [1 2], group [1]", f.req)
	}
	wantOut := "web1: up 3 days\nweb1: load 0.1\nweb2: partial\n"
	if r.stdout != wantOut {
		t.Errorf("stdout = %q, want %q", r.stdout, wantOut)
	}
	for _, want := range []string{
		"web2: disk full\n",
		"HOST  STATE   EXIT  DURATION  ERROR\n",
		"web1  done    0     1.5s",
		"web2  done    1     2s",
		"web3  failed  -     -         dial tcp 10.0.0.3:12444: connection refused",
		"ottoctl: 2 of 3 host(s): the script failed on web2; could not run on web3 (see ERROR)\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestRunJSON(t *testing.T) {
	f := newRunFixture(t, "web1", "web2", "web3")
	f.mux.HandleFunc("GET /api/runs/batch/b1/stream", f.streamAll)
	f.use(t)
	r := ctlRun(t, "", "run", "uptime", "--group", "all", "--json")
	if r.code != ExitUnreachable {
		t.Errorf("exit code = %d, want 3", r.code)
	}
	var b apitype.Batch
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
		t.Fatalf("stdout is not the batch JSON: %v\n%s", err, r.stdout)
	}
	if b.BatchID != "b1" || len(b.Runs) != 3 || b.Runs[0].Stdout != "up 3 days\nload 0.1\n" || b.Runs[1].Stderr != "disk full\n" {
		t.Errorf("batch = %+v", b)
	}
	var e errorJSON
	if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Type != "error" || e.Code != 3 {
		t.Errorf("stderr = %q (%v), want one JSON error with code 3", r.stderr, err)
	}
}

func TestRunOneHostRawOutput(t *testing.T) {
	f := newRunFixture(t, "web1")
	f.mux.HandleFunc("GET /api/runs/batch/b1/stream", func(w http.ResponseWriter, r *http.Request) {
		sse(w, "output", apitype.Output{RunID: "11", HostID: "1", HostName: "web1", Stream: "stdout", Data: "no prefix, no newline"})
		f.final()
		run := f.runs[0]
		run.Stdout = ""
		sse(w, "done", run)
		sse(w, "end", struct{}{})
	})
	f.use(t)
	r := ctlRun(t, "", "run", "7", "--host", "1", "--quiet")
	if r.code != ExitOK || r.stdout != "no prefix, no newline" || r.stderr != "" {
		t.Errorf("run = %+v; want exit 0, the raw output and no summary (--quiet)", r)
	}
}

func TestRunFallsBackToPolling(t *testing.T) {
	f := newRunFixture(t, "web1", "web2")
	var polls int
	f.mux.HandleFunc("GET /api/runs/batch/b1/stream", func(w http.ResponseWriter, r *http.Request) {
		replyErr(w, 404, "no API route GET /api/runs/batch/b1/stream")
	})
	f.mux.HandleFunc("GET /api/runs", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("batch") != "b1" {
			replyErr(w, 400, "want batch=b1")
			return
		}
		polls++
		if polls == 1 {
			reply(w, []apitype.Run{{ID: "11", BatchID: "b1", HostName: "web1", State: apitype.RunRunning}})
			return
		}
		f.final()
		reply(w, f.runs)
	})
	f.use(t)
	g, err := newTestGlobals()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	err = runRun(context.Background(), runOpts{script: "uptime", hosts: []string{"web1", "web2"}, follow: true, poll: time.Millisecond}, g, &out, &errOut)
	if exitCode(err) != ExitError {
		t.Errorf("runRun = %v, want exit 1 (web2 failed)", err)
	}
	if want := "web1: up 3 days\nweb1: load 0.1\nweb2: partial\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "live output stopped (no API route") || !strings.Contains(errOut.String(), "web2: disk full") {
		t.Errorf("stderr = %q", errOut.String())
	}
}

func TestRunStreamGoesSilent(t *testing.T) {
	f := newRunFixture(t, "web1")
	f.mux.HandleFunc("GET /api/runs/batch/b1/stream", func(w http.ResponseWriter, r *http.Request) {
		sse(w, "output", apitype.Output{RunID: "11", Stream: "stdout", Data: "up 3"})
		<-r.Context().Done() // then nothing, not even keepalives
	})
	f.mux.HandleFunc("GET /api/runs", func(w http.ResponseWriter, r *http.Request) {
		f.final()
		reply(w, f.runs)
	})
	f.use(t)
	g, _ := newTestGlobals()
	var out, errOut strings.Builder
	err := runRun(context.Background(), runOpts{script: "uptime", hosts: []string{"web1"}, follow: true,
		idle: 50 * time.Millisecond, poll: time.Millisecond}, g, &out, &errOut)
	if err != nil {
		t.Errorf("runRun = %v, want success", err)
	}
	if out.String() != "up 3 days\nload 0.1\n" {
		t.Errorf("stdout = %q: the part after the stream stopped should come from the stored run", out.String())
	}
	if !strings.Contains(errOut.String(), "sent nothing for 50ms") {
		t.Errorf("stderr = %q", errOut.String())
	}
}

func TestRunInterrupted(t *testing.T) {
	f := newRunFixture(t, "web1", "web2")
	f.mux.HandleFunc("GET /api/runs/batch/b1/stream", func(w http.ResponseWriter, r *http.Request) {
		sse(w, "output", apitype.Output{RunID: "11", HostName: "web1", Stream: "stdout", Data: "a line\nhalf a line"})
		<-r.Context().Done()
	})
	f.use(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := newSignalWriter()
	go func() { <-out.written; cancel() }() // Ctrl-C once output came
	r := ctlRunTo(t, ctx, out, "", "run", "uptime", "--host", "web1", "--host", "web2")
	if r.code != ExitInterrupted {
		t.Errorf("exit code = %d, want 130\n%s", r.code, r.stderr)
	}
	if r.stdout != "web1: a line\nweb1: half a line\n" {
		t.Errorf("stdout = %q: the partial line must be printed, ended", r.stdout)
	}
	if !strings.Contains(r.stderr, "ottoctl runs cancel 11 12") {
		t.Errorf("stderr = %q, want the cancel command", r.stderr)
	}
}

func TestRunNoFollow(t *testing.T) {
	f := newRunFixture(t, "web1", "web2")
	f.use(t)
	r := ctlRun(t, "", "run", "uptime", "--group", "all", "--no-follow")
	if r.code != 0 || r.stdout != "11\n12\n" || !strings.Contains(r.stderr, "batch b1") {
		t.Errorf("run --no-follow = %+v", r)
	}
	r = ctlRun(t, "", "run", "uptime", "--group", "all", "--no-follow", "--json")
	var b apitype.Batch
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil || b.BatchID != "b1" || len(b.Runs) != 2 {
		t.Errorf("run --no-follow --json = %+v (%v)", r, err)
	}
}

func TestRunUsage(t *testing.T) {
	f := newRunFixture(t, "web1")
	f.use(t)
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"run", "uptime"}, "--host HOST or --group GROUP", ExitUsage},
		{[]string{"run", "--host", "web1"}, "needs SCRIPT", ExitUsage},
		{[]string{"run", "nosuch", "--host", "web1"}, `no script with the name or ID "nosuch"`, ExitError},
		{[]string{"run", "uptime", "--host", "web9"}, `no host with the name or ID "web9" (see "ottoctl hosts ls")`, ExitError},
		{[]string{"run", "uptime", "--host"}, "flag needs an argument", ExitUsage},
	} {
		r := ctlRun(t, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q = %+v; want exit %d and %q", tc.args, r, tc.code, tc.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	ok := apitype.Run{HostName: "a", State: apitype.RunDone, Success: true}
	bad := apitype.Run{HostName: "b", State: apitype.RunDone, ExitCode: 2}
	gone := apitype.Run{HostName: "c", State: apitype.RunFailed, Error: "refused"}
	stop := apitype.Run{HostName: "d", State: apitype.RunCanceled}
	for _, tc := range []struct {
		runs []apitype.Run
		want int
	}{
		{[]apitype.Run{ok}, ExitOK},
		{[]apitype.Run{ok, bad}, ExitError},
		{[]apitype.Run{ok, stop}, ExitError},
		{[]apitype.Run{ok, gone}, ExitUnreachable},
		{[]apitype.Run{bad, gone, stop}, ExitUnreachable},
	} {
		if got := exitCode(outcome(tc.runs)); got != tc.want {
			t.Errorf("outcome(%v) exits %d, want %d", tc.runs, got, tc.want)
		}
	}
}

// newTestGlobals builds globals from the environment, as a command does.
func newTestGlobals() (*globals, error) {
	var g globals
	g.getenv = func(k string) string { return getenvTest(k) }
	g.stdin = strings.NewReader("")
	g.stderr = new(strings.Builder)
	g.loc = time.UTC
	return &g, nil
}

func TestLineBuffer(t *testing.T) {
	var b strings.Builder
	lb := &lineBuffer{prefix: "web1: ", w: &b}
	for _, chunk := range []string{"hel", "lo\nwor", "ld\n", "\n", "no end"} {
		lb.write(chunk)
	}
	if got, want := b.String(), "web1: hello\nweb1: world\nweb1: \n"; got != want {
		t.Errorf("before flush: %q, want %q", got, want)
	}
	lb.flush()
	lb.flush()
	if got, want := b.String(), "web1: hello\nweb1: world\nweb1: \nweb1: no end\n"; got != want {
		t.Errorf("after flush: %q, want %q", got, want)
	}
}
