package client

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/otto-automation/otto/internal/sysinfo"
	"github.com/otto-automation/otto/internal/wire"
)

const (
	testRegisterKey = "test-registration-key"
	registeredPSK   = "otto-client-test-registered-psk"
)

// registrar is a fake otto server's registration endpoint, checking each
// request as the real one does.
type registrar struct {
	t      *testing.T
	calls  atomic.Int32
	port   atomic.Uint32 // the port of the last request
	status int           // to answer; 0 for 200
	script wire.Script   // the first-run script
}

func (r *registrar) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.calls.Add(1)
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"code": %d, "error": {"code": %d, "message": %q}}`, code, code, msg)
	}
	if req.Method != http.MethodPut || req.URL.Path != "/api/register" {
		r.t.Errorf("registration request %s %s, want PUT /api/register", req.Method, req.URL.Path)
		fail(404, "not found")
		return
	}
	if v := req.Header.Get(wire.RegisterProtoHeader); v != "2" {
		r.t.Errorf("registration header %s = %q, want 2", wire.RegisterProtoHeader, v)
		fail(400, "unsupported protocol version")
		return
	}
	var body wire.RegisterRequest
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		r.t.Errorf("registration body: %v", err)
		fail(400, "bad body")
		return
	}
	info, _ := sysinfo.Get()
	want := wire.RegisterRequestProperties{Hostname: info.Hostname, KernelName: info.KernelName, KernelVersion: info.KernelVersion,
		DistributionName: info.DistributionName, DistributionVersion: info.DistributionVersion}
	if body.Properties != want {
		r.t.Errorf("registration properties = %+v, want %+v", body.Properties, want)
	}
	r.port.Store(body.Port)
	if r.status != 0 {
		fail(r.status, "incorrect registration key")
		return
	}
	if body.Key != testRegisterKey {
		r.t.Errorf("registration key = %q", body.Key)
	}
	data, _ := json.Marshal(wire.RegisterResponse{PSK: registeredPSK, Scripts: []wire.Script{r.script}})
	fmt.Fprintf(w, `{"code": 200, "error": {}, "data": %s}`, data)
}

func registerEnv(url string, extra ...string) []string {
	return append([]string{envRegisterHost + "=" + url, envRegisterKey + "=" + testRegisterKey}, extra...)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	touched := filepath.Join(dir, "first-run-ran")
	reg := &registrar{t: t, script: wire.Script{Name: "first run", Executable: "/bin/sh", RunAs: wire.RunAs{Inherit: true},
		Data: []byte("echo hello > " + touched)}}
	srv := httptest.NewServer(reg)
	defer srv.Close()

	config := filepath.Join(dir, "etc", "otto", "client.toml") // its directory does not exist yet
	p := startProc(t, procOpts{env: registerEnv(srv.URL, envClientPort+"=23456")}, "client", "--config", config)
	if code := p.wait(); code != 0 {
		t.Fatalf("registration exited %d:\n%s", code, p.stderr.String())
	}
	if reg.port.Load() != 23456 {
		t.Errorf("registered port %d, want 23456", reg.port.Load())
	}
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.PSK) != registeredPSK || cfg.ListenAddr != "0.0.0.0:23456" {
		t.Errorf("config after registration = %+v, want the server's PSK and 0.0.0.0:23456", cfg)
	}
	if fi, err := os.Stat(config); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config after registration: %v, %v; want mode 0600", fi, err)
	}
	if data, err := os.ReadFile(touched); err != nil || string(data) != "hello\n" {
		t.Errorf("first-run script output file = %q, %v", data, err)
	}
	if out := p.stdout.String(); !strings.Contains(out, "registered with "+srv.URL) || !strings.Contains(out, `"first run" succeeded`) {
		t.Errorf("registration output:\n%s", out)
	}
	if strings.Contains(p.stderr.String()+p.stdout.String(), registeredPSK) {
		t.Errorf("registration printed the PSK")
	}

	// With a config in place the client starts normally and does not
	// register again.
	calls := reg.calls.Load()
	cfg.ListenAddr = "127.0.0.1:0"
	if err := SaveConfig(config, cfg); err != nil {
		t.Fatal(err)
	}
	p = startProc(t, procOpts{env: registerEnv(srv.URL)}, "client", "--config", config)
	heartbeat(t, p.waitListening(), registeredPSK)
	if reg.calls.Load() != calls {
		t.Errorf("a configured client registered again")
	}
}

func TestRegisterRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&registrar{t: t, status: http.StatusForbidden})
	defer srv.Close()
	config := filepath.Join(t.TempDir(), "client.toml")
	p := startProc(t, procOpts{env: registerEnv(srv.URL)}, "client", "--config", config)
	if code := p.wait(); code == 0 {
		t.Errorf("refused registration exited 0")
	}
	if msg := p.stderr.String(); !strings.Contains(msg, "403") || !strings.Contains(msg, "incorrect registration key") {
		t.Errorf("refused registration printed %q, want the status and the server's message", msg)
	}
	if _, err := os.Stat(config); !os.IsNotExist(err) {
		t.Errorf("refused registration left a config: %v", err)
	}
}

func TestRegisterTLSAndStay(t *testing.T) {
	t.Parallel()
	reg := &registrar{t: t, script: wire.Script{Name: "noop", Executable: "/bin/sh", RunAs: wire.RunAs{Inherit: true}}}
	srv := httptest.NewTLSServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://") // no scheme: https is assumed

	// The test server's certificate is self-signed: refused unless asked.
	p := startProc(t, procOpts{env: registerEnv(host)}, "client", "--config", filepath.Join(t.TempDir(), "client.toml"))
	if code := p.wait(); code == 0 || !strings.Contains(p.stderr.String(), "certificate") {
		t.Errorf("registration to an untrusted certificate = %d, %q; want a certificate error", code, p.stderr.String())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	config := filepath.Join(t.TempDir(), "client.toml")
	p = startProc(t, procOpts{env: registerEnv(host, envNoTLSVerify+"=1", envDontExit+"=1", envClientPort+"="+strconv.Itoa(port))},
		"client", "--config", config)
	p.waitListening()
	if cfg, err := LoadConfig(config); err != nil || cfg.ListenAddr != fmt.Sprintf("0.0.0.0:%d", port) {
		t.Errorf("after registering over IPv4 the config is %+v, %v; want listen_addr 0.0.0.0:%d", cfg, err, port)
	}
	heartbeat(t, fmt.Sprintf("127.0.0.1:%d", port), registeredPSK)
}

func TestRegistrationFromEnv(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantURL string
		wantErr string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{envRegisterHost: "otto.example.com"}, "", "REGISTER_KEY is not"},
		{map[string]string{envRegisterKey: "k"}, "", "REGISTER_HOST is not"},
		{map[string]string{envRegisterHost: "otto.example.com", envRegisterKey: "k"}, "https://otto.example.com", ""},
		{map[string]string{envRegisterHost: "otto.example.com:8443/", envRegisterKey: "k"}, "https://otto.example.com:8443", ""},
		{map[string]string{envRegisterHost: "http://10.0.0.1:8080", envRegisterKey: "k"}, "http://10.0.0.1:8080", ""},
		{map[string]string{envRegisterHost: "ftp://x", envRegisterKey: "k"}, "", "http:// or https://"},
		{map[string]string{envRegisterHost: "x", envRegisterKey: "k", envClientPort: "70000"}, "", "OTTO_CLIENT_PORT"},
	}
	for _, tt := range tests {
		r, err := registrationFromEnv(func(k string) string { return tt.env[k] })
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("registrationFromEnv(%v) = %v, want an error with %q", tt.env, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("registrationFromEnv(%v) = %v", tt.env, err)
		case tt.wantURL == "" && r != nil:
			t.Errorf("registrationFromEnv(%v) = %+v, want none", tt.env, r)
		case tt.wantURL != "" && (r == nil || r.server != tt.wantURL || r.port != 12444):
			t.Errorf("registrationFromEnv(%v) = %+v, want URL %s and port 12444", tt.env, r, tt.wantURL)
		}
	}
	r, _ := registrationFromEnv(func(k string) string {
		return map[string]string{envRegisterHost: "h", envRegisterKey: "k", envNoTLSVerify: "0", envDontExit: "yes"}[k]
	})
	if r.noTLSVerify || !r.dontExit {
		t.Errorf("REGISTER_NO_TLS_VERIFY=0, REGISTER_DONT_EXIT_ON_FINISH=yes = %+v", r)
	}
}

func TestListenAddrFor(t *testing.T) {
	tests := []struct {
		local string
		want  string
	}{
		{"192.0.2.1:5000", "0.0.0.0:12444"},
		{"[::ffff:192.0.2.1]:5000", "0.0.0.0:12444"},
		{"[2001:db8::1]:5000", "[::]:12444"},
	}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.local)
		if err != nil {
			t.Fatal(err)
		}
		if got := listenAddrFor(a, 12444); got != tt.want {
			t.Errorf("listenAddrFor(%s) = %s, want %s", tt.local, got, tt.want)
		}
	}
}
