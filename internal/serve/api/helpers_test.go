package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/otto-automation/otto/internal/apitype"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
	"github.com/otto-automation/otto/internal/serve/storetest"
)

// testHasher is argon2id with tiny parameters: the tests check the flow,
// not the cost.
var testHasher = auth.Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}

// env is an API server on a fresh store with three users, one per role,
// each with an API key.
type env struct {
	t     testing.TB
	svc   *domain.Service
	api   *Server
	srv   *httptest.Server
	admin *caller
	oper  *caller
	view  *caller
}

// caller authenticates with API key headers (or a cookie jar if set).
type caller struct {
	name   string
	key    string
	client *http.Client
	header http.Header
}

const adminPassword = "admin-password-1"

func newEnv(t testing.TB) *env {
	t.Helper()
	st := storetest.Open(t)
	log := storetest.Logger(t)
	svc := &domain.Service{Store: st, Passwords: testHasher, Log: log}
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, adminPassword, false); err != nil {
		t.Fatal(err)
	}
	a := auth.New(svc, log, nil)
	fl, err := fleet.New(ctx, fleet.Config{Store: st, Logger: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	s := New(Config{Service: svc, Fleet: fl, Auth: a, Log: log, Version: "test", Hostname: "otto.test"})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, svc: svc, api: s, srv: srv}
	e.admin = e.keyFor("admin")
	for _, u := range []struct {
		name, role string
		dst        **caller
	}{{"oper", domain.RoleOperator, &e.oper}, {"view", domain.RoleViewer, &e.view}} {
		if _, err := svc.CreateUser(ctx, "test", domain.User{Username: u.name, Role: u.role}, u.name+"-password"); err != nil {
			t.Fatal(err)
		}
		*u.dst = e.keyFor(u.name)
	}
	return e
}

func (e *env) keyFor(name string) *caller {
	key, hash := auth.NewAPIKey()
	if err := e.svc.SetAPIKey(context.Background(), "test", name, hash); err != nil {
		e.t.Fatal(err)
	}
	return &caller{name: name, key: key.Reveal(), client: e.srv.Client()}
}

// answer is a decoded envelope.
type answer struct {
	Status int
	Code   int             `json:"code"`
	Error  json.RawMessage `json:"error"`
	Data   json.RawMessage `json:"data"`
	Header http.Header
	Body   string
}

// Message is the error message of a failed answer.
func (a answer) Message() string {
	var e struct{ Message string }
	_ = json.Unmarshal(a.Error, &e)
	return e.Message
}

// into decodes the answer's data into v.
func (a answer) into(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Data, v); err != nil {
		t.Fatalf("decoding data %s: %v", a.Data, err)
	}
}

// do sends a request as c (nil: anonymous). body may be a string (sent
// as is), nil, or anything JSON-encodable.
func (e *env) do(c *caller, method, path string, body any) answer {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := e.srv.Client()
	if c != nil {
		if c.key != "" {
			req.Header.Set(auth.HeaderUsername, c.name)
			req.Header.Set(auth.HeaderAPIKey, c.key)
		}
		for k, v := range c.header {
			req.Header[k] = v
		}
		client = c.client
	}
	return e.send(client, req)
}

func (e *env) send(client *http.Client, req *http.Request) answer {
	e.t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode, Header: resp.Header, Body: string(data)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &a); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %v\n%s", req.Method, req.URL.Path, err, data)
		}
	}
	return a
}

// must sends a request that must succeed, and decodes its data into out
// (if not nil).
func (e *env) must(c *caller, method, path string, body, out any) answer {
	e.t.Helper()
	a := e.do(c, method, path, body)
	if a.Status != http.StatusOK {
		e.t.Fatalf("%s %s = %d %s, want 200", method, path, a.Status, a.Body)
	}
	if out != nil {
		a.into(e.t, out)
	}
	return a
}

// fails checks that a request fails with status and a message containing
// want.
func (e *env) fails(c *caller, method, path string, body any, status int, want string) answer {
	e.t.Helper()
	a := e.do(c, method, path, body)
	if a.Status != status || !strings.Contains(a.Message(), want) || a.Code != status {
		e.t.Errorf("%s %s %v = %d %s, want %d with a message containing %q", method, path, short(body), a.Status, a.Body, status, want)
	}
	return a
}

func short(body any) string {
	s := fmt.Sprint(body)
	if b, err := json.Marshal(body); err == nil {
		if _, ok := body.(string); !ok {
			s = string(b)
		}
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// mkHost creates a host as admin and returns it.
func (e *env) mkHost(name, addr string, groups ...apitype.ID) apitype.Host {
	e.t.Helper()
	var h apitype.Host
	e.must(e.admin, "PUT", "/api/hosts/host", map[string]any{"Name": name, "Address": addr, "PSK": "psk-" + name, "GroupIDs": groups}, &h)
	return h
}

func (e *env) mkGroup(name string) apitype.Group {
	e.t.Helper()
	var g apitype.Group
	e.must(e.admin, "PUT", "/api/groups/group", map[string]any{"Name": name}, &g)
	return g
}

func (e *env) mkScript(name string) apitype.Script {
	e.t.Helper()
	var s apitype.Script
	e.must(e.admin, "PUT", "/api/scripts/script", map[string]any{"Name": name, "Executable": "/bin/sh", "Script": "echo " + name}, &s)
	return s
}

// events returns the newest n audit events.
func (e *env) events(n int) []domain.Event {
	e.t.Helper()
	evs, err := e.svc.Events(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// hasEvent reports whether one of the newest 20 events has type typ and
// details including want.
func (e *env) hasEvent(typ string, want map[string]string) bool {
	for _, ev := range e.events(20) {
		if ev.Type != typ {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && ev.Details[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}
