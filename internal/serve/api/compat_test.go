package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/legacy/legacytest"
)

// The 0.x API's answers for real data: legacytest.Expected is what otto
// 0.10.6 answered for its fixture data directory (see its README).

// fixtureData builds, through the domain service, data equal to the
// fixture's: the same names, addresses, ports, PSKs, environments,
// patterns, clauses, paths and modes. The IDs are this server's own. It
// returns the maps from the fixture's IDs to those.
func fixtureData(t *testing.T, e *env) map[string]string {
	t.Helper()
	ctx := context.Background()
	svc := e.svc
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]string{} // fixture ID -> ours

	groups, err := svc.Groups(ctx)
	must(err)
	if len(groups) != 1 || groups[0].Name != "Otto Clients" {
		t.Fatalf("bootstrap groups = %+v, want the default group Otto Clients", groups)
	}
	clients := groups[0]
	ids["F.fDgDzsFh5X"] = clients.ID

	data, err := svc.PutAttachmentData(ctx, strings.NewReader("hello from an attachment\n"))
	must(err)
	att, err := svc.CreateAttachment(ctx, "admin", domain.Attachment{Path: "/etc/motd.d/otto", Name: "motd.txt",
		MimeType: "text/plain", Owner: domain.RunAs{}, Mode: 0o644}, data)
	must(err)
	ids["At7Lc6r27Aaw"] = att.ID

	uptime, err := svc.CreateScript(ctx, "admin", domain.Script{Name: "uptime", Executable: "/bin/sh", Script: "uptime\necho $TIER",
		Environment: domain.Environment{{Key: "API_TOKEN", Value: "script-secret-2", Secret: true}},
		RunAs:       domain.RunAs{Inherit: true}, WorkingDirectory: "/tmp", AttachmentIDs: []string{att.ID}, Enabled: true})
	must(err)
	ids["e9llt_hz.rHj"] = uptime.ID
	apt, err := svc.CreateScript(ctx, "admin", domain.Script{Name: "apt upgrade", Executable: "/bin/bash", Script: "apt-get -y upgrade",
		AfterExecution: domain.AfterReboot, Enabled: true})
	must(err)
	ids["suEJVqowEhDq"] = apt.ID

	_, err = svc.UpdateGroup(ctx, "admin", clients.ID, domain.Group{Name: "Otto Clients", ScriptIDs: []string{uptime.ID, apt.ID}})
	must(err)
	web, err := svc.CreateGroup(ctx, "admin", domain.Group{Name: "web", ScriptIDs: []string{uptime.ID},
		Environment: domain.Environment{{Key: "TIER", Value: "web"}, {Key: "DB_PASSWORD", Value: "group-secret-1", Secret: true}}})
	must(err)
	ids["mJSOkNgnSdaa"] = web.ID

	for _, h := range []struct {
		id string
		h  domain.Host
	}{
		{"fYxpKIYR1wzJ", domain.Host{Name: "web-1", Address: "10.20.0.11", Port: 12444, PSK: "psk-web-1-aaaaaaaaaaaaaaaa",
			GroupIDs: []string{web.ID}, Environment: domain.Environment{{Key: "ROLE", Value: "primary"}}, Enabled: true}},
		{"n4RALyeoEAZu", domain.Host{Name: "web-2", Address: "web-2.example.internal", Port: 12555, PSK: "psk-web-2-bbbbbbbbbbbbbbbb",
			GroupIDs: []string{web.ID, clients.ID}, Enabled: true}},
		{"VVVanl4_U0as", domain.Host{Name: "db-1", Address: "fd00::5", Port: 12444, PSK: "psk-db-1-cccccccccccccccccc",
			GroupIDs: []string{clients.ID}, Enabled: true}},
	} {
		got, err := svc.CreateHost(ctx, "admin", h.h)
		must(err)
		ids[h.id] = got.ID
	}

	hourly, err := svc.CreateSchedule(ctx, "admin", domain.Schedule{Name: "hourly uptime", ScriptID: uptime.ID,
		Scope: domain.Scope{GroupIDs: []string{web.ID}}, Pattern: "0 * * * *", Enabled: true})
	must(err)
	ids["81n1s3m4ggFe"] = hourly.ID
	monday, err := svc.CreateSchedule(ctx, "admin", domain.Schedule{Name: "monday upgrade", ScriptID: apt.ID,
		Scope: domain.Scope{HostIDs: []string{ids["VVVanl4_U0as"]}}, Pattern: "0 0 * * 1", Enabled: true})
	must(err)
	ids["WbfUJy23kvfn"] = monday.ID

	rule, err := svc.CreateRegisterRule(ctx, "admin", domain.RegisterRule{Name: "debian web", GroupID: web.ID,
		Clauses: []domain.RegisterClause{{Property: "distribution_name", Pattern: "Debian"}, {Property: "hostname", Pattern: "^web-"}}})
	must(err)
	ids["HdRHcN.EGOf4"] = rule.ID

	adminEmail := "admin@localhost"
	_, err = svc.UpdateUser(ctx, "admin", "admin", domain.UserEdit{Email: &adminEmail})
	must(err)
	_, err = svc.CreateUser(ctx, "admin", domain.User{Username: "alice", Email: "alice@example.internal", Role: domain.RoleAdmin}, "fixture-alice-pw")
	must(err)
	e.keyFor("alice")

	o, err := svc.Options(ctx)
	must(err)
	o.General.ServerURL = "http://127.0.0.1:18181/"
	o.General.GlobalEnvironment = domain.Environment{{Key: "SITE", Value: "lab"}}
	o.Authentication = domain.AuthenticationOptions{MaxAgeMinutes: 60}
	o.Network.ForceIPVersion, o.Network.Timeout, o.Network.HeartbeatFrequency = domain.IPVersionAuto, 10, 3
	o.Register = domain.RegisterOptions{Enabled: true, Key: "fixture-register-key", DefaultGroupID: clients.ID, RunScriptsOnRegister: true}
	o.Security = domain.SecurityOptions{RotatePSK: domain.RotatePSKOptions{Enabled: true, FrequencyDays: 14}}
	_, err = svc.UpdateOptions(ctx, "admin", o)
	must(err)
	return ids
}

// notData are fields whose values differ from 0.x's for the same data
// (when a record was made, its ID): only their JSON type must match.
var notData = map[string]bool{"Created": true, "Modified": true, "Time": true, "LastPSKRotate": true, "LastRunTime": true, "Details": true}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	return env
}

// TestCompat0x compares each entity list with what otto 0.10.6 answered
// for the same data.
func TestCompat0x(t *testing.T) {
	e := newEnv(t)
	ids := fixtureData(t, e)
	for _, l := range legacytest.Lists {
		t.Run(l.File, func(t *testing.T) {
			got := decode(t, e.must(e.admin, "GET", l.Path, nil, nil).Body)
			legacytest.Compat{T: t, IDs: ids, NotData: notData}.Answer(l.File, l.Path, l.Key, got)
		})
	}

	// Events: our details are our own, so each event type 0.x answered
	// and this data made is compared by its fields' names and types, and
	// its type.
	c := legacytest.Compat{T: t, IDs: ids, NotData: notData}
	want := legacytest.ReadExpected(t, "events.json")["data"].([]any)
	got := decode(t, e.must(e.admin, "GET", "/api/events?c=1000", nil, nil).Body)["data"].([]any)
	made := 0
	for _, w := range want {
		typ := w.(map[string]any)["Event"]
		i := slices.IndexFunc(got, func(g any) bool { return g.(map[string]any)["Event"] == typ })
		if i < 0 {
			continue // ServerStarted, UserLoggedIn, ...: not made by fixtureData
		}
		made++
		for k, wv := range w.(map[string]any) {
			gv, ok := got[i].(map[string]any)[k]
			if !ok {
				t.Errorf("event %v has no field %s", typ, k)
				continue
			}
			c.Value(fmt.Sprintf("GET /api/events %v.%s", typ, k), k, wv, gv, k != "Event")
		}
	}
	if made < 8 {
		t.Errorf("only %d of 0.x's %d events have a counterpart of the same type; want the Added events and more", made, len(want))
	}
}

// TestCompatIDsInRequests sends IDs as 0.x clients do (strings, here
// nanoid-like ones kept by an import) and as this release's first clients
// did (numbers): both name the same records.
func TestCompatIDsInRequests(t *testing.T) {
	e := newEnv(t)
	var id struct{ ID string }
	e.must(e.admin, "PUT", "/api/groups/group", map[string]any{"Name": "web"}, &id)
	for _, groups := range []any{[]any{id.ID}, []any{json.Number(id.ID)}} {
		body := map[string]any{"Name": "h", "Address": "127.0.0.1", "PSK": "k", "GroupIDs": groups}
		a := e.must(e.admin, "PUT", "/api/hosts/host", body, nil)
		var h struct {
			ID       string
			GroupIDs []string
		}
		a.into(t, &h)
		if len(h.GroupIDs) != 1 || h.GroupIDs[0] != id.ID {
			t.Errorf("host created with GroupIDs %v has GroupIDs %v, want [%q]", groups, h.GroupIDs, id.ID)
		}
		e.must(e.admin, "DELETE", "/api/hosts/host/"+h.ID, nil, nil)
	}
	e.fails(e.admin, "PUT", "/api/hosts/host", map[string]any{"Name": "h", "Address": "127.0.0.1", "PSK": "k", "GroupIDs": []any{true}},
		400, "field GroupIDs: expected an ID (a string or a whole number), got JSON true")
}
