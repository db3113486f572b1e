package api

import (
	"bytes"
	"encoding/json"
	"github.com/otto-automation/otto/internal/apitype"
	"net/http"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

func (e *env) register(header string, body any) answer {
	e.t.Helper()
	data, ok := body.(string)
	if !ok {
		b, _ := json.Marshal(body)
		data = string(b)
	}
	req, err := http.NewRequest("PUT", e.srv.URL+"/api/register", strings.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(wire.RegisterProtoHeader, header)
	}
	return e.send(e.srv.Client(), req)
}

func regRequest(key, host, distro string) wire.RegisterRequest {
	return wire.RegisterRequest{Key: key, Port: 0, Properties: wire.RegisterRequestProperties{
		Hostname: host, KernelName: "Linux", KernelVersion: "6.1", DistributionName: distro, DistributionVersion: "12"}}
}

func TestRegister(t *testing.T) {
	e := newEnv(t)
	check := func(a answer, status int, want string) {
		t.Helper()
		if a.Status != status || a.Code != status || !strings.Contains(a.Message(), want) {
			t.Errorf("PUT /api/register = %d %s, want %d %q", a.Status, a.Body, status, want)
		}
	}
	check(e.register("2", regRequest("k", "h", "debian")), 404, "registration is turned off")

	debian := e.mkGroup("debian")
	sc := e.mkScript("bootstrap")
	att := e.upload(t, "PUT", "/api/attachments", map[string]string{"Path": "/etc/motd", "Mode": "0640"}, "motd", []byte("hello\n"))
	sc.AttachmentIDs = []apitype.ID{att.ID}
	sc.Environment = []apitype.Variable{{Key: "SCRIPT_VAR", Value: "s"}}
	e.must(e.admin, "POST", "/api/scripts/script/"+string(sc.ID), sc, nil)
	off := e.mkScript("disabled one")
	off.Enabled = false
	e.must(e.admin, "POST", "/api/scripts/script/"+string(off.ID), off, nil)
	e.must(e.admin, "PUT", "/api/groups/group", map[string]any{"Name": "other"}, nil)
	e.must(e.admin, "POST", "/api/groups/group/"+string(debian.ID), map[string]any{"Name": "debian", "ScriptIDs": []apitype.ID{sc.ID, off.ID},
		"Environment": []map[string]any{{"Key": "GROUP_VAR", "Value": "g"}}}, nil)
	e.must(e.admin, "PUT", "/api/register/rules/rule", map[string]any{"Name": "deb", "GroupID": debian.ID,
		"Clauses": []map[string]any{{"Property": "distribution_name", "Pattern": "^debian$"}, {"Property": "kernel_name", "Pattern": "Linux"}}}, nil)
	o := e.options()
	o.Register.Enabled, o.Register.Key, o.Register.RunScriptsOnRegister = true, "the-register-key", true
	o.General.ServerURL = "https://otto.example"
	e.must(e.admin, "POST", "/api/options", o, nil)

	check(e.register("", regRequest("the-register-key", "h", "debian")), 400, "X-OTTO-PROTO-VERSION")
	check(e.register("1", regRequest("the-register-key", "h", "debian")), 400, "speaks protocol 2")
	check(e.register("2", "{not json"), 400, "not valid JSON")
	check(e.register("2", regRequest("wrong-key", "h", "debian")), 403, "incorrect registration key")
	if !e.hasEvent(domain.EventHostRegisterIncorrectKey, map[string]string{"Hostname": "h", "Address": "127.0.0.1"}) {
		t.Errorf("no HostRegisterIncorrectKey event: %+v", e.events(2))
	}
	check(e.register("2", regRequest("the-register-key", "", "debian")), 400, "properties.hostname is required")

	req := regRequest("the-register-key", "deb1", "debian")
	req.Port = 2222
	a := e.register("2", req)
	if a.Status != 200 || !strings.HasPrefix(a.Body, `{"code":200,"error":{},"data":{"psk":"`) {
		t.Fatalf("register = %d %s, want 200 and data.psk", a.Status, a.Body)
	}
	var resp wire.RegisterResponse
	a.into(t, &resp)
	if len(resp.PSK) < 40 {
		t.Errorf("psk = %q, want a long random key", resp.PSK)
	}
	if len(resp.Scripts) != 1 {
		t.Fatalf("scripts = %+v, want the one enabled script of group debian", resp.Scripts)
	}
	ws := resp.Scripts[0]
	if ws.Name != "bootstrap" || ws.Executable != "/bin/sh" || string(ws.Data) != "echo bootstrap" {
		t.Errorf("script = %+v", ws)
	}
	for k, v := range map[string]string{"SCRIPT_VAR": "s", "GROUP_VAR": "g", "OTTO_HOST_ADDRESS": "127.0.0.1", "OTTO_HOST_PORT": "2222",
		"OTTO_SERVER_URL": "https://otto.example", "OTTO_SERVER_VERSION": "test"} {
		if ws.Environment[k] != v {
			t.Errorf("script environment %s = %q, want %q", k, ws.Environment[k], v)
		}
	}
	if _, ok := ws.Environment["OTTO_HOST_PSK"]; ok {
		t.Errorf("OTTO_HOST_PSK is set though IncludePSKEnv is off")
	}
	if len(ws.Files) != 1 || ws.Files[0].Path != "/etc/motd" || ws.Files[0].Mode != 640 || !bytes.Equal(ws.Files[0].Data, []byte("hello\n")) {
		t.Errorf("script files = %+v, want /etc/motd mode 640 (wire form)", ws.Files)
	}
	var hosts []apitype.Host
	e.must(e.admin, "GET", "/api/hosts", nil, &hosts)
	if len(hosts) != 1 || hosts[0].Name != "deb1" || hosts[0].Address != "127.0.0.1" || hosts[0].Port != 2222 ||
		hosts[0].PSK != resp.PSK || hosts[0].GroupIDs[0] != debian.ID || !hosts[0].Enabled {
		t.Errorf("registered host = %+v, want deb1 at 127.0.0.1:2222 in group debian with the PSK", hosts)
	}
	if !e.hasEvent(domain.EventHostRegisterSuccess, map[string]string{"Name": "deb1", "GroupName": "debian"}) {
		t.Errorf("no HostRegisterSuccess event")
	}
	check(e.register("2", req), 400, `a host named "deb1" is already registered`)

	// No rule matches: the default group, and no scripts run there.
	a = e.register("2", regRequest("the-register-key", "alpine1", "alpine"))
	var resp2 wire.RegisterResponse
	a.into(t, &resp2)
	if a.Status != 200 || len(resp2.Scripts) != 0 {
		t.Errorf("register alpine1 = %d %s", a.Status, a.Body)
	}
	hs, _ := e.svc.GroupHosts(t.Context(), "1")
	if len(hs) != 1 || hs[0].Name != "alpine1" || hs[0].Port != 12444 {
		t.Errorf("default group hosts = %+v, want alpine1 on 12444", hs)
	}
}

func TestRegisterRateLimit(t *testing.T) {
	e := newEnv(t)
	var last answer
	for i := 0; i < 11; i++ {
		last = e.register("2", regRequest("k", "h", "d"))
	}
	if last.Status != 429 || !strings.Contains(last.Message(), "too many registration attempts") {
		t.Errorf("11th registration in a minute = %d %s, want 429", last.Status, last.Body)
	}
}
