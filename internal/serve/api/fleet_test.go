package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/domain"
)

// TestFleetErrors checks how the routes that talk to clients answer
// requests the fleet refuses, and a host that cannot be reached (a closed
// port on loopback: refused at once).
func TestFleetErrors(t *testing.T) {
	e := newEnv(t)
	sc := e.mkScript("s")
	var h apitype.Host
	e.must(e.admin, "PUT", "/api/hosts/host", map[string]any{"Name": "gone", "Address": "127.0.0.1", "Port": 1, "PSK": "k"}, &h)

	e.fails(e.oper, "POST", "/api/hosts/host/nope/heartbeat", nil, 404, "no host with ID nope")
	e.fails(e.admin, "POST", "/api/hosts/host/nope/psk", nil, 404, "no host with ID nope")
	e.fails(e.oper, "PUT", "/api/action/sync", map[string]any{"HostID": "nope", "Action": "ping"}, 404, "no host with ID nope")
	e.fails(e.oper, "PUT", "/api/action/sync", map[string]any{"HostID": h.ID, "Action": "explode"}, 400, "unknown Action")
	e.fails(e.oper, "PUT", "/api/action/sync", map[string]any{"Action": "ping"}, 400, "HostID is required")
	e.fails(e.oper, "POST", "/api/runs", map[string]any{"ScriptID": "nope", "HostIDs": []any{h.ID}}, 404, "does not exist")
	e.fails(e.oper, "POST", "/api/runs/run/77/cancel", nil, 404, "no run with ID 77")
	e.fails(e.view, "GET", "/api/runs/run/77", nil, 404, "no run with ID 77")
	e.fails(e.view, "GET", "/api/runs/run/77/stream", nil, 404, "no run with ID 77")
	e.fails(e.view, "GET", "/api/runs/batch/b1", nil, 404, `no batch "b1"`)
	e.fails(e.view, "GET", "/api/runs/batch/b1/stream", nil, 404, `no batch "b1"`)

	sc.Enabled = false
	e.must(e.oper, "POST", "/api/scripts/script/"+string(sc.ID), sc, nil)
	e.fails(e.oper, "POST", "/api/runs", map[string]any{"ScriptID": sc.ID, "HostIDs": []any{h.ID}}, 400, "the script is disabled")

	// Unreachable: an answer, not an API error.
	var ok bool
	e.must(e.oper, "PUT", "/api/action/sync", map[string]any{"HostID": h.ID, "Action": "ping"}, &ok)
	if ok {
		t.Errorf("ping of a closed port = true, want false")
	}
	var st apitype.Heartbeat
	e.must(e.oper, "POST", "/api/hosts/host/"+string(h.ID)+"/heartbeat", nil, &st)
	if st.IsReachable || st.Error == "" || st.HostID != h.ID {
		t.Errorf("heartbeat of a closed port = %+v, want unreachable with a reason", st)
	}
	var all map[string]apitype.Heartbeat
	e.must(e.view, "GET", "/api/heartbeat", nil, &all)
	if got, ok := all[string(h.ID)]; !ok || got.IsReachable {
		t.Errorf("GET /api/heartbeat = %+v, want host %s unreachable", all, h.ID)
	}
}

// TestStreamEndedRun streams a run that already ended: state, its output,
// done and end come at once, in apitype's shapes.
func TestStreamEndedRun(t *testing.T) {
	e := newEnv(t)
	run := domain.Run{BatchID: "b1", ScriptID: "7", ScriptName: "s", HostID: "VVVanl4_U0as", HostName: "db-1", State: domain.RunDone,
		Success: true, Stdout: "hello\n", Stderr: "warn\n", Started: time.Now().UTC(), Finished: time.Now().UTC()}
	if err := e.svc.Store.Update(t.Context(), func(tx domain.Tx) error { return tx.PutRun(&run) }); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/runs/run/" + run.ID + "/stream", "/api/runs/batch/b1/stream"} {
		a := e.must(e.view, "GET", path, nil, nil)
		var events []string
		for _, block := range strings.Split(strings.TrimSpace(a.Body), "\n\n") {
			name, data, _ := strings.Cut(block, "\ndata: ")
			name = strings.TrimPrefix(name, "event: ")
			events = append(events, name)
			switch name {
			case apitype.EventState, apitype.EventDone:
				var r apitype.Run
				if err := json.Unmarshal([]byte(data), &r); err != nil || r.ID != apitype.ID(run.ID) || r.HostID != "VVVanl4_U0as" || r.Stdout != "" {
					t.Errorf("%s: %s event %s (%v), want the run without output", path, name, data, err)
				}
			case apitype.EventOutput:
				var o apitype.Output
				if err := json.Unmarshal([]byte(data), &o); err != nil || o.RunID != apitype.ID(run.ID) || o.HostName != "db-1" {
					t.Errorf("%s: output event %s (%v)", path, data, err)
				}
			}
		}
		want := []string{"state", "output", "output", "done", "end"}
		if !slices.Equal(events, want) {
			t.Errorf("%s events = %v, want %v\n%s", path, events, want, a.Body)
		}
	}
}
