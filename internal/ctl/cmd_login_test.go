package ctl

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// TestLoginFlow checks what login sends: the password to /api/login, then
// the session cookie with X-OTTO-CSRF (and no API key headers) to issue a
// key, then a logout; and that it saves the key with mode 0600.
func TestLoginFlow(t *testing.T) {
	home := isolate(t)
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.Header.Get(apiclient.HeaderAPIKey) != "" {
			replyErr(w, 400, "login must not send an API key")
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "POST /api/login":
			var req apitype.LoginRequest
			json.NewDecoder(r.Body).Decode(&req)
			if req.Username != "alice" || req.Password != "pa ss" {
				replyErr(w, 401, "incorrect username or password")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "otto_session", Value: "tok", Path: "/"})
			reply(w, 0)
		case "POST /api/users/user/alice/apikey", "POST /api/logout":
			if c, err := r.Cookie("otto_session"); err != nil || c.Value != "tok" || r.Header.Get(apiclient.HeaderCSRF) != "1" {
				replyErr(w, 403, "no session or no CSRF header")
				return
			}
			if r.URL.Path == "/api/logout" {
				reply(w, true)
				return
			}
			reply(w, "the-new-key")
		default:
			replyErr(w, 404, "no route")
		}
	}))
	defer srv.Close()
	t.Setenv(envAPIKey, "an-old-key-that-login-ignores")

	r := ctlRun(t, "wrong\n", "login", "--url", srv.URL, "--username", "alice")
	if r.code != ExitError || r.stderr != "ottoctl: incorrect username or password\n" {
		t.Errorf("login with a wrong password = %+v, want exit 1 and the server's message", r)
	}
	r = ctlRun(t, "pa ss\n", "login", "--url", srv.URL+"/", "--username", "alice")
	if r.code != 0 {
		t.Fatalf("login = %+v", r)
	}
	if want := "POST /api/login,POST /api/login,POST /api/users/user/alice/apikey,POST /api/logout"; strings.Join(calls, ",") != want {
		t.Errorf("calls = %v, want %s", calls, want)
	}
	path := filepath.Join(home, ".config", "otto", "ctl.toml")
	cf, err := loadConfig(path)
	if err != nil || cf != (configFile{URL: srv.URL, Username: "alice", APIKey: "the-new-key"}) {
		t.Errorf("saved config = %+v, %v", cf, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(r.stdout, "logged in to "+srv.URL+" as alice") || strings.Contains(r.stdout+r.stderr, "the-new-key") {
		t.Errorf("login printed %q / %q; want a confirmation without the key", r.stdout, r.stderr)
	}
}

func TestLoginMustChangePasswordWithoutTerminal(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "otto_session", Value: "tok", Path: "/"})
		reply(w, 1)
	}))
	defer srv.Close()
	r := ctlRun(t, "pw\n", "login", "--url", srv.URL, "--username", "bob", "--json")
	var e errorJSON
	if r.code != ExitError || json.Unmarshal([]byte(r.stderr), &e) != nil || !strings.Contains(e.Message, "wants a new password for bob") {
		t.Errorf("login with a partial session = %+v", r)
	}
}
