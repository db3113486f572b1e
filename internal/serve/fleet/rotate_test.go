package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
	"github.com/otto-automation/otto/internal/wire/wiretest"
)

func TestRotatePSK(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	h := e.addHost(c, func(h *domain.Host) { h.LastPSKRotate = time.Time{}; h.RotateOnContact = true })

	psk, err := e.svc.RotatePSK(e.ctx, h.ID)
	if err != nil {
		t.Fatalf("RotatePSK: %v", err)
	}
	got := e.host(h.ID)
	if psk == testPSK || got.PSK != psk || c.PSK() != psk || got.PendingPSK != "" || got.RotateOnContact || got.LastPSKRotate.IsZero() {
		t.Errorf("after RotatePSK: host %+v, client PSK %q; want both on the new PSK, nothing pending", got, c.PSK())
	}
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable {
		t.Errorf("host unreachable after rotation: %s", st.Error)
	}
	e.assertNoPSK(testPSK, psk)
}

// TestRotatePSK_AckDropped: the client stores the new PSK and cuts the
// connection before acknowledging. The host must stay reachable.
func TestRotatePSK_AckDropped(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	c.SetUpdatePSK(wiretest.DropAck)
	h := e.addHost(c)

	psk, err := e.svc.RotatePSK(e.ctx, h.ID)
	if err != nil {
		t.Fatalf("RotatePSK with the ack dropped: %v (the heartbeat after it should have settled the key)", err)
	}
	if got := e.host(h.ID); got.PSK != psk || got.PendingPSK != "" || c.PSK() != psk {
		t.Errorf("keys: host %q pending %q client %q; want all on %q", got.PSK, got.PendingPSK, c.PSK(), psk)
	}
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable {
		t.Errorf("host unreachable after the rotation: %s", st.Error)
	}
	e.assertNoPSK(testPSK, psk)
}

// TestRotatePSK_AckDroppedThenDown: the ack is lost and the host goes away
// before the server can ask which key it holds; the key stays pending and
// the next contact, once the host is back, settles it.
func TestRotatePSK_AckDroppedThenDown(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	addr, port := c.Addr()
	c.SetUpdatePSK(wiretest.DropAck)
	h := e.addHost(c)
	// Silent right after storing the key: the settling heartbeat fails.
	c.SetOnTrigger(func(wire.MessageTriggerAction) { c.SetHang(true) })
	e.options(func(o *domain.Options) { o.Network.Timeout = 1 })
	if _, err := e.svc.RotatePSK(e.ctx, h.ID); !errors.Is(err, ErrRotationUnconfirmed) {
		t.Fatalf("RotatePSK = %v, want ErrRotationUnconfirmed", err)
	}
	pending := e.host(h.ID).PendingPSK
	if pending == "" || pending != c.PSK() {
		t.Fatalf("pending PSK %q, client %q; want the new key pending", pending, c.PSK())
	}
	c.Stop()
	back := wiretest.New(wiretest.Config{PSK: pending})
	if err := back.Listen(addrPort(addr, port)); err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable {
		t.Fatalf("host back with the pending key: unreachable: %s", st.Error)
	}
	if got := e.host(h.ID); got.PSK != pending || got.PendingPSK != "" {
		t.Errorf("keys after the host came back: %q pending %q; want the pending one committed", got.PSK, got.PendingPSK)
	}
}

func addrPort(addr string, port uint32) string {
	return Target{Address: addr, Port: port}.addr()
}

// TestRotatePSK_Refused: the client answers that it refuses the new PSK.
// The server keeps the current one; the new one stays pending until a
// contact past pendingGrace drops it, since an answer proves nothing.
func TestRotatePSK_Refused(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	c.SetUpdatePSK(wiretest.RefusePSK)
	h := e.addHost(c)
	if _, err := e.svc.RotatePSK(e.ctx, h.ID); !errors.Is(err, ErrRotationRefused) {
		t.Errorf("RotatePSK refused = %v, want ErrRotationRefused", err)
	}
	if got := e.host(h.ID); got.PSK != testPSK || got.PendingPSK == "" || c.PSK() != testPSK {
		t.Errorf("keys: host %q pending %q client %q; want the old key, the new one pending", got.PSK, got.PendingPSK, c.PSK())
	}
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable {
		t.Errorf("unreachable after the refused rotation: %s", st.Error)
	}
	e.pastGrace(h.ID)
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable {
		t.Errorf("unreachable after the grace: %s", st.Error)
	}
	if got := e.host(h.ID); got.PSK != testPSK || got.PendingPSK != "" {
		t.Errorf("keys after the grace: host %q pending %q; want the old key, nothing pending", got.PSK, got.PendingPSK)
	}
}

// TestRotatePSK_RefusedButStored: a peer says it refuses the new PSK but
// stored it anyway. The answer must not decide: the contact after it finds
// the new PSK working, and the host keeps it.
func TestRotatePSK_RefusedButStored(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	c.SetUpdatePSK(wiretest.RefusePSK)
	c.SetOnTrigger(func(m wire.MessageTriggerAction) { c.SetPSK(m.NewPSK) })
	h := e.addHost(c)
	psk, err := e.svc.RotatePSK(e.ctx, h.ID)
	if err != nil {
		t.Fatalf("RotatePSK = %v; want the new key, which works", err)
	}
	if got := e.host(h.ID); got.PSK != psk || got.PendingPSK != "" || c.PSK() != psk {
		t.Errorf("keys: host %q pending %q client %q; want all on %q", got.PSK, got.PendingPSK, c.PSK(), psk)
	}
}

// TestRotatePSK_NotStored: the connection drops before the client stored
// the new PSK. The server cannot tell that from a client still storing it,
// so the new PSK stays pending while the current one keeps working, and is
// dropped by the first contact after pendingGrace.
func TestRotatePSK_NotStored(t *testing.T) {
	e := newEnv(t)
	c := e.client(wiretest.Config{})
	c.SetUpdatePSK(wiretest.DropBeforeStore)
	h := e.addHost(c)
	if _, err := e.svc.RotatePSK(e.ctx, h.ID); !errors.Is(err, ErrRotationUnconfirmed) {
		t.Errorf("RotatePSK = %v, want ErrRotationUnconfirmed", err)
	}
	got := e.host(h.ID)
	if got.PSK != testPSK || got.PendingPSK == "" || c.PSK() != testPSK {
		t.Errorf("keys: host %q pending %q client %q; want the old key, the new one pending", got.PSK, got.PendingPSK, c.PSK())
	}
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable || e.host(h.ID).PendingPSK == "" {
		t.Errorf("heartbeat within the grace: reachable %v (%s), pending %q; want reachable, still pending",
			st.IsReachable, st.Error, e.host(h.ID).PendingPSK)
	}
	e.pastGrace(h.ID)
	if st, _ := e.svc.Heartbeat(e.ctx, h.ID); !st.IsReachable {
		t.Errorf("unreachable after the grace: %s", st.Error)
	}
	if got := e.host(h.ID); got.PSK != testPSK || got.PendingPSK != "" {
		t.Errorf("keys after the grace: host %q pending %q; want the old key, nothing pending", got.PSK, got.PendingPSK)
	}
}

func TestSweep_RotatesWhenDue(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) {
		o.Security.RotatePSK = domain.RotatePSKOptions{Enabled: true, FrequencyDays: 7}
	})
	due := e.client(wiretest.Config{})
	fresh := e.client(wiretest.Config{})
	handAdded := e.client(wiretest.Config{})
	hDue := e.addHost(due, func(h *domain.Host) { h.LastPSKRotate = time.Now().Add(-8 * 24 * time.Hour) })
	hFresh := e.addHost(fresh, func(h *domain.Host) { h.LastPSKRotate = time.Now().Add(-time.Hour) })
	hHand := e.addHost(handAdded, func(h *domain.Host) { h.LastPSKRotate = time.Now(); h.RotateOnContact = true })

	res, err := e.svc.Sweep(e.ctx)
	if err != nil || res.Rotated != 2 {
		t.Fatalf("Sweep = %+v, %v; want 2 rotated", res, err)
	}
	for _, tc := range []struct {
		h       domain.Host
		c       *wiretest.Client
		rotated bool
	}{{hDue, due, true}, {hFresh, fresh, false}, {hHand, handAdded, true}} {
		got := e.host(tc.h.ID)
		if (got.PSK != testPSK) != tc.rotated || got.PSK != tc.c.PSK() || got.RotateOnContact {
			t.Errorf("host %s: PSK changed %v, want %v; matches client %v; RotateOnContact %v",
				tc.h.ID, got.PSK != testPSK, tc.rotated, got.PSK == tc.c.PSK(), got.RotateOnContact)
		}
	}
	// Rotation off: nothing rotates, RotateOnContact waits.
	e.options(func(o *domain.Options) { o.Security.RotatePSK.Enabled = false })
	e.update(func(tx domain.Tx) error {
		h, _ := tx.Host(hFresh.ID)
		h.RotateOnContact = true
		return tx.PutHost(&h)
	})
	if res, _ := e.svc.Sweep(e.ctx); res.Rotated != 0 {
		t.Errorf("Sweep with rotation off rotated %d", res.Rotated)
	}
}

// TestRotate_WaitsForRuns: a rotation never interleaves with a run on the
// same host; a sweep skips the rotation while a run holds the host.
func TestRotate_WaitsForRuns(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) {
		o.Security.RotatePSK = domain.RotatePSKOptions{Enabled: true, FrequencyDays: 1}
	})
	c := e.client(wiretest.Config{})
	h := e.addHost(c, func(h *domain.Host) { h.LastPSKRotate = time.Now().Add(-48 * time.Hour) })
	run := e.startRun(e.addScript("out go\nhang"), h)[0]
	eventually(t, "run started", func() bool { return c.Runs() == 1 })

	if res, _ := e.svc.Sweep(e.ctx); res.Reachable != 1 || res.Rotated != 0 {
		t.Errorf("Sweep during a run = %+v, want reachable and no rotation", res)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := e.svc.RotatePSK(ctx, h.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RotatePSK during a run = %v, want it to wait (and time out)", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.RotatePSK(e.ctx, h.ID)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	e.svc.Cancel(run.ID)
	if err := <-done; err != nil {
		t.Errorf("RotatePSK after the run = %v", err)
	}
	if got := e.wait(run.ID); got.State != domain.RunCanceled {
		t.Errorf("run = %+v", got)
	}
}

func TestRotationDue(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	on := domain.Options{Security: domain.SecurityOptions{RotatePSK: domain.RotatePSKOptions{Enabled: true, FrequencyDays: 7}}}
	off := domain.Options{}
	for _, tc := range []struct {
		name string
		o    domain.Options
		h    domain.Host
		want bool
	}{
		{"never rotated", on, domain.Host{}, true},
		{"8 days", on, domain.Host{LastPSKRotate: now.Add(-8 * 24 * time.Hour)}, true},
		{"6 days", on, domain.Host{LastPSKRotate: now.Add(-6 * 24 * time.Hour)}, false},
		{"asked on contact", on, domain.Host{LastPSKRotate: now, RotateOnContact: true}, true},
		{"off", off, domain.Host{RotateOnContact: true}, false},
	} {
		if got := rotationDue(tc.o, tc.h, now); got != tc.want {
			t.Errorf("%s: rotationDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// pastGrace makes the pending PSK of host id older than pendingGrace.
func (e *env) pastGrace(id string) {
	e.t.Helper()
	e.update(func(tx domain.Tx) error {
		cur, err := tx.Host(id)
		if err != nil {
			return err
		}
		past := time.Now().Add(-pendingGrace - time.Second)
		cur.PendingSince = &past
		return tx.PutHost(&cur)
	})
}
