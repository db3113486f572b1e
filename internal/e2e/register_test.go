package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// register runs "otto client" with no config and the registration
// variables, and returns the process once it exited.
func (e *env) register(cfgPath, url, key string, port int) *proc {
	e.t.Helper()
	p := e.startProc("registering client", []string{"REGISTER_HOST=" + url, "REGISTER_KEY=" + key,
		"OTTO_CLIENT_PORT=" + strconv.Itoa(port)}, "client", "--config", cfgPath)
	p.awaitExit(startWithin)
	return p
}

// TestRegistration: with registration on, a client with no config
// registers itself: it lands in the group of the first matching rule, with
// the address it came from and the port it asked for, runs that group's
// first-run scripts, writes its config and exits 0; started on that config
// it answers heartbeats. A wrong key and a duplicate hostname are refused
// with the server's message, and write no config.
func TestRegistration(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	srv := env.StartServer()
	key := "reg-key-" + randomHex(8)
	plan9 := srv.MustGroup("plan 9 boxes")
	linux := srv.MustGroup("linux boxes")
	firstRun := filepath.Join(env.dir, "first-run.txt")
	script := srv.MustScript(fmt.Sprintf("echo \"registered on port $OTTO_HOST_PORT\" > %s\n", firstRun))
	srv.MustCall("POST", apiclient.ItemPath("/api/scripts/script", string(script), "groups"), apitype.ScriptGroupsRequest{Groups: []apitype.ID{linux.ID}}, nil)
	for _, rule := range []apitype.RegisterRule{
		{Name: "plan 9", Clauses: []apitype.RegisterClause{{Property: "kernel_name", Pattern: "^Plan 9$"}}, GroupID: plan9.ID, Order: 1},
		{Name: "linux", Clauses: []apitype.RegisterClause{{Property: "kernel_name", Pattern: "^Linux$"}, {Property: "hostname", Pattern: "."}},
			GroupID: linux.ID, Order: 2},
	} {
		srv.MustCall("PUT", "/api/register/rules/rule", rule, nil)
	}
	srv.SetOptions(map[string]any{"Register": map[string]any{"Enabled": true, "Key": key, "RunScriptsOnRegister": true}})

	port := freePort(t)
	cfgPath := filepath.Join(env.dir, "registered", "client.toml")
	reg := env.register(cfgPath, srv.URL, key, port)
	if code := reg.exitCode(); code != 0 || !strings.Contains(reg.stdout.String(), "registered with "+srv.URL) {
		t.Fatalf("registration exited with %d; stdout %q, stderr %q", code, reg.stdout, reg.stderr)
	}
	if !strings.Contains(reg.stdout.String(), "first-run script") {
		t.Errorf("the registration printed no line for the first-run script: %q", reg.stdout)
	}
	if b, err := os.ReadFile(firstRun); err != nil || string(b) != fmt.Sprintf("registered on port %d\n", port) {
		t.Errorf("the first-run script wrote %q (%v)", b, err)
	}
	cfg := readClientConfig(t, cfgPath)
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 || cfg.ListenAddr != fmt.Sprintf("0.0.0.0:%d", port) || cfg.PSK == "" {
		t.Errorf("config written: %+v (%v, mode %v)", cfg, err, fi.Mode())
	}

	var hosts []host
	srv.MustCall("GET", "/api/hosts", nil, &hosts)
	if len(hosts) != 1 {
		t.Fatalf("%d hosts after one registration: %+v", len(hosts), hosts)
	}
	h := hosts[0]
	hostname := clientInfo(env)["hostname"]
	if h.Name != hostname || h.Address != "127.0.0.1" || h.Port != uint32(port) || !slices.Equal(h.GroupIDs, []apitype.ID{linux.ID}) ||
		!h.Enabled || h.PSK != cfg.PSK || h.RotateOnContact {
		t.Errorf("registered host %+v; want %q at 127.0.0.1:%d in group %s with the config's PSK", h, hostname, port, linux.ID)
	}

	cl := env.StartClient(withConfig(cfgPath))
	if cl.Port != port {
		t.Errorf("the registered client listens on %d, want %d", cl.Port, port)
	}
	if st := srv.AwaitHeartbeat(h); st.Properties["hostname"] != h.Name {
		t.Errorf("heartbeat of the registered host: %+v", st)
	}

	// A wrong key.
	wrongCfg := filepath.Join(env.dir, "wrong-key", "client.toml")
	p := env.register(wrongCfg, srv.URL, "not-"+key, freePort(t))
	if code := p.exitCode(); code != 1 || !strings.Contains(p.stderr.String(), "403") ||
		!strings.Contains(p.stderr.String(), "incorrect registration key") {
		t.Errorf("registration with a wrong key exited with %d: %q", code, p.stderr)
	}
	if _, err := os.Stat(wrongCfg); err == nil {
		t.Errorf("a refused registration wrote a config")
	}

	// The same hostname again.
	dupCfg := filepath.Join(env.dir, "duplicate", "client.toml")
	p = env.register(dupCfg, srv.URL, key, freePort(t))
	if code := p.exitCode(); code != 1 || !strings.Contains(p.stderr.String(), "400") ||
		!strings.Contains(p.stderr.String(), "already registered") {
		t.Errorf("registration of a duplicate hostname exited with %d: %q", code, p.stderr)
	}
	if _, err := os.Stat(dupCfg); err == nil {
		t.Errorf("a refused registration wrote a config")
	}
	srv.MustCall("GET", "/api/hosts", nil, &hosts)
	if len(hosts) != 1 {
		t.Errorf("%d hosts after refused registrations, want 1", len(hosts))
	}

	var events []apitype.Event
	srv.MustCall("GET", "/api/events?c=100", nil, &events)
	counts := make(map[string]int)
	for _, e := range events {
		counts[e.Event]++
		for _, v := range e.Details {
			if v == key || v == "not-"+key || v == cfg.PSK {
				t.Errorf("event %s carries a secret: %v", e.Event, e.Details)
			}
		}
	}
	if counts["HostRegisterSuccess"] != 1 || counts["HostRegisterIncorrectKey"] != 1 {
		t.Errorf("events: %v; want one HostRegisterSuccess and one HostRegisterIncorrectKey", counts)
	}
}
