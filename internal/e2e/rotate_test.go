package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/fleet"
)

// TestRotatePSK: a host added by hand gets a new PSK at its first contact;
// a rotation on demand reaches the client's config and the old PSK is
// refused from then on; a rotation whose acknowledgement is cut on the way
// (by a proxy between server and client) answers 502 and leaves the host
// reachable, settled on the PSK the client holds at the next contact (after
// a server restart); one
// whose acknowledgement alone is lost is settled at once. The pending PSK
// is never shown, and no PSK is ever logged.
func TestRotatePSK(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	srv := env.StartServer()
	cl := env.StartClient()
	px := env.StartProxy(cl.Addr())
	h := srv.MustAddHost(cl, func(req *apitype.HostRequest) { req.Port = uint32(px.Port()) })
	if !h.RotateOnContact {
		t.Errorf("a host added by hand: RotateOnContact false")
	}
	psks := []string{cl.PSK} // every PSK seen, for the log check

	// First contact: the PSK a person saw is replaced.
	srv.AwaitHeartbeat(h)
	first := srv.Host(h.ID)
	if first.PSK == cl.PSK || first.PSK != cl.ConfigPSK() || first.RotateOnContact {
		t.Fatalf("after the first contact: server %+v, client config PSK %q, PSK at start %q", first, cl.ConfigPSK(), cl.PSK)
	}
	psks = append(psks, first.PSK)

	// A rotation on demand.
	var psk string
	srv.MustCall("POST", pskPath(h.ID), nil, &psk)
	psks = append(psks, psk)
	now := srv.Host(h.ID)
	if psk == "" || psk == first.PSK || now.PSK != psk || cl.ConfigPSK() != psk || !now.LastPSKRotate.After(first.LastPSKRotate) {
		t.Fatalf("rotation answered %q; server has %+v (before: %+v), client config %q", psk, now, first, cl.ConfigPSK())
	}
	// Straight to the client: the old PSK is refused, the new one taken.
	d := fleet.Dialer{Timeout: 10 * time.Second}
	target := fleet.Target{Address: "127.0.0.1", Port: uint32(cl.Port)}
	target.PSK = first.PSK
	if _, err := d.Heartbeat(context.Background(), target, "e2e"); !errors.Is(err, fleet.ErrNoAnswer) {
		t.Errorf("heartbeat with the old PSK: %v; want the client to close without answering", err)
	}
	target.PSK = psk
	if _, err := d.Heartbeat(context.Background(), target, "e2e"); err != nil {
		t.Errorf("heartbeat with the new PSK: %v", err)
	}

	// The acknowledgement cut, and the heartbeat that would check it too.
	px.SetMode(proxyCutReplies)
	code, msg := srv.Call("POST", pskPath(h.ID), nil, nil)
	if code != http.StatusBadGateway || !strings.Contains(msg, "pending") {
		t.Errorf("rotation with the answers cut: HTTP %d %q; want 502 saying the new PSK stays pending", code, msg)
	}
	if px.Cuts() == 0 {
		t.Fatalf("the proxy cut nothing")
	}
	pending := cl.ConfigPSK() // the client stored it before answering
	psks = append(psks, pending)
	if pending == psk {
		t.Fatalf("the client did not take the new PSK")
	}
	if got := srv.Host(h.ID).PSK; got != psk {
		t.Errorf("while the new PSK is pending the server shows %q, want the confirmed %q", got, psk)
	}
	neverShown(t, srv, h.ID, pending)

	// The pending PSK is stored: a restart does not lose it. (The sweep at
	// start may be the contact that settles it; the heartbeat below is
	// then on the settled key.)
	px.SetMode(proxyForward)
	srv.Restart()
	if st := srv.Heartbeat(h.ID); !st.IsReachable {
		t.Fatalf("after the lost acknowledgement the host is unreachable: %+v", st)
	}
	if got := srv.Host(h.ID).PSK; got != pending || cl.ConfigPSK() != pending {
		t.Errorf("after the next contact: server PSK %q, client config %q; want both %q", got, cl.ConfigPSK(), pending)
	}

	// Only the acknowledgement lost: the heartbeat right after settles it.
	px.SetMode(proxyCutNextReply)
	cuts := px.Cuts()
	var psk3 string
	srv.MustCall("POST", pskPath(h.ID), nil, &psk3)
	psks = append(psks, psk3)
	if px.Cuts() != cuts+1 {
		t.Errorf("the proxy cut %d connections, want 1", px.Cuts()-cuts)
	}
	if psk3 == pending || srv.Host(h.ID).PSK != psk3 || cl.ConfigPSK() != psk3 {
		t.Errorf("rotation with the acknowledgement lost answered %q; server has %q, client %q", psk3, srv.Host(h.ID).PSK, cl.ConfigPSK())
	}
	neverShown(t, srv, h.ID, "")

	// A script whose after-run action is update_psk.
	sid := srv.MustScript("echo rotate after me", func(req *apitype.ScriptRequest) { req.AfterExecution = apitype.ActionUpdatePSK })
	b := srv.MustStart(sid, []apitype.ID{h.ID}, nil)
	r := (&runHandle{srv: srv, ID: b.Runs[0].ID}).AwaitEnd(awaitWithin)
	psk4 := srv.Host(h.ID).PSK
	psks = append(psks, psk4)
	if r.State != apitype.RunDone || !r.Success || r.Error != "" || psk4 == psk3 || cl.ConfigPSK() != psk4 {
		t.Errorf("after-run update_psk: run %+v; server PSK %q (before %q), client %q", r, psk4, psk3, cl.ConfigPSK())
	}

	// The host works as before.
	srv.MustRun("echo after rotations", h).AwaitOutput("after rotations")

	for _, p := range []*proc{srv.proc, cl.proc} {
		logs := p.stdout.String() + p.stderr.String()
		for _, k := range psks {
			if strings.Contains(logs, k) {
				t.Errorf("the log of %s shows a PSK", p.name)
			}
		}
	}
}

// neverShown checks that the host routes show no pending PSK: no field
// PendingPSK, and not the value pending (if given).
func neverShown(t *testing.T, srv *server, id apitype.ID, pending string) {
	t.Helper()
	for _, path := range []string{"/api/hosts", apiclient.ItemPath("/api/hosts/host", string(id))} {
		var raw json.RawMessage
		srv.MustCall("GET", path, nil, &raw)
		if strings.Contains(string(raw), "PendingPSK") || pending != "" && strings.Contains(string(raw), pending) {
			t.Errorf("GET %s shows the pending PSK: %s", path, raw)
		}
	}
}

// pskPath is the route of host id's PSK rotation.
func pskPath(id apitype.ID) string { return apiclient.ItemPath("/api/hosts/host", string(id), "psk") }
