package fleet

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/storetest"
	"github.com/otto-automation/otto/internal/wire/wiretest"
)

// testPSK is the PSK of most fake clients: every distinct PSK costs a
// scrypt derivation, half a second under the race detector.
const testPSK = "fleet-test-psk"

// countingStore counts the Update transactions that go through it, and
// holds them back while told to (see hold).
type countingStore struct {
	domain.Store
	updates atomic.Int64
	held    atomic.Pointer[chan struct{}]
}

func (c *countingStore) Update(ctx context.Context, fn func(tx domain.Tx) error) error {
	c.updates.Add(1)
	if h := c.held.Load(); h != nil {
		<-*h
	}
	return c.Store.Update(ctx, fn)
}

// hold makes the Update transactions wait until release is called; release
// may be called more than once.
func (c *countingStore) hold() (release func()) {
	h := make(chan struct{})
	c.held.Store(&h)
	return sync.OnceFunc(func() {
		c.held.Store(nil)
		close(h)
	})
}

// env is a Service over a fresh store, with fake clients to point hosts at.
type env struct {
	t     testing.TB
	ctx   context.Context
	store *countingStore
	svc   *Service
	logs  *syncBuffer
}

// syncBuffer collects log output for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newEnv starts a Service whose options are the defaults with a 2 s
// timeout and automatic rotation off, changed by mods.
func newEnv(t testing.TB, mods ...func(*domain.Options)) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), store: &countingStore{Store: storetest.Open(t)}, logs: &syncBuffer{}}
	o := domain.DefaultOptions()
	o.Network.Timeout = 2
	o.Security.RotatePSK.Enabled = false
	o.General.ServerURL = "https://otto.example:8443"
	for _, m := range mods {
		m(&o)
	}
	e.update(func(tx domain.Tx) error { return tx.PutOptions(o) })
	e.svc = e.newService()
	return e
}

func (e *env) newService() *Service {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := New(e.ctx, Config{Store: e.store, Logger: log, Version: "9.9.9-test"})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() {
		svc.Close()
		// Every run gave back what it held of the memory budgets.
		if used := svc.frames.used; used != 0 {
			e.t.Errorf("after Close, %d bytes of the frame budget are still taken", used)
		}
		if live := svc.broker.live; live != 0 {
			e.t.Errorf("after Close, %d bytes of live output are still counted", live)
		}
		if testing.Verbose() {
			e.t.Log(e.logs.String())
		}
	})
	return svc
}

func (e *env) update(fn func(tx domain.Tx) error) {
	e.t.Helper()
	if err := e.store.Store.Update(e.ctx, fn); err != nil {
		e.t.Fatalf("store update: %v", err)
	}
}

func (e *env) view(fn func(tx domain.Tx) error) {
	e.t.Helper()
	if err := e.store.View(e.ctx, fn); err != nil {
		e.t.Fatalf("store view: %v", err)
	}
}

// options changes the stored options.
func (e *env) options(mod func(*domain.Options)) {
	e.update(func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		mod(&o)
		return tx.PutOptions(o)
	})
}

// client starts a fake client with testPSK unless cfg says otherwise.
func (e *env) client(cfg wiretest.Config) *wiretest.Client {
	if cfg.PSK == "" {
		cfg.PSK = testPSK
	}
	return wiretest.Start(e.t, cfg)
}

// addHost adds an enabled host pointing at c, with c's PSK unless mods
// change it.
func (e *env) addHost(c *wiretest.Client, mods ...func(*domain.Host)) domain.Host {
	e.t.Helper()
	addr, port := c.Addr()
	h := domain.Host{Name: fmt.Sprintf("host-%d", port), Address: addr, Port: port, PSK: c.PSK(), Enabled: true,
		LastPSKRotate: time.Now()}
	for _, m := range mods {
		m(&h)
	}
	e.update(func(tx domain.Tx) error { return tx.PutHost(&h) })
	return h
}

func (e *env) host(id string) domain.Host {
	e.t.Helper()
	var h domain.Host
	e.view(func(tx domain.Tx) (err error) { h, err = tx.Host(id); return err })
	return h
}

func (e *env) status(id string) domain.HostStatus {
	e.t.Helper()
	var st domain.HostStatus
	e.view(func(tx domain.Tx) (err error) { st, err = tx.HostStatus(id); return err })
	return st
}

func (e *env) run(id string) domain.Run {
	e.t.Helper()
	var r domain.Run
	e.view(func(tx domain.Tx) (err error) { r, err = tx.Run(id); return err })
	return r
}

func (e *env) addGroup(name string, vars ...domain.Variable) domain.Group {
	e.t.Helper()
	g := domain.Group{Name: name, Environment: vars}
	e.update(func(tx domain.Tx) error { return tx.PutGroup(&g) })
	return g
}

// addScript adds an enabled script whose body is lines, for the fake
// client's language (see wiretest).
func (e *env) addScript(body string, mods ...func(*domain.Script)) domain.Script {
	e.t.Helper()
	s := domain.Script{Name: "script", Executable: "/bin/sh", Script: body, Enabled: true, RunAs: domain.RunAs{Inherit: true}}
	for _, m := range mods {
		m(&s)
	}
	e.update(func(tx domain.Tx) error { return tx.PutScript(&s) })
	return s
}

// startRun runs script on the hosts and returns the single run.
func (e *env) startRun(script domain.Script, hosts ...domain.Host) []domain.Run {
	e.t.Helper()
	req := RunRequest{ScriptID: script.ID, StartedBy: "tester"}
	for _, h := range hosts {
		req.HostIDs = append(req.HostIDs, h.ID)
	}
	runs, err := e.svc.StartRuns(e.ctx, req)
	if err != nil {
		e.t.Fatalf("StartRuns: %v", err)
	}
	return runs
}

func (e *env) wait(id string) domain.Run {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	r, err := e.svc.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("Wait(%s): %v", id, err)
	}
	return r
}

// next reads the next update of sub, failing the test after a while.
func next(t testing.TB, sub *Subscription) (RunUpdate, bool) {
	t.Helper()
	select {
	case u, ok := <-sub.C:
		return u, ok
	case <-time.After(20 * time.Second):
		t.Fatalf("no update within 20 s")
		return RunUpdate{}, false
	}
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertNoPSK fails if a log line shows one of psks.
func (e *env) assertNoPSK(psks ...string) {
	e.t.Helper()
	logs := e.logs.String()
	for _, p := range psks {
		if p != "" && strings.Contains(logs, p) {
			e.t.Errorf("the logs show a PSK (%q):\n%s", p, logs)
		}
	}
}
