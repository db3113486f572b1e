package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
)

func TestGroups(t *testing.T) {
	e := newEnv(t)
	sc := e.mkScript("s1")
	var g apitype.Group
	e.must(e.oper, "PUT", "/api/groups/group", map[string]any{"Name": "web", "ScriptIDs": []apitype.ID{sc.ID},
		"Environment": []map[string]any{{"Key": "S", "Value": "secret-value", "Secret": true}}}, &g)
	if !e.hasEvent(domain.EventGroupAdded, map[string]string{"Name": "web", "ID": string(g.ID)}) {
		t.Errorf("no GroupAdded event")
	}
	for _, tt := range []struct {
		name string
		body any
		want string
	}{
		{"no name", map[string]any{}, "Name is required"},
		{"duplicate", map[string]any{"Name": "web"}, `a group named "web" already exists`},
		{"unknown script", map[string]any{"Name": "x", "ScriptIDs": []int64{42}}, "ScriptIDs: no script with ID 42"},
		{"unknown field", map[string]any{"Name": "x", "Hosts": []int64{}}, `unknown field "Hosts"`},
	} {
		e.fails(e.oper, "PUT", "/api/groups/group", tt.body, 400, tt.want)
	}
	a := e.must(e.view, "GET", "/api/groups/group/"+string(g.ID), nil, nil)
	if strings.Contains(a.Body, "secret-value") {
		t.Errorf("group answer shows a secret value: %s", a.Body)
	}

	h1 := e.mkHost("h1", "127.0.0.1")
	h2 := e.mkHost("h2", "127.0.0.2", "1", g.ID)
	var m map[string][]apitype.ID
	e.must(e.view, "GET", "/api/groups/membership", nil, &m)
	if got := m[string(g.ID)]; len(got) != 1 || got[0] != h2.ID || len(m["1"]) != 2 {
		t.Errorf("membership = %v, want group %s: [%s], group 1: two hosts", m, g.ID, h2.ID)
	}
	gpath := "/api/groups/group/" + string(g.ID)
	e.must(e.oper, "POST", gpath+"/hosts", map[string]any{"Hosts": []apitype.ID{h1.ID}}, nil)
	var hs []apitype.Host
	e.must(e.view, "GET", gpath+"/hosts", nil, &hs)
	if len(hs) != 1 || hs[0].ID != h1.ID {
		t.Errorf("group hosts after set = %+v, want only h1", hs)
	}
	// Taking h1 out of its only group is refused.
	e.fails(e.oper, "POST", "/api/groups/group/1/hosts", map[string]any{"Hosts": []apitype.ID{h1.ID}}, 400, `host "h2" (ID 2) would be left without a group`)
	e.fails(e.oper, "POST", gpath+"/hosts", map[string]any{"Hosts": []int64{77}}, 400, "Hosts: no host with ID 77")

	var scs []apitype.Script
	e.must(e.view, "GET", gpath+"/scripts", nil, &scs)
	if len(scs) != 1 || scs[0].ID != sc.ID {
		t.Errorf("group scripts = %+v", scs)
	}

	// Delete is refused while anything uses the group, naming it.
	e.fails(e.oper, "DELETE", gpath, nil, 409, `hosts "h1"`)
	e.must(e.oper, "POST", gpath+"/hosts", map[string]any{"Hosts": []int64{}}, nil)
	var sched apitype.Schedule
	e.must(e.oper, "PUT", "/api/schedules/schedule", map[string]any{"Name": "nightly", "ScriptID": sc.ID, "Pattern": "0 3 * * *",
		"Scope": map[string]any{"GroupIDs": []apitype.ID{g.ID}}}, &sched)
	var ss []apitype.Schedule
	e.must(e.view, "GET", gpath+"/schedules", nil, &ss)
	if len(ss) != 1 {
		t.Errorf("group schedules = %+v", ss)
	}
	e.fails(e.oper, "DELETE", gpath, nil, 409, `schedules "nightly"`)
	e.must(e.oper, "DELETE", "/api/schedules/schedule/"+string(sched.ID), nil, nil)
	var rule apitype.RegisterRule
	e.must(e.admin, "PUT", "/api/register/rules/rule", map[string]any{"Name": "debian", "GroupID": g.ID,
		"Clauses": []map[string]any{{"Property": "distribution_name", "Pattern": "^debian$"}}}, &rule)
	e.fails(e.oper, "DELETE", gpath, nil, 409, `registration rules "debian"`)
	e.must(e.admin, "DELETE", "/api/register/rules/rule/"+string(rule.ID), nil, nil)
	opts := e.options()
	opts.Register.DefaultGroupID = g.ID
	e.must(e.admin, "POST", "/api/options", opts, nil)
	e.fails(e.oper, "DELETE", "/api/groups/group/1", nil, 409, `"h2" (ID 2) are in it`)
	e.fails(e.oper, "DELETE", gpath, nil, 409, "default group")
	opts.Register.DefaultGroupID = "1"
	e.must(e.admin, "POST", "/api/options", opts, nil)
	e.must(e.oper, "DELETE", gpath, nil, nil)
	if !e.hasEvent(domain.EventGroupDeleted, map[string]string{"Name": "web"}) {
		t.Errorf("no GroupDeleted event")
	}
	// The last group stays.
	e.must(e.oper, "DELETE", "/api/hosts/host/"+string(h1.ID), nil, nil)
	e.must(e.oper, "DELETE", "/api/hosts/host/"+string(h2.ID), nil, nil)
	e.fails(e.oper, "DELETE", "/api/groups/group/1", nil, 409, "last group")
}

func (e *env) options() apitype.Options {
	e.t.Helper()
	var o apitype.Options
	e.must(e.admin, "GET", "/api/options", nil, &o)
	return o
}

func TestScripts(t *testing.T) {
	e := newEnv(t)
	ok := map[string]any{"Name": "up", "Executable": "/bin/sh", "Script": "uptime", "AfterExecution": "reboot",
		"RunAs": map[string]any{"Inherit": false, "UID": 1000, "GID": 1000}, "WorkingDirectory": "/tmp"}
	for _, tt := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"no executable", map[string]any{"Executable": ""}, "Executable is required"},
		{"bad after", map[string]any{"AfterExecution": "explode"}, `AfterExecution "explode" is not one of`},
		{"relative workdir", map[string]any{"WorkingDirectory": "tmp"}, "must be an absolute path"},
		{"unknown attachment", map[string]any{"AttachmentIDs": []int64{3}}, "AttachmentIDs: no attachment with ID 3"},
		{"bad RunAs", map[string]any{"RunAs": map[string]any{"User": "x"}}, `unknown field "User"`},
	} {
		body := map[string]any{}
		for k, v := range ok {
			body[k] = v
		}
		for k, v := range tt.set {
			body[k] = v
		}
		t.Run(tt.name, func(t *testing.T) { e.fails(e.oper, "PUT", "/api/scripts/script", body, 400, tt.want) })
	}
	var sc apitype.Script
	e.must(e.oper, "PUT", "/api/scripts/script", ok, &sc)
	if !sc.Enabled || sc.RunAs.UID != 1000 || sc.AfterExecution != "reboot" {
		t.Errorf("created script = %+v", sc)
	}
	e.fails(e.oper, "PUT", "/api/scripts/script", ok, 400, `a script named "up" already exists`)
	path := "/api/scripts/script/" + string(sc.ID)
	sc.Enabled = false
	sc.Environment = []apitype.Variable{{Key: "PW", Value: "pw-value", Secret: true}}
	e.must(e.oper, "POST", path, sc, &sc)
	if sc.Enabled || sc.Environment[0].Value != "" {
		t.Errorf("edited script = %+v, want disabled and the secret masked", sc)
	}

	g := e.mkGroup("g")
	e.must(e.oper, "POST", path+"/groups", map[string]any{"Groups": []any{1, g.ID}}, nil)
	var gs []apitype.Group
	e.must(e.view, "GET", path+"/groups", nil, &gs)
	if len(gs) != 2 {
		t.Errorf("script groups = %+v, want 2", gs)
	}
	e.mkHost("h", "127.0.0.1", g.ID)
	var hs []apitype.Host
	e.must(e.view, "GET", path+"/hosts", nil, &hs)
	if len(hs) != 1 {
		t.Errorf("script hosts = %+v, want 1", hs)
	}
	e.fails(e.oper, "POST", path+"/groups", map[string]any{"Groups": []int64{5}}, 400, "Groups: no group with ID 5")
	var sched apitype.Schedule
	e.must(e.oper, "PUT", "/api/schedules/schedule", map[string]any{"Name": "n", "ScriptID": sc.ID, "Pattern": "@hourly",
		"Scope": map[string]any{"GroupIDs": []apitype.ID{g.ID}}}, &sched)
	var ss []apitype.Schedule
	e.must(e.view, "GET", path+"/schedules", nil, &ss)
	if len(ss) != 1 {
		t.Errorf("script schedules = %+v", ss)
	}
	e.fails(e.oper, "DELETE", path, nil, 409, `schedules "n"`)
	e.must(e.oper, "DELETE", "/api/schedules/schedule/"+string(sched.ID), nil, nil)
	e.must(e.oper, "DELETE", path, nil, nil)
	var g2 apitype.Group
	e.must(e.view, "GET", "/api/groups/group/"+string(g.ID), nil, &g2)
	if len(g2.ScriptIDs) != 0 {
		t.Errorf("group still lists the deleted script: %v", g2.ScriptIDs)
	}
	if !e.hasEvent(domain.EventScriptDeleted, map[string]string{"Name": "up"}) {
		t.Errorf("no ScriptDeleted event")
	}
}

func TestSchedules(t *testing.T) {
	e := newEnv(t)
	sc := e.mkScript("s")
	h := e.mkHost("h", "127.0.0.1")
	ok := func(kv ...any) map[string]any {
		m := map[string]any{"Name": "every", "ScriptID": sc.ID, "Pattern": "*/5 * * * *", "Scope": map[string]any{"HostIDs": []apitype.ID{h.ID}}}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{ok("Pattern", "61 * * * *"), `Pattern "61 * * * *" is not a valid cron pattern`},
		{ok("Pattern", "* * * * * *"), "is not a valid cron pattern"},
		{ok("Pattern", "TZ=Europe/Paris 0 3 * * *"), "run in UTC"},
		{ok("Pattern", ""), "Pattern is required"},
		{ok("ScriptID", 99), "ScriptID: no script with ID 99"},
		{ok("Scope", map[string]any{}), "at least one host or group"},
		{ok("Scope", map[string]any{"HostIDs": []int64{9}}), "Scope.HostIDs: no host with ID 9"},
		{ok("Scope", map[string]any{"GroupIDs": []int64{9}}), "Scope.GroupIDs: no group with ID 9"},
	} {
		e.fails(e.oper, "PUT", "/api/schedules/schedule", tt.body, 400, tt.want)
	}
	var s apitype.Schedule
	e.must(e.oper, "PUT", "/api/schedules/schedule", ok(), &s)
	path := "/api/schedules/schedule/" + string(s.ID)
	e.must(e.oper, "POST", path, ok("Enabled", false, "Scope", map[string]any{"GroupIDs": []int64{1}}), &s)
	if s.Enabled || len(s.Scope.GroupIDs) != 1 {
		t.Errorf("edited schedule = %+v", s)
	}
	var hs []apitype.Host
	e.must(e.view, "GET", path+"/hosts", nil, &hs)
	if len(hs) != 1 || hs[0].ID != h.ID {
		t.Errorf("schedule hosts = %+v, want h through group 1", hs)
	}
	var gs []apitype.Group
	e.must(e.view, "GET", path+"/groups", nil, &gs)
	var got apitype.Script
	e.must(e.view, "GET", path+"/script", nil, &got)
	if len(gs) != 1 || got.ID != sc.ID {
		t.Errorf("schedule groups %+v script %+v", gs, got)
	}
	var reports []apitype.Run
	e.must(e.view, "GET", path+"/reports?c=5", nil, &reports)
	if len(reports) != 0 {
		t.Errorf("reports = %+v, want none", reports)
	}
	e.fails(e.view, "GET", path+"/reports?c=x", nil, 400, `c="x" is not a positive number`)
	for _, typ := range []string{domain.EventScheduleAdded, domain.EventScheduleModified} {
		if !e.hasEvent(typ, map[string]string{"ID": string(s.ID)}) {
			t.Errorf("no %s event", typ)
		}
	}
}

func TestRegisterRules(t *testing.T) {
	e := newEnv(t)
	rule := func(prop, pat string) map[string]any {
		return map[string]any{"Name": "r", "GroupID": 1, "Clauses": []map[string]any{{"Property": prop, "Pattern": pat}}}
	}
	e.fails(e.admin, "PUT", "/api/register/rules/rule", rule("hostname", "web(["), 400, `Pattern "web([" is not a valid regular expression`)
	e.fails(e.admin, "PUT", "/api/register/rules/rule", rule("color", "x"), 400, `Property "color" is not one of`)
	e.fails(e.admin, "PUT", "/api/register/rules/rule", map[string]any{"Name": "r", "GroupID": 1}, 400, "at least one clause")
	e.fails(e.admin, "PUT", "/api/register/rules/rule", map[string]any{"Name": "r", "GroupID": 8, "Clauses": rule("hostname", "x")["Clauses"]}, 400, "GroupID: no group with ID 8")
	var r apitype.RegisterRule
	e.must(e.admin, "PUT", "/api/register/rules/rule", rule("hostname", "^web"), &r)
	path := "/api/register/rules/rule/" + string(r.ID)
	e.must(e.view, "GET", path, nil, &r)
	body := rule("kernel_name", "Linux")
	body["Name"] = "linux"
	e.must(e.admin, "POST", path, body, &r)
	var rs []apitype.RegisterRule
	e.must(e.view, "GET", "/api/register/rules", nil, &rs)
	if len(rs) != 1 || rs[0].Name != "linux" || rs[0].Clauses[0].Property != "kernel_name" {
		t.Errorf("rules = %+v", rs)
	}
	e.must(e.admin, "DELETE", path, nil, nil)
	e.fails(e.admin, "DELETE", path, nil, 404, "no registration rule with ID")
	for _, typ := range []string{domain.EventRegisterRuleAdded, domain.EventRegisterRuleModified, domain.EventRegisterRuleDeleted} {
		if !e.hasEvent(typ, map[string]string{"ID": string(r.ID)}) {
			t.Errorf("no %s event", typ)
		}
	}
}

func TestSearchAndEvents(t *testing.T) {
	e := newEnv(t)
	e.mkHost("web-1", "127.0.0.1")
	e.mkGroup("Webservers")
	e.mkScript("deploy web")
	var res []apitype.SearchResult
	e.must(e.view, "POST", "/api/search/system", map[string]any{"Query": "WEB"}, &res)
	if len(res) != 3 || res[0].Type != "host" || res[1].Type != "group" || res[2].Type != "script" {
		t.Errorf("search WEB = %+v, want a host, a group, a script", res)
	}
	e.must(e.view, "POST", "/api/search/system", map[string]any{"Query": "127.0.0"}, &res)
	if len(res) != 1 {
		t.Errorf("search by address = %+v", res)
	}
	var evs []apitype.Event
	e.must(e.view, "GET", "/api/events?c=2", nil, &evs)
	if len(evs) != 2 || evs[0].Type != domain.EventScriptAdded || evs[0].User != "admin" {
		t.Errorf("events?c=2 = %+v, want the ScriptAdded event first", evs)
	}
	e.fails(e.view, "GET", "/api/events?c=-1", nil, 400, "not a positive number")
}
