package fleet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire/wiretest"
)

func TestHeartbeat(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{Version: "1.2.3"})
	h := e.addHost(c)

	st, err := e.svc.Heartbeat(e.ctx, h.ID)
	if err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if !st.IsReachable || st.Version != "1.2.3" || st.Properties["hostname"] != "fakehost" || st.Error != "" {
		t.Errorf("Heartbeat = %+v, want reachable 1.2.3 fakehost", st)
	}
	if stored := e.status(h.ID); !stored.IsReachable || stored.LastReply.IsZero() || stored.Address != h.Address {
		t.Errorf("stored status = %+v, want it reachable with a reply time", stored)
	}
	e.assertNoPSK(testPSK)
}

func TestHeartbeat_WrongPSK(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	h := e.addHost(c)
	if _, err := e.svc.Heartbeat(e.ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	c.SetPSK("another-psk")

	st, err := e.svc.Heartbeat(e.ctx, h.ID)
	if err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if want := "the client closed the connection without answering: wrong PSK?"; st.IsReachable || st.Error != want {
		t.Errorf("Heartbeat with a wrong PSK = reachable %v, error %q; want unreachable, %q", st.IsReachable, st.Error, want)
	}
	stored := e.status(h.ID)
	if stored.IsReachable || stored.LastReply.IsZero() || stored.Version != "wiretest" {
		t.Errorf("stored status = %+v, want unreachable but keeping the last reply and version", stored)
	}
	e.assertNoPSK(testPSK, "another-psk")
}

func TestHeartbeat_Unknown(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Heartbeat(e.ctx, "42"); err == nil {
		t.Fatal("Heartbeat of an unknown host succeeded")
	}
}

func TestSweep(t *testing.T) {
	e := newEnv(t)
	up := e.client(wiretest.Config{})
	down := e.client(wiretest.Config{})
	silent := e.client(wiretest.Config{})
	off := e.client(wiretest.Config{})
	hUp, hDown, hSilent := e.addHost(up), e.addHost(down), e.addHost(silent)
	hOff := e.addHost(off, func(h *domain.Host) { h.Enabled = false })
	down.Stop()
	silent.SetHang(true)
	e.options(func(o *domain.Options) { o.Network.Timeout = 1 })

	start := time.Now()
	res, err := e.svc.Sweep(e.ctx)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if res.Hosts != 3 || res.Reachable != 1 {
		t.Errorf("Sweep = %+v, want 3 hosts, 1 reachable", res)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Sweep took %v; a silent host must cost only its timeout", el)
	}
	if st := e.status(hUp.ID); !st.IsReachable {
		t.Errorf("status of the live host = %+v", st)
	}
	if st := e.status(hDown.ID); st.IsReachable || !strings.HasPrefix(st.Error, "could not connect") {
		t.Errorf("status of the stopped host = %+v, want could not connect", st)
	}
	if st := e.status(hSilent.ID); st.IsReachable || st.Error != "the client did not answer in time" {
		t.Errorf("status of the silent host = %+v, want a timeout", st)
	}
	if off.Heartbeats() != 0 {
		t.Errorf("the disabled host %s got %d heartbeats", hOff.ID, off.Heartbeats())
	}
}

// onlyOdd is a Leader owning the hosts with odd IDs.
type onlyOdd struct{}

func (onlyOdd) Owns(id string) bool {
	n, err := strconv.Atoi(id)
	return err == nil && n%2 == 1
}

func TestSweep_Leader(t *testing.T) {
	e := newEnv(t)
	var clients []*wiretest.Client
	for range 4 {
		c := e.client(wiretest.Config{})
		clients = append(clients, c)
		e.addHost(c)
	}
	svc, err := New(e.ctx, Config{Store: e.store, Leader: onlyOdd{}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if res, err := svc.Sweep(e.ctx); err != nil || res.Hosts != 2 {
		t.Fatalf("Sweep with a leader owning odd IDs = %+v, %v; want 2 hosts", res, err)
	}
	for i, c := range clients {
		if want := (i+1)%2 == 1; (c.Heartbeats() == 1) != want {
			t.Errorf("host %d got %d heartbeats, owned %v", i+1, c.Heartbeats(), want)
		}
	}
}

// TestSweep_Batched: 200 hosts' statuses reach the store in a few
// transactions, not one each.
func TestSweep_Batched(t *testing.T) {
	e := newEnv(t)
	const n = 200
	for range n {
		e.addHost(e.client(wiretest.Config{}))
	}
	before := e.store.updates.Load()
	res, err := e.svc.Sweep(e.ctx)
	if err != nil || res.Reachable != n {
		t.Fatalf("Sweep = %+v, %v; want %d reachable", res, err, n)
	}
	updates := e.store.updates.Load() - before
	t.Logf("sweep of %d hosts: %v, %d store updates", n, res.Duration, updates)
	if updates > 10 {
		t.Errorf("sweep of %d hosts made %d store updates, want at most 10", n, updates)
	}
	var statuses []domain.HostStatus
	e.view(func(tx domain.Tx) (err error) { statuses, err = tx.HostStatuses(); return err })
	if len(statuses) != n {
		t.Errorf("%d statuses stored, want %d", len(statuses), n)
	}
}

func TestRun_BackgroundLoop(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	e.addHost(c)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	eventually(t, "first sweep", func() bool { return c.Heartbeats() == 1 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestSettle_PendingOnHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		name        string
		clientHas   string // "current" or "pending"
		wantPSK     string
		wantRotated bool
	}{
		{"ack lost: the client holds the pending key", "pending", "pending-psk", true},
		{"never stored: the client holds the current key", "current", testPSK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.client(wiretest.Config{})
			old := time.Now().Add(-30 * 24 * time.Hour)
			h := e.addHost(c, func(h *domain.Host) { h.PendingPSK = "pending-psk"; h.LastPSKRotate = old })
			if tc.clientHas == "pending" {
				c.SetPSK("pending-psk")
			}
			st, err := e.svc.Heartbeat(e.ctx, h.ID)
			if err != nil || !st.IsReachable {
				t.Fatalf("Heartbeat = %+v, %v; want reachable", st, err)
			}
			got := e.host(h.ID)
			if got.PSK != tc.wantPSK || got.PendingPSK != "" {
				t.Errorf("host keys after heartbeat: PSK %q pending %q; want %q and none", got.PSK, got.PendingPSK, tc.wantPSK)
			}
			if rotated := got.LastPSKRotate.After(old); rotated != tc.wantRotated {
				t.Errorf("LastPSKRotate moved = %v, want %v", rotated, tc.wantRotated)
			}
			e.assertNoPSK(testPSK, "pending-psk")
		})
	}
}

func TestSettle_NeitherKeyWorks(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	h := e.addHost(c, func(h *domain.Host) { h.PendingPSK = "pending-psk" })
	c.SetPSK("a-third-psk")
	st, _ := e.svc.Heartbeat(e.ctx, h.ID)
	if st.IsReachable {
		t.Fatal("reachable with neither key")
	}
	if got := e.host(h.ID); got.PSK != testPSK || got.PendingPSK != "pending-psk" {
		t.Errorf("keys = %q/%q, want both kept", got.PSK, got.PendingPSK)
	}
}

func TestHeartbeat_ManyDistinctPSKs(t *testing.T) {
	if testing.Short() {
		t.Skip("derives keys")
	}
	e := newEnv(t)
	for i := range 3 {
		e.addHost(e.client(wiretest.Config{PSK: fmt.Sprintf("distinct-%d", i)}))
	}
	if res, err := e.svc.Sweep(e.ctx); err != nil || res.Reachable != 3 {
		t.Fatalf("Sweep = %+v, %v", res, err)
	}
}
