package ctl

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenHosts(t *testing.T) {
	var b bytes.Buffer
	hosts := []apitype.Host{
		{ID: "1", Name: "web1", Address: "10.0.0.1", Port: 12444, GroupIDs: []apitype.ID{"1", "2"}, Enabled: true},
		{ID: "VVVanl4_U0as", Name: "database-primary", Address: "db.example.com", Port: 4000, GroupIDs: []apitype.ID{"9"}, Enabled: false},
	}
	groups := map[apitype.ID]string{"1": "Otto Clients", "2": "webservers"}
	sts := map[apitype.ID]apitype.Heartbeat{"1": {HostID: "1", IsReachable: true, Version: "1.0.0", LastAttempt: t0, LastReply: t0}}
	if err := renderHosts(&b, hosts, groups, sts); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	h := hosts[0]
	h.PSK, h.LastPSKRotate, h.Created = "s3cret", t0, t0.Add(-time.Hour)
	h.Environment = []apitype.Variable{{Key: "ROLE", Value: "web server"}, {Key: "TOKEN", Secret: true}}
	if err := renderHost(&b, h, groups, sts["1"], true, gu); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	hb := []apitype.Heartbeat{{HostID: "1", IsReachable: true, Version: "1.0.0", LastReply: t0},
		{HostID: "VVVanl4_U0as", Error: "dial tcp 10.0.0.12:12444: connection refused"}}
	if err := renderHeartbeats(&b, hb, map[apitype.ID]string{"1": "web1", "VVVanl4_U0as": "database-primary"}, gu); err != nil {
		t.Fatal(err)
	}
	golden(t, "hosts.golden", b.String())
}

// TestHostsEditBody checks that an edit sends the whole host back with
// only the asked changes: the server replaces a host with what it gets.
func TestHostsEditBody(t *testing.T) {
	f := newFakeAPI(t)
	old := apitype.Host{ID: "3", Name: "web1", Address: "10.0.0.1", Port: 12444, PSK: "shown-to-admins", GroupIDs: []apitype.ID{"1", "2"},
		Environment: []apitype.Variable{{Key: "A", Value: "1"}, {Key: "S", Secret: true}}, Enabled: true}
	var got map[string]any
	f.mux.HandleFunc("GET /api/hosts", func(w http.ResponseWriter, r *http.Request) { reply(w, []apitype.Host{old}) })
	f.mux.HandleFunc("GET /api/groups", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []apitype.Group{{ID: "1", Name: "Otto Clients"}, {ID: "2", Name: "web"}, {ID: "5", Name: "db"}})
	})
	f.mux.HandleFunc("GET /api/hosts/host/3", func(w http.ResponseWriter, r *http.Request) { reply(w, old) })
	f.mux.HandleFunc("POST /api/hosts/host/3", func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		reply(w, old)
	})
	f.use(t)
	r := ctlRun(t, "", "hosts", "edit", "web1", "--address", "10.0.0.9", "--add-group", "db", "--remove-group", "web",
		"--env", "B=2", "--unset", "A", "--disable")
	if r.code != 0 {
		t.Fatalf("hosts edit = %+v", r)
	}
	want := map[string]any{"ID": "3", "Name": "web1", "Address": "10.0.0.9", "Port": float64(12444), "PSK": "",
		"GroupIDs": []any{"1", "5"}, "Enabled": false,
		"Environment": []any{map[string]any{"Key": "S", "Value": "", "Secret": true}, map[string]any{"Key": "B", "Value": "2", "Secret": false}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("POST body = %v\nwant %v", got, want)
	}
	if r := ctlRun(t, "", "hosts", "edit", "web1"); r.code != ExitUsage || !strings.Contains(r.stderr, "nothing to change") {
		t.Errorf("hosts edit without flags = %+v, want a usage error", r)
	}
}
