package fleet

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
	"github.com/otto-automation/otto/internal/wire/wiretest"
)

func TestRun_LiveOutput(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	h := e.addHost(c)
	s := e.addScript("out one\nsleep 30ms\nerr two\nsleep 30ms\nout three\nexit 3")

	runs := e.startRun(s, h)
	if len(runs) != 1 || runs[0].State != domain.RunPending || runs[0].ID == "" || runs[0].BatchID == "" {
		t.Fatalf("StartRuns = %+v, want one pending run with an ID and a batch", runs)
	}
	snap, sub, err := e.svc.Subscribe(e.ctx, runs[0].ID)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if snap.ID != runs[0].ID {
		t.Errorf("Subscribe snapshot = %+v", snap)
	}
	var kinds []string
	var final domain.Run
	prev := ""
	for {
		u, ok := next(t, sub)
		if !ok {
			break
		}
		kinds = append(kinds, u.Kind)
		if u.Kind == UpdateOutput {
			out := u.Run.Stdout + "|" + u.Run.Stderr
			if !strings.HasPrefix(u.Run.Stdout, strings.Split(prev, "|")[0]) {
				t.Errorf("output went from %q to %q: not growing", prev, out)
			}
			prev = out
		}
		if u.Kind == UpdateResult {
			final = u.Run
		}
	}
	// The run may have started before Subscribe: then the snapshot says
	// so, and no state update comes.
	if (snap.State == domain.RunPending) != (kinds[0] == UpdateState) ||
		kinds[len(kinds)-1] != UpdateResult || !slices.Contains(kinds, UpdateOutput) {
		t.Errorf("snapshot %s, then update kinds %v; want (state,) output..., result", snap.State, kinds)
	}
	if final.State != domain.RunDone || final.ExitCode != 3 || final.Success ||
		final.Stdout != "one\nthree\n" || final.Stderr != "two\n" || final.Duration <= 0 || final.Finished.IsZero() {
		t.Errorf("final = %+v, want done, exit 3, the whole output", final)
	}
	if stored := e.run(final.ID); stored.State != domain.RunDone || stored.Stdout != final.Stdout || stored.StartedBy != "tester" {
		t.Errorf("stored run = %+v, want the final record", stored)
	}
	// A finished run: the stored record, and a closed channel.
	snap, sub2, err := e.svc.Subscribe(e.ctx, final.ID)
	if err != nil || snap.State != domain.RunDone {
		t.Fatalf("Subscribe after the end = %+v, %v", snap, err)
	}
	if _, ok := <-sub2.C; ok {
		t.Error("Subscribe after the end delivered an update")
	}
}

func TestRun_Cancel(t *testing.T) {
	e := newEnv(t)
	h := e.addHost(e.client(wiretest.Config{}))
	s := e.addScript("out started\nhang\nout never")
	run := e.startRun(s, h)[0]
	snap, sub, err := e.svc.Subscribe(e.ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for snap.Stdout != "started\n" {
		u, ok := next(t, sub)
		if !ok {
			t.Fatal("run ended before any output")
		}
		snap = u.Run
	}
	if err := e.svc.Cancel(run.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	final := e.wait(run.ID)
	if final.State != domain.RunCanceled || final.Success || final.ExitCode != 143 || final.Stdout != "started\n" {
		t.Errorf("canceled run = %+v, want canceled with exit 143 and the output so far", final)
	}
	if err := e.svc.Cancel(run.ID); !errors.Is(err, ErrRunNotActive) {
		t.Errorf("Cancel of an ended run = %v, want ErrRunNotActive", err)
	}
}

// TestSubscribe_RunEndingMeanwhile: a run that ended but whose record is
// not stored yet is handed to a new subscriber as not ended, and its result
// comes once it is stored; never both, which a stream would report as two
// ends of one run.
func TestSubscribe_RunEndingMeanwhile(t *testing.T) {
	e := newEnv(t)
	h := e.addHost(e.client(wiretest.Config{}))
	run := e.startRun(e.addScript("out started\nhang"), h)[0]
	eventually(t, "run started", func() bool {
		r, ok := e.svc.Live(run.ID)
		return ok && r.Stdout != ""
	})
	release := e.store.hold()
	defer release()
	if err := e.svc.Cancel(run.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "run ended", func() bool { return strings.Contains(e.logs.String(), `msg="run ended"`) })
	snap, sub, err := e.svc.Subscribe(e.ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	snaps, batchSub, err := e.svc.SubscribeBatch(e.ctx, run.BatchID)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("SubscribeBatch = %d runs, %v", len(snaps), err)
	}
	defer batchSub.Close()
	release()
	for _, tc := range []struct {
		snap domain.Run
		sub  *Subscription
	}{{snap, sub}, {snaps[0], batchSub}} {
		ends := 0
		if tc.snap.State != domain.RunPending && tc.snap.State != domain.RunRunning {
			ends++ // ended before the subscription
		}
		for {
			u, ok := next(t, tc.sub)
			if !ok {
				break
			}
			if u.Kind == UpdateResult {
				ends++
				if u.Run.State != domain.RunCanceled || u.Run.Stdout != "started\n" {
					t.Errorf("result = %+v, want canceled with its output", u.Run)
				}
			}
		}
		if ends != 1 {
			t.Errorf("snapshot %s, then %d ends in all; want the run to end once", tc.snap.State, ends)
		}
	}
}

func TestRun_CancelPending(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) { o.Network.MaxParallel = 1 })
	a := e.addHost(e.client(wiretest.Config{}))
	b := e.addHost(e.client(wiretest.Config{}))
	s := e.addScript("hang")
	runs := e.startRun(s, a, b) // b waits for a's worker
	if err := e.svc.Cancel(runs[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Cancel(runs[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if got := e.wait(r.ID); got.State != domain.RunCanceled {
			t.Errorf("run %s = %+v, want canceled", r.ID, got)
		}
	}
}

// TestRun_GroupWithHostsDown: a group of 20 hosts of which 3 are down
// gives 17 results and 3 clear failures, in bounded time.
func TestRun_GroupWithHostsDown(t *testing.T) {
	e := newEnv(t)
	g := e.addGroup("fleet")
	other := e.addGroup("other")
	var down []string
	for i := range 20 {
		c := e.client(wiretest.Config{})
		h := e.addHost(c, func(h *domain.Host) { h.GroupIDs = []string{g.ID} })
		if i%7 == 3 {
			c.Stop()
			down = append(down, h.ID)
		}
	}
	e.addHost(e.client(wiretest.Config{}), func(h *domain.Host) { h.GroupIDs = []string{other.ID} })
	e.addHost(e.client(wiretest.Config{}), func(h *domain.Host) { h.GroupIDs = []string{g.ID}; h.Enabled = false })
	s := e.addScript("out hello\nsleep 20ms")

	start := time.Now()
	runs, err := e.svc.StartRuns(e.ctx, RunRequest{ScriptID: s.ID, GroupIDs: []string{g.ID}, StartedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 20 {
		t.Fatalf("StartRuns on the group made %d runs, want 20", len(runs))
	}
	snaps, sub, err := e.svc.SubscribeBatch(e.ctx, runs[0].BatchID)
	if err != nil || len(snaps) != 20 {
		t.Fatalf("SubscribeBatch = %d runs, %v", len(snaps), err)
	}
	results := map[string]domain.Run{}
	for _, r := range snaps {
		if r.State != domain.RunPending && r.State != domain.RunRunning {
			results[r.HostID] = r // ended before SubscribeBatch
		}
	}
	for {
		u, ok := next(t, sub)
		if !ok {
			break
		}
		if u.Kind == UpdateResult {
			results[u.Run.HostID] = u.Run
		}
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the batch took %v", el)
	}
	ok, failed := 0, 0
	for hostID, r := range results {
		if r.BatchID != runs[0].BatchID {
			t.Errorf("run %s has batch %q", r.ID, r.BatchID)
		}
		switch {
		case slices.Contains(down, hostID):
			failed++
			if r.State != domain.RunFailed || !strings.HasPrefix(r.Error, "could not connect to the client") {
				t.Errorf("run on a down host = %+v, want failed: could not connect", r)
			}
		case r.State == domain.RunDone && r.Success && r.Stdout == "hello\n":
			ok++
		default:
			t.Errorf("run on a live host = %+v", r)
		}
	}
	if ok != 17 || failed != 3 {
		t.Errorf("%d successes and %d failures, want 17 and 3", ok, failed)
	}
	var stored []domain.Run
	e.view(func(tx domain.Tx) (err error) {
		stored, err = tx.Runs(domain.RunFilter{BatchID: runs[0].BatchID})
		return err
	})
	for _, r := range stored {
		if r.State == domain.RunPending || r.State == domain.RunRunning {
			t.Errorf("stored run %s is still %s", r.ID, r.State)
		}
	}
}

func TestStartRuns_Refusals(t *testing.T) {
	e := newEnv(t)
	h := e.addHost(e.client(wiretest.Config{}))
	off := e.addHost(e.client(wiretest.Config{}), func(h *domain.Host) { h.Enabled = false })
	s := e.addScript("exit 0")
	disabled := e.addScript("exit 0", func(s *domain.Script) { s.Enabled = false })
	for _, tc := range []struct {
		name string
		req  RunRequest
		want error
	}{
		{"disabled script", RunRequest{ScriptID: disabled.ID, HostIDs: []string{h.ID}}, ErrScriptDisabled},
		{"unknown script", RunRequest{ScriptID: "999", HostIDs: []string{h.ID}}, domain.ErrNotFound},
		{"unknown host", RunRequest{ScriptID: s.ID, HostIDs: []string{"999"}}, domain.ErrNotFound},
		{"unknown group", RunRequest{ScriptID: s.ID, GroupIDs: []string{"999"}}, domain.ErrNotFound},
		{"only a disabled host", RunRequest{ScriptID: s.ID, HostIDs: []string{off.ID}}, ErrNoTargets},
		{"nothing", RunRequest{ScriptID: s.ID}, ErrNoTargets},
	} {
		if _, err := e.svc.StartRuns(e.ctx, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: StartRuns = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Named twice, directly and through a group: one run.
	g := e.addGroup("g")
	e.update(func(tx domain.Tx) error {
		h.GroupIDs = []string{g.ID}
		return tx.PutHost(&h)
	})
	runs, err := e.svc.StartRuns(e.ctx, RunRequest{ScriptID: s.ID, HostIDs: []string{h.ID, h.ID}, GroupIDs: []string{g.ID}})
	if err != nil || len(runs) != 1 {
		t.Errorf("StartRuns naming a host twice = %d runs, %v; want 1", len(runs), err)
	}
	e.wait(runs[0].ID)
}

// TestRun_LaggedOutputWithoutResult: output that did not fit in the live
// output budget, of a run that then ended without a result, is not passed
// off as whole: the run says it is truncated, and why.
func TestRun_LaggedOutputWithoutResult(t *testing.T) {
	e := newEnv(t)
	e.svc.broker.liveMax = 8
	h := e.addHost(e.client(wiretest.Config{}))
	s := e.addScript("out abc\nout defghijkl\ndrop")
	run := e.wait(e.startRun(s, h)[0].ID)
	if run.State != domain.RunFailed || run.Stdout != "abc\n" || !run.Truncated ||
		!strings.Contains(run.Error, "output past its first 4 bytes was not kept") {
		t.Errorf("run = %s, stdout %q, truncated %v, error %q; want failed, the 4 bytes that fit, truncated, and why",
			run.State, run.Stdout, run.Truncated, run.Error)
	}
}

func TestRun_OutputCap(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) { o.Runs.OutputMaxBytes = 10 })
	h := e.addHost(e.client(wiretest.Config{}))
	s := e.addScript("out 0123456789abcdef\nerr short")
	run := e.wait(e.startRun(s, h)[0].ID)
	if run.Stdout != "0123456789" || run.Stderr != "short\n" || !run.Truncated {
		t.Errorf("capped run = stdout %q stderr %q truncated %v; want 10 bytes, the short stderr, truncated",
			run.Stdout, run.Stderr, run.Truncated)
	}
	if stored := e.run(run.ID); stored.Stdout != "0123456789" || !stored.Truncated {
		t.Errorf("stored = %q truncated %v", stored.Stdout, stored.Truncated)
	}
}

func TestCutLen(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"hello", 10, "hello", false},
		{"hello", 5, "hello", false},
		{"hello", 3, "hel", true},
		{"héllo", 2, "h", true}, // é is two bytes: not split
		{"日本", 4, "日", true},
		{"x", 0, "x", false}, // no cap
	} {
		n, cut := cutLen(tc.in, tc.limit)
		if got := tc.in[:n]; got != tc.want || cut != tc.cut {
			t.Errorf("cutLen(%q, %d) keeps %q, %v; want %q, %v", tc.in, tc.limit, got, cut, tc.want, tc.cut)
		}
	}
}

func TestRun_ExecErrorAndUnreachable(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	h := e.addHost(c)
	run := e.wait(e.startRun(e.addScript("fail no such user"), h)[0].ID)
	if run.State != domain.RunFailed || run.Error != "no such user" {
		t.Errorf("run with an exec error = %+v, want failed: no such user", run)
	}
	c.SetPSK("other")
	run = e.wait(e.startRun(e.addScript("exit 0"), h)[0].ID)
	if run.State != domain.RunFailed || !strings.Contains(run.Error, "wrong PSK?") {
		t.Errorf("run with a wrong PSK = %+v, want failed: wrong PSK?", run)
	}
}

func TestRun_Attachments(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	h := e.addHost(c)
	if _, err := e.store.PutBlob(e.ctx, "blob1", strings.NewReader("file data")); err != nil {
		t.Fatal(err)
	}
	a := domain.Attachment{Name: "conf", Path: "/etc/app.conf", Owner: domain.RunAs{UID: 10, GID: 20}, Mode: 0o4750, BlobKey: "blob1", Size: 9}
	e.update(func(tx domain.Tx) error { return tx.PutAttachment(&a) })
	s := e.addScript("exit 0", func(s *domain.Script) {
		s.AttachmentIDs = []string{a.ID}
		s.RunAs = domain.RunAs{UID: 1000, GID: 1000}
		s.WorkingDirectory = "/tmp"
	})
	e.wait(e.startRun(s, h)[0].ID)
	got := c.LastScript()
	want := wire.File{Path: "/etc/app.conf", Owner: wire.RunAs{UID: 10, GID: 20}, Mode: 4750, Data: []byte("file data")}
	if len(got.Files) != 1 || got.Files[0].Path != want.Path || got.Files[0].Owner != want.Owner ||
		got.Files[0].Mode != want.Mode || string(got.Files[0].Data) != string(want.Data) {
		t.Errorf("files sent = %+v, want %+v", got.Files, want)
	}
	if got.RunAs != (wire.RunAs{UID: 1000, GID: 1000}) || got.WorkingDirectory != "/tmp" || got.Executable != "/bin/sh" ||
		string(got.Data) != "exit 0" {
		t.Errorf("script sent = %+v", got)
	}
}

func TestRun_AfterExecution(t *testing.T) {
	for _, tc := range []struct {
		after string
		body  string
		want  uint32 // 0: no action expected
	}{
		{domain.AfterReboot, "exit 0", wire.ActionReboot},
		{domain.AfterShutdown, "exit 0", wire.ActionShutdown},
		{domain.AfterExitClient, "exit 0", wire.ActionExit},
		{domain.AfterUpdatePSK, "exit 0", wire.ActionUpdatePSK},
		{domain.AfterReboot, "exit 1", 0}, // only after a success
		{domain.AfterNone, "exit 0", 0},
	} {
		t.Run(tc.after+"/"+tc.body, func(t *testing.T) {
			e := newEnv(t)
			c := e.client(wiretest.Config{})
			h := e.addHost(c)
			s := e.addScript(tc.body, func(s *domain.Script) { s.AfterExecution = tc.after })
			run := e.wait(e.startRun(s, h)[0].ID)
			tr := c.Triggers()
			if tc.want == 0 {
				if len(tr) != 0 {
					t.Errorf("actions after the run = %+v, want none", tr)
				}
				return
			}
			if len(tr) != 1 || tr[0].Action != tc.want || run.Error != "" {
				t.Errorf("actions after the run = %+v (run error %q), want action %d", tr, run.Error, tc.want)
			}
			if tc.want == wire.ActionUpdatePSK {
				if got := e.host(h.ID); got.PSK != c.PSK() || got.PSK == testPSK || got.PendingPSK != "" {
					t.Errorf("after update_psk the host has PSK %q pending %q, the client %q", got.PSK, got.PendingPSK, c.PSK())
				}
			}
		})
	}
}

func TestRecoverRuns(t *testing.T) {
	e := newEnv(t)
	runs := []domain.Run{
		{BatchID: "b", State: domain.RunPending, Started: time.Now()},
		{BatchID: "b", State: domain.RunRunning, Started: time.Now(), Stdout: "half way"},
		{BatchID: "b", State: domain.RunDone, Success: true, Stdout: "done"},
	}
	e.update(func(tx domain.Tx) error {
		for i := range runs {
			if err := tx.PutRun(&runs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	e.newService() // a server starting over the store a crashed one left
	for i, want := range []struct {
		state, err, stdout string
	}{
		{domain.RunFailed, "server stopped during the run", ""},
		{domain.RunFailed, "server stopped during the run", "half way"},
		{domain.RunDone, "", "done"},
	} {
		got := e.run(runs[i].ID)
		if got.State != want.state || got.Error != want.err || got.Stdout != want.stdout {
			t.Errorf("run %d after restart = %s %q %q, want %s %q %q", i, got.State, got.Error, got.Stdout, want.state, want.err, want.stdout)
		}
	}
}

func TestClose_StopsRuns(t *testing.T) {
	e := newEnv(t)
	h := e.addHost(e.client(wiretest.Config{}))
	run := e.startRun(e.addScript("out started\nhang"), h)[0]
	eventually(t, "run started", func() bool {
		ar := e.svc.broker.get(run.ID)
		return ar != nil && e.svc.broker.snapshot(ar).Stdout != ""
	})
	start := time.Now()
	e.svc.Close()
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Close took %v", el)
	}
	if got := e.run(run.ID); got.State != domain.RunFailed || got.Error != "server stopped during the run" || got.Stdout != "started\n" {
		t.Errorf("run after Close = %+v, want failed: server stopped, with its output", got)
	}
	if _, err := e.svc.StartRuns(e.ctx, RunRequest{ScriptID: "1", HostIDs: []string{h.ID}}); !errors.Is(err, ErrClosed) {
		t.Errorf("StartRuns after Close = %v, want ErrClosed", err)
	}
}

func TestPrune(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) { o.Runs.HistoryMax = 3; o.Runs.HistoryDays = 10 })
	old := time.Now().Add(-20 * 24 * time.Hour)
	var ids []string
	e.update(func(tx domain.Tx) error {
		for i := range 6 {
			r := domain.Run{State: domain.RunDone, Started: time.Now()}
			if i == 4 {
				r.Started = old // among the newest 3, but too old
			}
			if err := tx.PutRun(&r); err != nil {
				return err
			}
			ids = append(ids, r.ID)
		}
		return nil
	})
	n, err := e.svc.Prune(e.ctx)
	if err != nil || n != 4 {
		t.Fatalf("Prune = %d, %v; want 4", n, err)
	}
	var left []domain.Run
	e.view(func(tx domain.Tx) (err error) { left, err = tx.Runs(domain.RunFilter{}); return err })
	if len(left) != 2 || left[0].ID != ids[5] || left[1].ID != ids[3] {
		t.Errorf("runs left = %+v, want the newest two that are recent", left)
	}
}

func TestAction(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) {
		o.General.GlobalEnvironment = domain.Environment{{Key: "TOKEN", Value: "s3cret", Secret: true}, {Key: "A", Value: "1"}}
	})
	c := e.client(wiretest.Config{})
	h := e.addHost(c)
	down := e.client(wiretest.Config{})
	hDown := e.addHost(down)
	down.Stop()
	s := e.addScript("out hi\nexit 4")
	ctx := context.Background()

	if got, err := e.svc.Action(ctx, ActionRequest{HostID: h.ID, Action: ActionPing}); err != nil || got != true {
		t.Errorf("ping = %v, %v; want true", got, err)
	}
	if got, err := e.svc.Action(ctx, ActionRequest{HostID: hDown.ID, Action: ActionPing}); err != nil || got != false {
		t.Errorf("ping of a down host = %v, %v; want false", got, err)
	}

	got, err := e.svc.Action(ctx, ActionRequest{HostID: h.ID, Action: ActionRunScript, ScriptID: s.ID, StartedBy: "api"})
	if err != nil {
		t.Fatalf("run_script: %v", err)
	}
	res := got.(RunScriptResult)
	if res.ScriptID != s.ID || res.Result.Code != 4 || res.Result.Stdout != "hi\n" || res.RunError != "" || res.Duration <= 0 {
		t.Errorf("run_script = %+v", res)
	}
	if res.Environment["TOKEN"] != "" || res.Environment["A"] != "1" || res.Environment[domain.EnvHostPort] == "" {
		t.Errorf("run_script environment = %v, want TOKEN masked, A=1 and the implicit variables", res.Environment)
	}
	if r := e.run(res.RunID); r.StartedBy != "api" || r.ExitCode != 4 {
		t.Errorf("run_script's history record = %+v", r)
	}

	got, err = e.svc.Action(ctx, ActionRequest{HostID: hDown.ID, Action: ActionRunScript, ScriptID: s.ID})
	if res := got.(RunScriptResult); err != nil || !strings.HasPrefix(res.RunError, "could not connect") {
		t.Errorf("run_script on a down host = %+v, %v; want RunError could not connect", res, err)
	}

	for _, a := range []struct {
		name string
		want uint32
	}{{ActionExitClient, wire.ActionExit}, {ActionReboot, wire.ActionReboot}, {ActionShutdown, wire.ActionShutdown}} {
		before := len(c.Triggers())
		if got, err := e.svc.Action(ctx, ActionRequest{HostID: h.ID, Action: a.name}); err != nil || got != true {
			t.Errorf("%s = %v, %v; want true", a.name, got, err)
		}
		if tr := c.Triggers(); len(tr) != before+1 || tr[before].Action != a.want {
			t.Errorf("%s sent %+v", a.name, tr)
		}
	}
	if got, err := e.svc.Action(ctx, ActionRequest{HostID: hDown.ID, Action: ActionReboot}); got != false || !errors.Is(err, ErrConnect) {
		t.Errorf("reboot of a down host = %v, %v; want false, ErrConnect", got, err)
	}
	if got, err := e.svc.Action(ctx, ActionRequest{HostID: h.ID, Action: ActionUpdatePSK}); err != nil || got != true {
		t.Errorf("update_psk = %v, %v; want true", got, err)
	}
	if _, err := e.svc.Action(ctx, ActionRequest{HostID: h.ID, Action: "dance"}); !errors.Is(err, ErrUnknownAction) {
		t.Errorf("unknown action = %v, want ErrUnknownAction", err)
	}
	e.assertNoPSK(testPSK, c.PSK(), "s3cret")
}

// TestWait_ContextEnds: Wait gives up with ctx, the run goes on.
func TestWait_ContextEnds(t *testing.T) {
	e := newEnv(t)
	h := e.addHost(e.client(wiretest.Config{}))
	run := e.startRun(e.addScript("sleep 300ms\nexit 0"), h)[0]
	ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := e.svc.Wait(ctx, run.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait with a short context = %v", err)
	}
	if got := e.wait(run.ID); got.State != domain.RunDone || !got.Success {
		t.Errorf("run = %+v, want it done anyway", got)
	}
}

// TestNoGoroutineLeak: a Service that ran, swept and closed, with its
// clients stopped, leaves no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		e := newEnv(t)
		c := wiretest.New(wiretest.Config{PSK: testPSK})
		if err := c.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer c.Stop()
		h := e.addHost(c)
		run := e.startRun(e.addScript("out x\nexit 0"), h)[0]
		_, sub, _ := e.svc.Subscribe(e.ctx, run.ID)
		for range sub.C {
		}
		e.svc.Sweep(e.ctx)
		hang := e.startRun(e.addScript("hang"), h)[0]
		_, sub2, _ := e.svc.Subscribe(e.ctx, hang.ID)
		defer sub2.Close()
		eventually(t, "hang started", func() bool { return c.Runs() == 2 })
		e.svc.Close()
	}()
	var n int
	deadline := time.Now().Add(5 * time.Second)
	for n = runtime.NumGoroutine(); n > before && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	if n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
