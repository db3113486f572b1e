package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"net/http"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
)

func TestHostCreate(t *testing.T) {
	e := newEnv(t)
	g := e.mkGroup("web")
	e.mkHost("taken", "127.0.0.1")
	ok := map[string]any{"Name": "web1", "Address": "127.0.0.2", "PSK": "k", "GroupIDs": []apitype.ID{g.ID}}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"no name", with("Name", nil), 400, "Name is required"},
		{"blank name", with("Name", "  "), 400, "Name is required"},
		{"duplicate name", with("Name", "taken"), 400, `a host named "taken" already exists`},
		{"no address", with("Address", nil), 400, "Address is required"},
		{"bad address", with("Address", "http://x"), 400, "neither an IP address nor a host name"},
		{"duplicate address", with("Address", "127.0.0.1"), 400, "already has address 127.0.0.1:12444"},
		{"port too big", with("Port", 70000), 400, "Port 70000 is out of range"},
		{"negative port", with("Port", -1), 400, "field Port: expected a whole number"},
		{"no PSK", with("PSK", nil), 400, "PSK is required"},
		{"unknown group", with("GroupIDs", []int64{99}), 400, "GroupIDs: no group with ID 99"},
		{"unknown field", with("Nmae", "x"), 400, `unknown field "Nmae"`},
		{"bad env key", with("Environment", []map[string]any{{"Key": "A=B", "Value": "1"}}), 400, `Environment[0]: Key "A=B"`},
		{"unknown env field", with("Environment", []map[string]any{{"Key": "A", "Val": "1"}}), 400, `unknown field "Val"`},
		{"not JSON", "{nope", 400, "not valid JSON"},
		{"empty body", "", 400, "request body is empty"},
		{"array body", "[]", 400, "must be a JSON object"},
		{"two objects", `{"Name":"a"} {}`, 400, "more after its JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.fails(e.admin, "PUT", "/api/hosts/host", tt.body, tt.status, tt.want)
		})
	}

	// The 0.x field LastPSKRotate is accepted (and ignored); no GroupIDs
	// means the default group; port 0 means 12444.
	var h apitype.Host
	e.must(e.oper, "PUT", "/api/hosts/host", with("LastPSKRotate", "2020-01-01T00:00:00Z", "GroupIDs", nil), &h)
	if h.ID == "" || h.Port != 12444 || len(h.GroupIDs) != 1 || h.GroupIDs[0] != "1" || !h.Enabled {
		t.Errorf("created host = %+v, want an ID, port 12444, the default group 1, enabled", h)
	}
	if h.PSK != "" {
		t.Errorf("operator sees PSK %q in the create answer, want \"\"", h.PSK)
	}
	if !h.LastPSKRotate.After(h.Created.Add(-1)) {
		t.Errorf("LastPSKRotate = %v, want the creation time, not the one sent", h.LastPSKRotate)
	}
	if !e.hasEvent(domain.EventHostAdded, map[string]string{"Name": "web1", "ID": string(h.ID)}) {
		t.Errorf("no HostAdded event for web1: %+v", e.events(3))
	}
	ev := e.events(1)[0]
	if ev.User != "oper" {
		t.Errorf("HostAdded event User = %q, want oper", ev.User)
	}
}

func TestHostSecrets(t *testing.T) {
	e := newEnv(t)
	var h apitype.Host
	e.must(e.admin, "PUT", "/api/hosts/host", map[string]any{"Name": "db", "Address": "db.example.com", "Port": 2000, "PSK": "the-psk",
		"Environment": []map[string]any{{"Key": "TOKEN", "Value": "hush", "Secret": true}, {"Key": "PLAIN", "Value": "seen"}}}, &h)
	path := "/api/hosts/host/" + string(h.ID)

	for _, tt := range []struct {
		who *caller
		psk string
	}{{e.admin, "the-psk"}, {e.oper, ""}, {e.view, ""}} {
		for _, p := range []string{path, "/api/hosts", "/api/groups/group/1/hosts"} {
			a := e.must(tt.who, "GET", p, nil, nil)
			if strings.Contains(a.Body, "hush") {
				t.Errorf("%s GET %s shows the secret variable's value: %s", tt.who.name, p, a.Body)
			}
			if tt.psk == "" && strings.Contains(a.Body, "the-psk") {
				t.Errorf("%s GET %s shows the PSK: %s", tt.who.name, p, a.Body)
			}
			if tt.psk != "" && !strings.Contains(a.Body, `"PSK":"the-psk"`) {
				t.Errorf("%s GET %s hides the PSK from an admin: %s", tt.who.name, p, a.Body)
			}
		}
	}

	// An edit that sends back what it read (empty PSK, empty secret)
	// keeps both.
	var got apitype.Host
	e.must(e.oper, "GET", path, nil, &got)
	got.Name = "db2"
	got.Environment = append(got.Environment, apitype.Variable{Key: "NEW", Value: "v", Secret: true})
	e.must(e.oper, "POST", path, got, nil)
	stored, err := e.svc.Host(t.Context(), string(h.ID))
	if err != nil {
		t.Fatal(err)
	}
	if stored.PSK != "the-psk" || stored.Name != "db2" {
		t.Errorf("after edit: PSK %q name %q, want the-psk and db2", stored.PSK, stored.Name)
	}
	if env := stored.Environment.Map(); env["TOKEN"] != "hush" || env["PLAIN"] != "seen" || env["NEW"] != "v" {
		t.Errorf("after edit: environment %v, want TOKEN kept, PLAIN and NEW", env)
	}
	// A new PSK replaces it and asks for a rotation at the next contact.
	got.PSK = "new-psk"
	e.must(e.admin, "POST", path, got, nil)
	stored, _ = e.svc.Host(t.Context(), string(h.ID))
	if stored.PSK != "new-psk" || !stored.RotateOnContact {
		t.Errorf("after PSK edit: PSK %q RotateOnContact %v, want new-psk true", stored.PSK, stored.RotateOnContact)
	}
	for _, ev := range e.events(0) {
		for k, v := range ev.Details {
			if strings.Contains(v, "psk") || strings.Contains(v, "hush") {
				t.Errorf("event %s detail %s = %q shows a secret", ev.Type, k, v)
			}
		}
	}
}

func TestHostEditDelete(t *testing.T) {
	e := newEnv(t)
	g := e.mkGroup("g2")
	h := e.mkHost("a", "127.0.0.1")
	e.mkHost("b", "127.0.0.2")
	path := "/api/hosts/host/" + string(h.ID)
	body := func(kv ...any) map[string]any {
		m := map[string]any{"Name": "a", "Address": "127.0.0.1", "GroupIDs": []int64{1}}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	e.fails(e.admin, "POST", path, body("Name", "b"), 400, `a host named "b" already exists`)
	e.fails(e.admin, "POST", path, body("Address", "127.0.0.2"), 400, "already has address")
	e.fails(e.admin, "POST", path, body("GroupIDs", []int64{}), 400, "at least one group")
	e.fails(e.admin, "POST", path, body("ID", 5), 400, "does not match")
	e.fails(e.admin, "POST", "/api/hosts/host/99", body(), 404, "no host with ID 99")

	var got apitype.Host
	e.must(e.admin, "POST", path, body("Enabled", false, "GroupIDs", []any{1, g.ID, g.ID}, "Port", 9999), &got)
	if got.Enabled || len(got.GroupIDs) != 2 || got.Port != 9999 {
		t.Errorf("edited host = %+v, want disabled, groups [1 %s], port 9999", got, g.ID)
	}
	// Enabled omitted keeps it.
	e.must(e.admin, "POST", path, body("GroupIDs", []apitype.ID{"1", g.ID}), &got)
	if got.Enabled {
		t.Errorf("edit without Enabled re-enabled the host")
	}
	if !e.hasEvent(domain.EventHostModified, map[string]string{"ID": string(h.ID)}) {
		t.Errorf("no HostModified event")
	}

	// Related routes.
	sc := e.mkScript("hello")
	e.must(e.admin, "POST", "/api/groups/group/"+string(g.ID), map[string]any{"Name": "g2", "ScriptIDs": []apitype.ID{sc.ID}}, nil)
	var hs []apitype.HostScript
	e.must(e.view, "GET", path+"/scripts", nil, &hs)
	if len(hs) != 1 || hs[0].ScriptID != sc.ID || hs[0].GroupName != "g2" {
		t.Errorf("host scripts = %+v, want hello via g2", hs)
	}
	var gs []apitype.Group
	e.must(e.view, "GET", path+"/groups", nil, &gs)
	if len(gs) != 2 {
		t.Errorf("host groups = %+v, want 2", gs)
	}
	var sched apitype.Schedule
	e.must(e.admin, "PUT", "/api/schedules/schedule", map[string]any{"Name": "s", "ScriptID": sc.ID, "Pattern": "@daily",
		"Scope": map[string]any{"HostIDs": []apitype.ID{h.ID}}}, &sched)
	var ss []apitype.Schedule
	e.must(e.view, "GET", path+"/schedules", nil, &ss)
	if len(ss) != 1 || ss[0].ID != sched.ID {
		t.Errorf("host schedules = %+v, want %s", ss, sched.ID)
	}

	e.must(e.oper, "DELETE", path, nil, nil)
	e.fails(e.admin, "GET", path, nil, http.StatusNotFound, "no host with ID")
	e.fails(e.admin, "DELETE", path, nil, http.StatusNotFound, "no host with ID")
	if !e.hasEvent(domain.EventHostDeleted, map[string]string{"Name": "a"}) {
		t.Errorf("no HostDeleted event")
	}
	// The schedule no longer names the host.
	e.must(e.view, "GET", "/api/schedules/schedule/"+string(sched.ID), nil, &sched)
	if len(sched.Scope.HostIDs) != 0 {
		t.Errorf("schedule scope after host delete = %v, want empty", sched.Scope.HostIDs)
	}
}
