package e2e

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// TestHeartbeat: a client added as a host answers a heartbeat with its
// version and the five properties "otto client info" prints; a host with
// the wrong PSK is unreachable with a reason naming the PSK; GET
// /api/heartbeat shows both, and still does after a server restart; a
// client that stops keeps its last known properties.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	srv := env.StartServer()
	good := env.StartClient()
	other := env.StartClient(withPSK("the-client-has-this-psk"))
	h := srv.MustAddHost(good)
	wrong := srv.MustAddHost(other, func(req *apitype.HostRequest) { req.PSK = "the-server-has-another-psk" })

	before := time.Now().UTC().Add(-time.Second) // server and test share the clock; allow rounding
	st := srv.AwaitHeartbeat(h)
	if st.HostID != h.ID || st.Address != "127.0.0.1" || st.Error != "" || st.Version == "" {
		t.Errorf("status of a reachable host: %+v", st)
	}
	if st.LastAttempt.Before(before) || st.LastReply.Before(st.LastAttempt) || time.Since(st.LastReply) > awaitWithin {
		t.Errorf("status times: LastAttempt %v, LastReply %v (test started the heartbeat after %v)", st.LastAttempt, st.LastReply, before)
	}
	info := clientInfo(env)
	if st.Version != info["version"] {
		t.Errorf("heartbeat Version %q, otto client info says %q", st.Version, info["version"])
	}
	props := []string{"distribution_name", "distribution_version", "hostname", "kernel_name", "kernel_version"}
	if got := slices.Sorted(maps.Keys(st.Properties)); !slices.Equal(got, props) {
		t.Errorf("heartbeat properties %v, want exactly %v", got, props)
	}
	for _, k := range props {
		if st.Properties[k] != info[k] {
			t.Errorf("property %s: heartbeat %q, otto client info %q", k, st.Properties[k], info[k])
		}
	}
	if st.Properties["kernel_name"] == "" || st.Properties["hostname"] == "" {
		t.Errorf("empty properties: %v", st.Properties)
	}

	ws := srv.Heartbeat(wrong.ID)
	if ws.IsReachable || !strings.Contains(ws.Error, "PSK") || !ws.LastReply.IsZero() || ws.Version != "" || len(ws.Properties) != 0 {
		t.Errorf("status of a host with a wrong PSK: %+v; want unreachable, with a reason naming the PSK", ws)
	}

	all := srv.Statuses()
	if len(all) != 2 {
		t.Errorf("GET /api/heartbeat has %d statuses, want 2: %+v", len(all), all)
	}
	sameStatus(t, "GET /api/heartbeat, reachable host", all[h.ID], st)
	sameStatus(t, "GET /api/heartbeat, wrong PSK", all[wrong.ID], ws)

	// The first contact rotated the PSK the person who added the host saw.
	if got, cfg := srv.Host(h.ID).PSK, good.ConfigPSK(); got == good.PSK || got != cfg {
		t.Errorf("after the first contact: server PSK %q, client config PSK %q, PSK at start %q; want a new PSK on both", got, cfg, good.PSK)
	}

	// Disable both hosts, so that the sweep at start leaves them alone:
	// what the restarted server shows is what it stored.
	for _, x := range []host{h, wrong} {
		disabled := false
		srv.MustCall("POST", apiclient.ItemPath("/api/hosts/host", string(x.ID)),
			apitype.HostRequest{Name: x.Name, Address: x.Address, Port: x.Port, GroupIDs: x.GroupIDs, Enabled: &disabled}, nil)
	}
	srv.Restart()
	after := srv.Statuses()
	sameStatus(t, "after a restart, reachable host", after[h.ID], st)
	sameStatus(t, "after a restart, wrong PSK", after[wrong.ID], ws)

	// A disabled host still answers a heartbeat asked for by hand, with the
	// rotated PSK the restarted server read back.
	st2 := srv.Heartbeat(h.ID)
	if !st2.IsReachable || !st2.LastReply.After(st.LastReply) {
		t.Errorf("heartbeat after the restart: %+v (first reply %v)", st2, st.LastReply)
	}

	// A client that went away: unreachable, its last reply kept.
	good.MustCleanShutdown()
	st3 := srv.Heartbeat(h.ID)
	if st3.IsReachable || !strings.Contains(st3.Error, "could not connect") || !st3.LastReply.Equal(st2.LastReply) ||
		st3.Version != st2.Version || !maps.Equal(st3.Properties, st2.Properties) {
		t.Errorf("status of a stopped client: %+v; want unreachable (could not connect) with the last reply of %+v", st3, st2)
	}
}

// sameStatus fails the test unless got and want are the same status.
func sameStatus(t *testing.T, what string, got, want apitype.Heartbeat) {
	t.Helper()
	if got.HostID != want.HostID || got.Address != want.Address || got.IsReachable != want.IsReachable ||
		!got.LastAttempt.Equal(want.LastAttempt) || !got.LastReply.Equal(want.LastReply) || got.Error != want.Error ||
		got.Version != want.Version || !maps.Equal(got.Properties, want.Properties) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// clientInfo runs "otto client info" and returns what it prints.
func clientInfo(env *env) map[string]string {
	env.t.Helper()
	p := env.startProc("client info", nil, "client", "info")
	if code := p.awaitExit(startWithin); code != 0 {
		env.t.Fatalf("otto client info exited with %d: %s", code, p.stderr)
	}
	out := make(map[string]string)
	for _, line := range strings.Split(p.stdout.String(), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[k] = v
		}
	}
	return out
}
