package fleet

import (
	"bytes"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// upstreamPSK is the PSK of the frames captured from a 0.x client in
// internal/wire/testdata/upstream.
const upstreamPSK = "upstream-test-psk"

// zeroX is a fake client that answers with what a deployed 0.x client
// sent (internal/wire/testdata/upstream): the captured bytes as they are
// while its PSK is the one they were sealed with, their decoded values
// sealed with its PSK after that. Like a 0.x client it stores a new PSK
// before answering an UpdatePSK, under the old key, and answers every
// other action with a zero ScriptResult.
type zeroX struct {
	t  testing.TB
	ln net.Listener

	mu      sync.Mutex
	psk     string
	dropAck bool // store a new PSK but close without answering
	actions []uint32
}

func startZeroX(t testing.TB) *zeroX {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &zeroX{t: t, ln: ln, psk: upstreamPSK}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { z.serve(conn) })
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return z
}

func (z *zeroX) addr() (string, uint32) {
	a := z.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), uint32(a.Port)
}

func (z *zeroX) key() string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.psk
}

func (z *zeroX) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	psk := z.key()
	typ, msg, err := wire.ReadMessage(conn, psk)
	if err != nil {
		return // a wrong key: a 0.x client closes without a word
	}
	capture := "heartbeat_response.hex"
	if typ == wire.MessageTypeTriggerAction {
		m := msg.(wire.MessageTriggerAction)
		z.mu.Lock()
		z.actions = append(z.actions, m.Action)
		drop := z.dropAck
		if m.Action == wire.ActionUpdatePSK {
			z.psk = m.NewPSK
		}
		z.mu.Unlock()
		capture = "upload_file.hex"
		if m.Action == wire.ActionUpdatePSK {
			if drop {
				return
			}
			capture = "update_psk.hex"
		}
	}
	frame := upstreamFrame(z.t, capture)
	if psk != upstreamPSK {
		typ, m, err := wire.ReadMessage(bytes.NewReader(frame), upstreamPSK)
		if err != nil {
			z.t.Errorf("%s: %v", capture, err)
			return
		}
		var b bytes.Buffer
		if err := wire.WriteMessage(typ, m, &b, psk); err != nil {
			z.t.Errorf("%s: %v", capture, err)
			return
		}
		frame = b.Bytes()
	}
	conn.Write(frame)
}

// upstreamFrame returns the one frame captured in the file name.
func upstreamFrame(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "wire", "testdata", "upstream", name))
	if err != nil {
		t.Fatal(err)
	}
	frame, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

func (e *env) addZeroXHost(z *zeroX, mods ...func(*domain.Host)) domain.Host {
	e.t.Helper()
	addr, port := z.addr()
	h := domain.Host{Name: "zerox", Address: addr, Port: port, PSK: upstreamPSK, Enabled: true, LastPSKRotate: time.Now()}
	for _, m := range mods {
		m(&h)
	}
	e.update(func(tx domain.Tx) error { return tx.PutHost(&h) })
	return h
}

// reachable fails the test unless host id answers a heartbeat with the
// PSK the server holds, and that is the one z holds.
func (e *env) reachable(z *zeroX, id, after string) {
	e.t.Helper()
	st, err := e.svc.Heartbeat(e.ctx, id)
	if err != nil || !st.IsReachable {
		e.t.Fatalf("after %s: the 0.x client is unreachable: %v %s", after, err, st.Error)
	}
	if h := e.host(id); h.PSK != z.key() || h.PendingPSK != "" {
		e.t.Fatalf("after %s: server holds %q (pending %q), the 0.x client %q", after, h.PSK, h.PendingPSK, z.key())
	}
}

// TestZeroX_RotationAtFirstContact: a host added by hand is rotated at the
// first sweep; the 0.x client answers with a zero ScriptResult.
func TestZeroX_RotationAtFirstContact(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) { o.Security.RotatePSK.Enabled = true })
	z := startZeroX(t)
	h := e.addZeroXHost(z, func(h *domain.Host) { h.RotateOnContact = true })
	res, err := e.svc.Sweep(e.ctx)
	if err != nil || res.Reachable != 1 || res.Rotated != 1 {
		t.Fatalf("sweep = %+v, %v; want the host reached and rotated", res, err)
	}
	if z.key() == upstreamPSK {
		t.Fatal("the 0.x client was not sent a new PSK")
	}
	e.reachable(z, h.ID, "the rotation at first contact")
	if got := e.host(h.ID); got.RotateOnContact || got.LastPSKRotate.IsZero() {
		t.Errorf("host after rotation: %+v", got)
	}
}

func TestZeroX_ManualRotation(t *testing.T) {
	e := newEnv(t)
	z := startZeroX(t)
	h := e.addZeroXHost(z)
	for i := range 2 { // the second one seals with a key that is not the captured one
		psk, err := e.svc.RotatePSK(e.ctx, h.ID)
		if err != nil || psk != z.key() {
			t.Fatalf("rotation %d = %q, %v; the client holds %q", i, psk, err, z.key())
		}
		e.reachable(z, h.ID, "a manual rotation")
	}
	if got, err := e.svc.Action(e.ctx, ActionRequest{HostID: h.ID, Action: ActionUpdatePSK}); err != nil || got != true {
		t.Fatalf("update_psk action = %v, %v; want true", got, err)
	}
	e.reachable(z, h.ID, "the update_psk action")
}

func TestZeroX_RotationAnswerLost(t *testing.T) {
	e := newEnv(t)
	z := startZeroX(t)
	z.dropAck = true
	h := e.addZeroXHost(z)
	psk, err := e.svc.RotatePSK(e.ctx, h.ID)
	if err != nil || psk != z.key() {
		t.Fatalf("rotation with the answer lost = %q, %v; the client holds %q", psk, err, z.key())
	}
	e.reachable(z, h.ID, "a rotation whose answer was lost")
}

func TestZeroX_Actions(t *testing.T) {
	e := newEnv(t)
	z := startZeroX(t)
	h := e.addZeroXHost(z)
	for _, a := range []struct {
		name string
		want uint32
	}{{ActionExitClient, wire.ActionExit}, {ActionReboot, wire.ActionReboot}, {ActionShutdown, wire.ActionShutdown}} {
		if got, err := e.svc.Action(e.ctx, ActionRequest{HostID: h.ID, Action: a.name}); err != nil || got != true {
			t.Errorf("%s on a 0.x client = %v, %v; want true", a.name, got, err)
		}
		z.mu.Lock()
		last := z.actions[len(z.actions)-1]
		z.mu.Unlock()
		if last != a.want {
			t.Errorf("%s sent action %d, want %d", a.name, last, a.want)
		}
		e.reachable(z, h.ID, a.name)
	}
	opts, err := e.svc.options(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []string{domain.AfterExitClient, domain.AfterReboot, domain.AfterShutdown, domain.AfterUpdatePSK} {
		if err := e.svc.afterRun(e.svc.dialer(opts.Network), after, e.host(h.ID)); err != nil {
			t.Errorf("after-run action %s on a 0.x client: %v", after, err)
		}
		e.reachable(z, h.ID, "the after-run action "+after)
	}
}
