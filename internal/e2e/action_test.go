package e2e

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// actionResult is the data of a run_script action, as 0.x answered it.
type actionResult struct {
	ScriptID    int64
	Duration    time.Duration
	Environment map[string]string
	Result      struct {
		Success   bool          `json:"success"`
		ExecError string        `json:"exec_error"`
		Code      int           `json:"code"`
		Stdout    string        `json:"stdout"`
		Stderr    string        `json:"stderr"`
		Elapsed   time.Duration `json:"elapsed"`
	}
	RunError string
	RunID    int64
}

// TestActionSync: PUT /api/action/sync answers ping with true or false,
// and run_script in 0.x's shape, for a reachable host (the script's code,
// output and merged environment, secrets masked) and an unreachable one
// (RunError says why); both runs are in the history. exit_client stops the
// client with status 0.
func TestActionSync(t *testing.T) {
	t.Parallel()
	env, srv, cl, h := oneClient(t)
	down := srv.MustCreateHost(map[string]any{"Name": "down", "Address": "127.0.0.1", "Port": env.DeadPort(), "PSK": "x"})
	action := func(hostID int64, name string, scriptID int64, out any) {
		t.Helper()
		srv.MustCall("PUT", "/api/action/sync", map[string]any{"HostID": hostID, "Action": name, "ScriptID": scriptID}, out)
	}

	var up, gone bool
	action(h.ID, "ping", 0, &up)
	action(down.ID, "ping", 0, &gone)
	if !up || gone {
		t.Errorf("ping: reachable host %v, unreachable host %v", up, gone)
	}

	script := srv.MustScript("echo out\necho err >&2\necho \"v=$E2E_VAR s=${E2E_SECRET:+set}\"\nexit 3\n", func(req map[string]any) {
		req["Environment"] = []map[string]any{{"Key": "E2E_VAR", "Value": "plain"}, {"Key": "E2E_SECRET", "Value": "hush", "Secret": true}}
	})
	var raw json.RawMessage
	action(h.ID, "run_script", script, &raw)
	var shape map[string]json.RawMessage
	mustJSON(t, raw, &shape)
	if keys := slices.Sorted(maps.Keys(shape)); !slices.Equal(keys, []string{"Duration", "Environment", "Result", "RunError", "RunID", "ScriptID"}) {
		t.Errorf("run_script data has fields %v", keys)
	}
	var resultShape map[string]json.RawMessage
	mustJSON(t, shape["Result"], &resultShape)
	if keys := slices.Sorted(maps.Keys(resultShape)); !slices.Equal(keys, []string{"code", "elapsed", "exec_error", "stderr", "stdout", "success"}) {
		t.Errorf("run_script Result has fields %v", keys)
	}
	var res actionResult
	mustJSON(t, raw, &res)
	if res.ScriptID != script || res.RunError != "" || res.Duration <= 0 || res.RunID == 0 {
		t.Errorf("run_script on a reachable host: %+v", res)
	}
	if r := res.Result; r.Success || r.ExecError != "" || r.Code != 3 || r.Stdout != "out\nv=plain s=set\n" || r.Stderr != "err\n" || r.Elapsed <= 0 {
		t.Errorf("run_script Result: %+v", r)
	}
	if e := res.Environment; e["E2E_VAR"] != "plain" || e["E2E_SECRET"] != "" || !hasKey(e, "E2E_SECRET") ||
		e["OTTO_HOST_PORT"] != strconv.Itoa(cl.Port) || e["OTTO_SERVER_URL"] != srv.URL {
		t.Errorf("run_script Environment: %v", e)
	}
	if strings.Contains(string(raw), "hush") {
		t.Errorf("run_script shows a secret value: %s", raw)
	}
	if r := (&runHandle{srv: srv, ID: res.RunID}).Get(); r.State != "done" || r.ExitCode != 3 || r.Success || r.Stdout != res.Result.Stdout || r.HostID != h.ID {
		t.Errorf("the run_script in the history: %+v", r)
	}

	action(down.ID, "run_script", script, &res)
	if !strings.Contains(res.RunError, "could not connect to the client") || res.Result.Success || res.RunID == 0 {
		t.Errorf("run_script on an unreachable host: %+v", res)
	}
	if r := (&runHandle{srv: srv, ID: res.RunID}).Get(); r.State != "failed" || r.Error != res.RunError {
		t.Errorf("the failed run_script in the history: %+v", r)
	}

	for _, c := range []struct {
		body map[string]any
		code int
	}{
		{map[string]any{"HostID": h.ID, "Action": "dance"}, http.StatusBadRequest},
		{map[string]any{"HostID": 9999, "Action": "ping"}, http.StatusNotFound},
		{map[string]any{"HostID": h.ID, "Action": "run_script", "ScriptID": 9999}, http.StatusNotFound},
	} {
		if code, msg := srv.Call("PUT", "/api/action/sync", c.body, nil); code != c.code {
			t.Errorf("PUT /api/action/sync %v: HTTP %d %q, want %d", c.body, code, msg, c.code)
		}
	}

	// The async action answers with the run's live stream.
	events := srv.FollowRequest("PUT", "/api/action/async", map[string]any{"HostID": h.ID, "Action": "run_script", "ScriptID": script}, awaitWithin)
	var stdout string
	for _, ev := range events {
		if ev.Name == "output" {
			var o sseOutput
			mustJSON(t, ev.Data, &o)
			if o.Stream == "stdout" {
				stdout += o.Data
			}
		}
	}
	if n := len(events); n < 4 || events[0].Name != "state" || events[n-2].Name != "done" || events[n-1].Name != "end" || stdout != "out\nv=plain s=set\n" {
		t.Errorf("PUT /api/action/async: events %s, stdout %q", eventNames(events), stdout)
	}

	var exited bool
	action(h.ID, "exit_client", 0, &exited)
	if !exited {
		t.Errorf("exit_client answered false")
	}
	if code := cl.awaitExit(stopWithin); code != 0 {
		t.Errorf("the client exited with %d after exit_client, want 0", code)
	}
	action(h.ID, "ping", 0, &up)
	if up {
		t.Errorf("ping after exit_client: true")
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
