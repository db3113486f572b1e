package e2e

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

// TestActionSync: PUT /api/action/sync answers ping with true or false,
// and run_script in 0.x's shape, for a reachable host (the script's code,
// output and merged environment, secrets masked) and an unreachable one
// (RunError says why); both runs are in the history. exit_client stops the
// client with status 0.
func TestActionSync(t *testing.T) {
	t.Parallel()
	env, srv, cl, h := oneClient(t)
	down := srv.MustCreateHost(apitype.HostRequest{Name: "down", Address: "127.0.0.1", Port: uint32(env.DeadPort()), PSK: "x"})
	action := func(hostID apitype.ID, name string, scriptID apitype.ID, out any) {
		t.Helper()
		srv.MustCall("PUT", "/api/action/sync", apitype.ActionRequest{HostID: hostID, Action: name, ScriptID: scriptID}, out)
	}

	var up, gone bool
	action(h.ID, apitype.ActionPing, "", &up)
	action(down.ID, apitype.ActionPing, "", &gone)
	if !up || gone {
		t.Errorf("ping: reachable host %v, unreachable host %v", up, gone)
	}

	script := srv.MustScript("echo out\necho err >&2\necho \"v=$E2E_VAR s=${E2E_SECRET:+set}\"\nexit 3\n", func(req *apitype.ScriptRequest) {
		req.Environment = []apitype.Variable{{Key: "E2E_VAR", Value: "plain"}, {Key: "E2E_SECRET", Value: "hush", Secret: true}}
	})
	var raw json.RawMessage
	action(h.ID, apitype.ActionRunScript, script, &raw)
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
	var res apitype.RunScriptResult
	mustJSON(t, raw, &res)
	if res.ScriptID != script || res.RunError != "" || res.Duration <= 0 || res.RunID == "" {
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

	action(down.ID, apitype.ActionRunScript, script, &res)
	if !strings.Contains(res.RunError, "could not connect to the client") || res.Result.Success || res.RunID == "" {
		t.Errorf("run_script on an unreachable host: %+v", res)
	}
	if r := (&runHandle{srv: srv, ID: res.RunID}).Get(); r.State != "failed" || r.Error != res.RunError {
		t.Errorf("the failed run_script in the history: %+v", r)
	}

	for _, c := range []struct {
		body apitype.ActionRequest
		code int
	}{
		{apitype.ActionRequest{HostID: h.ID, Action: "dance"}, http.StatusBadRequest},
		{apitype.ActionRequest{HostID: "9999", Action: apitype.ActionPing}, http.StatusNotFound},
		{apitype.ActionRequest{HostID: h.ID, Action: apitype.ActionRunScript, ScriptID: "9999"}, http.StatusNotFound},
	} {
		if code, msg := srv.Call("PUT", "/api/action/sync", c.body, nil); code != c.code {
			t.Errorf("PUT /api/action/sync %v: HTTP %d %q, want %d", c.body, code, msg, c.code)
		}
	}

	// The async action answers with the run's live stream.
	events := srv.FollowRequest("PUT", "/api/action/async", apitype.ActionRequest{HostID: h.ID, Action: apitype.ActionRunScript, ScriptID: script}, awaitWithin)
	stdout := streamed(t, events, "stdout")
	if n := len(events); n < 4 || events[0].Name != "state" || events[n-2].Name != "done" || events[n-1].Name != "end" || stdout != "out\nv=plain s=set\n" {
		t.Errorf("PUT /api/action/async: events %s, stdout %q", eventNames(events), stdout)
	}

	var exited bool
	action(h.ID, apitype.ActionExitClient, "", &exited)
	if !exited {
		t.Errorf("exit_client answered false")
	}
	if code := cl.awaitExit(stopWithin); code != 0 {
		t.Errorf("the client exited with %d after exit_client, want 0", code)
	}
	action(h.ID, apitype.ActionPing, "", &up)
	if up {
		t.Errorf("ping after exit_client: true")
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
