package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// oneClient is the usual start: a server and one client added as a host
// that answered a heartbeat (which also rotated its PSK).
func oneClient(t *testing.T) (*env, *server, *client, host) {
	t.Helper()
	env := newEnv(t)
	srv := env.StartServer()
	cl := env.StartClient()
	h := srv.MustAddHost(cl)
	srv.AwaitHeartbeat(h)
	return env, srv, cl, h
}

// TestRunLiveOutput: a script's output follows over server-sent events as
// it is printed, in order, well before the run ends; then "done" and
// "end". The run's record has the whole output, exit code and duration,
// and the stream of an ended run replays it at once.
func TestRunLiveOutput(t *testing.T) {
	t.Parallel()
	_, srv, _, h := oneClient(t)

	r := srv.MustRun("echo one\nsleep 2\necho two\necho oops >&2\nsleep 2\necho three\nsleep 1\n", h)
	if r.run.State != apitype.RunPending || r.run.HostID != h.ID || r.run.StartedBy != "admin" {
		t.Errorf("POST /api/runs answered %+v; want a pending run on host %s started by admin", r.run, h.ID)
	}
	events := srv.Follow("/api/runs/batch/"+r.run.BatchID+"/stream", awaitWithin)

	n := len(events)
	if n < 4 || events[0].Name != "state" || events[n-2].Name != "done" || events[n-1].Name != "end" {
		t.Fatalf("events %s; want state first, then done and end", eventNames(events))
	}
	doneAt := events[n-2].At
	var stdout, stderr string
	var states []string
	seenOneAt := time.Time{}
	sawPartial := false
	for _, ev := range events[:n-2] {
		switch ev.Name {
		case "state":
			var s apitype.Run
			mustJSON(t, ev.Data, &s)
			if s.ID != r.ID || s.Stdout != "" || s.Stderr != "" {
				t.Errorf("state event %s: want run %s without output", ev.Data, r.ID)
			}
			states = append(states, s.State)
		case "output":
			var o apitype.Output
			mustJSON(t, ev.Data, &o)
			if o.RunID != r.ID || o.HostID != h.ID || o.HostName != h.Name || o.Data == "" {
				t.Errorf("output event %s: want run %s on host %s (%s), with data", ev.Data, r.ID, h.ID, h.Name)
			}
			switch o.Stream {
			case "stdout":
				stdout += o.Data
			case "stderr":
				stderr += o.Data
			default:
				t.Errorf("output event on stream %q", o.Stream)
			}
			if seenOneAt.IsZero() && strings.Contains(stdout, "one") {
				seenOneAt = ev.At
				sawPartial = !strings.Contains(stdout, "three")
			}
		default:
			t.Errorf("unexpected %s event before done: %s", ev.Name, ev.Data)
		}
	}
	if stdout != "one\ntwo\nthree\n" || stderr != "oops\n" {
		t.Errorf("output events add up to stdout %q, stderr %q", stdout, stderr)
	}
	if states[len(states)-1] != "running" {
		t.Errorf("states before done: %v; want to end with running", states)
	}
	// "one" is printed about 5 s before the script ends. Allow for a loaded
	// machine, but it must not come with the result.
	if !sawPartial || doneAt.Sub(seenOneAt) < time.Second {
		t.Errorf("the first line arrived %v before the end (alone: %v); want it live, seconds before", doneAt.Sub(seenOneAt), sawPartial)
	}
	var done apitype.Run
	mustJSON(t, events[n-2].Data, &done)
	if done.State != apitype.RunDone || !done.Success || done.ExitCode != 0 || done.Stdout != "" {
		t.Errorf("done event: %+v", done)
	}

	got := r.Get()
	if got.State != apitype.RunDone || !got.Success || got.ExitCode != 0 || got.Error != "" ||
		got.Stdout != "one\ntwo\nthree\n" || got.Stderr != "oops\n" || got.Truncated {
		t.Errorf("GET /api/runs/run/%s: %+v", r.ID, got)
	}
	if got.Duration < 5*time.Second || got.Duration > awaitWithin || got.Finished.Before(got.Started) {
		t.Errorf("run took %v from %v to %v; the script sleeps 5 s", got.Duration, got.Started, got.Finished)
	}

	// An ended run's stream replays it at once.
	replay := srv.Follow(apiclient.ItemPath("/api/runs/run", string(r.ID), "stream"), 10*time.Second)
	replayed := streamed(t, replay, "stdout")
	if names := eventNames(replay); names != "[state output output done end]" || replayed != got.Stdout {
		t.Errorf("stream of an ended run: %s with stdout %q", names, replayed)
	}
}

// TestRunCancel: canceling a running run through the API stops the
// script's whole process group, a grandchild in the background included;
// the run ends as canceled with the output it had, and the client goes on.
func TestRunCancel(t *testing.T) {
	t.Parallel()
	env, srv, _, h := oneClient(t)

	pidFile := filepath.Join(env.dir, "grandchild.pid")
	r := srv.MustRun(fmt.Sprintf("sleep 300 &\necho $! > %s\necho started\nsleep 300\n", pidFile), h)
	// The run's record shows its output so far while it runs.
	if cur := r.AwaitOutput("started"); cur.State != apitype.RunRunning {
		t.Errorf("run with output so far: %+v; want it running", cur)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || processGone(pid) {
		t.Fatalf("grandchild pid %q: %v, or it is gone already", b, err)
	}

	start := time.Now()
	srv.MustCall("POST", cancelPath(r.ID), nil, nil)
	final := r.AwaitEnd(30 * time.Second) // the client's grace is 5 s; sleep dies of SIGTERM at once
	if final.State != apitype.RunCanceled || final.Success || !strings.Contains(final.Stdout, "started") {
		t.Errorf("canceled run: %+v; want state canceled with its output", final)
	}
	t.Logf("canceled in %v", time.Since(start))
	waitFor(t, 10*time.Second, fmt.Sprintf("the grandchild (pid %d) to be gone", pid), func() (bool, string) {
		return processGone(pid), "still running"
	})

	if code, msg := srv.Call("POST", cancelPath(r.ID), nil, nil); code != http.StatusConflict {
		t.Errorf("canceling an ended run: HTTP %d %q, want 409", code, msg)
	}
	// The client still runs scripts.
	srv.MustRun("echo still here", h).AwaitOutput("still here")
}

// TestRunGroupWithDownHosts: a run on a group of 20 hosts where 3 are down
// (nothing listens, the client was killed, the host accepts and never
// answers) gives 17 results and 3 failures with a clear reason, all in one
// batch, in bounded time; the hung host holds up no other.
func TestRunGroupWithDownHosts(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	srv := env.StartServer()
	// A short timeout bounds the hung host; a small pool shows that it
	// holds one worker, not the batch.
	srv.SetOptions(map[string]any{"Network": map[string]any{"Timeout": 2, "MaxParallel": 4}})
	g := srv.MustGroup("twenty")
	inGroup := func(req *apitype.HostRequest) { req.GroupIDs = []apitype.ID{g.ID} }

	want := make(map[apitype.ID]string) // host ID -> the start of its run's Error, "" for done
	setup := time.Now()
	clients := env.StartClients(18)
	t.Logf("18 clients started in %v", time.Since(setup))
	for _, cl := range clients[:17] {
		want[srv.MustAddHost(cl, inGroup).ID] = ""
	}
	killed := clients[17]
	want[srv.MustAddHost(killed, inGroup).ID] = "could not connect to the client"
	killed.Kill()
	want[srv.MustCreateHost(apitype.HostRequest{Name: "nobody-listens", Address: "127.0.0.1", Port: uint32(env.DeadPort()),
		PSK: "x", GroupIDs: []apitype.ID{g.ID}}).ID] = "could not connect to the client"
	hole := env.StartBlackhole()
	silent := srv.MustCreateHost(apitype.HostRequest{Name: "never-answers", Address: "127.0.0.1", Port: uint32(hole.Port()),
		PSK: "x", GroupIDs: []apitype.ID{g.ID}})
	want[silent.ID] = "the client did not answer in time"

	var sweep apitype.SweepResult
	srv.MustCall("POST", "/api/heartbeat", nil, &sweep)
	t.Logf("sweep: %+v", sweep)
	if sweep.Hosts != 20 || sweep.Reachable != 17 || sweep.Rotated != 17 {
		t.Errorf("sweep: %+v; want 20 hosts, 17 reachable, 17 rotated (added by hand)", sweep)
	}
	statuses := srv.Statuses()
	for id, w := range want {
		if st := statuses[id]; st.IsReachable != (w == "") {
			t.Errorf("host %s after the sweep: %+v", id, st)
		}
	}

	start := time.Now()
	b := srv.MustStart(srv.MustScript(`echo "port $OTTO_HOST_PORT"`), nil, []apitype.ID{g.ID})
	if len(b.Runs) != 20 {
		t.Fatalf("%d runs started, want 20", len(b.Runs))
	}
	// The batch's stream ends once the last run did, with one done each.
	events := srv.Follow("/api/runs/batch/"+b.BatchID+"/stream", awaitWithin)
	took := time.Since(start)
	if len(events) == 0 {
		t.Fatalf("the batch stream sent no event")
	}
	doneRuns, dones := make(map[apitype.ID]bool), 0
	for _, ev := range events {
		if ev.Name == apitype.EventDone {
			var r apitype.Run
			mustJSON(t, ev.Data, &r)
			doneRuns[r.ID] = true
			dones++
		}
	}
	if n := len(events); dones != 20 || len(doneRuns) != 20 || events[n-1].Name != "end" {
		t.Errorf("batch stream: %d done events for %d runs, last event %q; want one done for each of 20 runs, then end",
			dones, len(doneRuns), events[n-1].Name)
	}
	runs := b.AwaitEnd(10 * time.Second) // ended, as the stream said
	t.Logf("20 runs, 3 hosts down, ended in %v", took)
	if len(runs) != 20 {
		t.Fatalf("batch has %d runs, want 20", len(runs))
	}
	var failed, done int
	var silentEnd, lastDone time.Time
	for _, sum := range runs {
		r := (&runHandle{srv: srv, ID: sum.ID}).Get()
		w, ok := want[r.HostID]
		delete(want, r.HostID)
		switch {
		case !ok:
			t.Errorf("run %s on host %s: not a host of the group, or a host twice", r.ID, r.HostID)
		case r.BatchID != b.BatchID:
			t.Errorf("run %s has batch %q, want %q", r.ID, r.BatchID, b.BatchID)
		case w == "":
			done++
			h := srv.Host(r.HostID)
			if r.State != apitype.RunDone || !r.Success || r.Stdout != fmt.Sprintf("port %d\n", h.Port) {
				t.Errorf("run on %s: %s, success %v, stdout %q, error %q", r.HostName, r.State, r.Success, r.Stdout, r.Error)
			}
			if r.Finished.After(lastDone) {
				lastDone = r.Finished
			}
		default:
			failed++
			if r.State != apitype.RunFailed || !strings.HasPrefix(r.Error, w) {
				t.Errorf("run on %s: %s with error %q; want failed with %q", r.HostName, r.State, r.Error, w)
			}
			if r.HostID == silent.ID {
				silentEnd = r.Finished
			}
		}
	}
	if done != 17 || failed != 3 || len(want) != 0 {
		t.Errorf("%d done, %d failed, hosts without a run %v; want 17 and 3", done, failed, want)
	}
	// The hung host is given up on after the timeout plus the keepalive
	// interval (12 s here); the other 17 runs, on the 3 other workers, end
	// long before that.
	if !lastDone.Before(silentEnd) {
		t.Errorf("the last good run ended at %v, the hung host's at %v: the hung host held up the others", lastDone, silentEnd)
	}
}

// cancelPath is the route that cancels run id.
func cancelPath(id apitype.ID) string {
	return apiclient.ItemPath("/api/runs/run", string(id), "cancel")
}

// streamed is the output of stream ("stdout" or "stderr") that the output
// events among events carried, in order.
func streamed(t *testing.T, events []sseEvent, stream string) string {
	t.Helper()
	var out string
	for _, ev := range events {
		if ev.Name == apitype.EventOutput {
			var o apitype.Output
			mustJSON(t, ev.Data, &o)
			if o.Stream == stream {
				out += o.Data
			}
		}
	}
	return out
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
}

// TestServerStopDuringRun: a server stopped with SIGTERM during a run
// cancels it on the client (its process group goes), ends the live stream
// with the run's result, and exits 0; restarted, it shows the run failed
// with the reason and the output it had, not running for ever.
func TestServerStopDuringRun(t *testing.T) {
	t.Parallel()
	env, srv, _, h := oneClient(t)
	pidFile := filepath.Join(env.dir, "grandchild.pid")
	r := srv.MustRun(fmt.Sprintf("sleep 300 &\necho $! > %s\necho started\nsleep 300\n", pidFile), h)
	st := srv.OpenStream("GET", apiclient.ItemPath("/api/runs/run", string(r.ID), "stream"), nil, awaitWithin)
	defer st.Close()
	st.ReadUntil("output")
	r.AwaitOutput("started")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))

	start := time.Now()
	srv.MustCleanShutdown()
	t.Logf("server stopped in %v", time.Since(start))
	events := st.ReadUntil("end")
	if n := len(events); n < 2 || events[n-2].Name != "done" || events[n-1].Name != "end" {
		t.Errorf("stream during the stop: %s; want it to end with done and end", eventNames(events))
	} else {
		var done apitype.Run
		mustJSON(t, events[n-2].Data, &done)
		if done.State != apitype.RunFailed || done.Error != "server stopped during the run" {
			t.Errorf("done event during the stop: %+v", done)
		}
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("the grandchild (pid %d) to be gone", pid), func() (bool, string) {
		return processGone(pid), "still running"
	})

	srv.start()
	got := r.Get()
	if got.State != apitype.RunFailed || got.Error != "server stopped during the run" || !strings.Contains(got.Stdout, "started") || got.Finished.IsZero() {
		t.Errorf("after the restart the run is %+v", got)
	}
	srv.MustRun("echo still here", h).AwaitOutput("still here")
}

// TestRunAsWithAttachment: a script that runs as another user gets its
// attachment placed first (missing directories made, mode and owner set),
// and runs as that user in its working directory.
func TestRunAsWithAttachment(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("running scripts as another user needs the client to run as root")
	}
	env, srv, _, h := oneClient(t)
	// The script's user must reach the file.
	for _, d := range []string{env.dir, filepath.Dir(env.dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(env.dir, "placed", "sub", "data.txt")
	att := srv.MustUpload("payload\n", map[string]string{"Path": path, "Mode": "0640", "UID": "65534", "GID": "65534"})
	sid := srv.MustScript("id -u\nid -g\ncat "+path+"\npwd\n", func(req *apitype.ScriptRequest) {
		req.AttachmentIDs = []apitype.ID{att}
		req.RunAs = apitype.RunAs{Inherit: false, UID: 65534, GID: 65534}
		req.WorkingDirectory = "/tmp"
	})
	b := srv.MustStart(sid, []apitype.ID{h.ID}, nil)
	r := (&runHandle{srv: srv, ID: b.Runs[0].ID}).AwaitEnd(awaitWithin)
	if r.State != apitype.RunDone || !r.Success || r.Stdout != "65534\n65534\npayload\n/tmp\n" {
		t.Errorf("run as 65534 with an attachment: %+v", r)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o640 || st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("placed file: mode %v, owner %d:%d; want 0640 65534:65534", fi.Mode(), st.Uid, st.Gid)
	}
}

// TestCancelPendingRun: with one worker busy, a run waiting for it is
// pending; canceling it ends it as canceled at once, without waiting for
// the worker, and it never runs.
func TestCancelPendingRun(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	srv := env.StartServer()
	srv.SetOptions(map[string]any{"Network": map[string]any{"MaxParallel": 1}})
	cls := env.StartClients(2)
	h1, h2 := srv.MustAddHost(cls[0]), srv.MustAddHost(cls[1])
	marker := filepath.Join(env.dir, "ran-on-port-")
	b := srv.MustStart(srv.MustScript("touch "+marker+"$OTTO_HOST_PORT\necho started\nsleep 300\n"), []apitype.ID{h1.ID, h2.ID}, nil)
	first, second := &runHandle{srv: srv, ID: b.Runs[0].ID}, &runHandle{srv: srv, ID: b.Runs[1].ID}
	first.AwaitOutput("started")
	if r := second.Get(); r.State != apitype.RunPending {
		t.Fatalf("with one worker busy, the second run is %s", r.State)
	}

	srv.MustCall("POST", cancelPath(second.ID), nil, nil)
	r := second.AwaitEnd(20 * time.Second)
	if r.State != apitype.RunCanceled {
		t.Errorf("canceled pending run: %+v", r)
	}
	if f := first.Get(); f.State != apitype.RunRunning {
		t.Errorf("canceling the pending run changed the running one: %+v", f)
	}
	srv.MustCall("POST", cancelPath(first.ID), nil, nil)
	first.AwaitEnd(30 * time.Second)
	if _, err := os.Stat(fmt.Sprintf("%s%d", marker, h2.Port)); err == nil {
		t.Errorf("the canceled pending run ran")
	}
}

// TestQuietScript: a script that prints nothing for longer than the
// server's read timeout plus the keepalive interval is kept alive by the
// client's keepalives and ends normally.
func TestQuietScript(t *testing.T) {
	t.Parallel()
	_, srv, _, h := oneClient(t)
	// The server gives up on a run after 1 s + 10 s of silence.
	srv.SetOptions(map[string]any{"Network": map[string]any{"Timeout": 1}})
	r := srv.MustRun("sleep 13\necho awake\n", h).AwaitEnd(awaitWithin)
	if r.State != apitype.RunDone || !r.Success || r.Stdout != "awake\n" || r.Duration < 13*time.Second {
		t.Errorf("a quiet 13 s script: %+v", r)
	}
}

// TestRunOutputCapAndHistory: output beyond Runs.OutputMaxBytes is cut
// (live and stored, the run marked Truncated), and a restarted server
// keeps only the newest Runs.HistoryMax runs.
func TestRunOutputCapAndHistory(t *testing.T) {
	t.Parallel()
	_, srv, _, h := oneClient(t)
	srv.SetOptions(map[string]any{"Runs": map[string]any{"OutputMaxBytes": 1000, "HistoryMax": 3}})

	r := srv.MustRun("head -c 5000 /dev/zero | tr '\\0' x\necho tail >&2\n", h)
	events := srv.Follow(apiclient.ItemPath("/api/runs/run", string(r.ID), "stream"), awaitWithin)
	live := len(streamed(t, events, "stdout"))
	got := r.Get()
	if got.State != apitype.RunDone || !got.Truncated || got.Stdout != strings.Repeat("x", 1000) || got.Stderr != "tail\n" || live != 1000 {
		t.Errorf("run with 5000 bytes of output, capped at 1000: %s, truncated %v, %d bytes stored, %d streamed, stderr %q",
			got.State, got.Truncated, len(got.Stdout), live, got.Stderr)
	}

	var ids []apitype.ID
	for i := range 3 {
		ids = append(ids, srv.MustRun(fmt.Sprintf("echo %d", i), h).AwaitEnd(awaitWithin).ID)
	}
	srv.Restart()       // retention runs after the first sweep at start, then hourly
	slices.Reverse(ids) // newest first, as the history lists them
	waitFor(t, 30*time.Second, "the history to keep the newest 3 runs", func() (bool, string) {
		var runs []apitype.Run
		srv.MustCall("GET", "/api/runs", nil, &runs)
		var kept []apitype.ID
		for _, r := range runs {
			kept = append(kept, r.ID)
		}
		return slices.Equal(kept, ids), fmt.Sprintf("runs %v, want %v", kept, ids)
	})
}

// TestClientDiesDuringRun: a client killed during a run fails the run at
// once with a clear reason, not after a timeout.
func TestClientDiesDuringRun(t *testing.T) {
	t.Parallel()
	_, srv, cl, h := oneClient(t)
	r := srv.MustRun("echo started\nsleep 300\n", h)
	r.AwaitOutput("started")
	start := time.Now()
	cl.Kill()
	// The script outlives a client killed with SIGKILL; end it here.
	awaitSessionEmpty(cl.pid, 0)
	got := r.AwaitEnd(awaitWithin)
	t.Logf("the run failed %v after the client died", time.Since(start))
	if got.State != apitype.RunFailed || got.Error != "the client closed the connection before the action ended" || !strings.Contains(got.Stdout, "started") {
		t.Errorf("run whose client died: %+v", got)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the run took %v to fail after its client died; the connection ended at once", time.Since(start))
	}
}
