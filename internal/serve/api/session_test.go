package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
)

// browser is a caller with a cookie jar and no API key.
func (e *env) browser(header ...string) *caller {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	h := http.Header{}
	for i := 0; i < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &caller{name: "browser", client: &http.Client{Jar: jar, Transport: e.srv.Client().Transport}, header: h}
}

func TestLoginSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser(auth.HeaderCSRF, "1")
	e.fails(b, "GET", "/api/hosts", nil, 401, "not logged in")
	e.fails(b, "POST", "/api/login", map[string]any{"Username": "admin", "Password": "wrong-password"}, 401, "incorrect username or password")
	e.fails(b, "POST", "/api/login", map[string]any{"Username": "nobody", "Password": "wrong-password"}, 401, "incorrect username or password")
	e.fails(b, "POST", "/api/login", map[string]any{"Username": "admin"}, 400, "Username and Password are required")
	if !e.hasEvent(domain.EventUserIncorrectPassword, map[string]string{"Username": "admin"}) {
		t.Errorf("no UserIncorrectPassword event")
	}
	a := e.must(b, "POST", "/api/login", map[string]any{"Username": "admin", "Password": adminPassword}, nil)
	if string(a.Data) != "0" {
		t.Errorf("login data = %s, want 0", a.Data)
	}
	set := a.Header.Get("Set-Cookie")
	for _, want := range []string{auth.CookieName + "=", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie = %q, want %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie = %q is Secure without TLS", set)
	}
	if !e.hasEvent(domain.EventUserLoggedIn, nil) {
		t.Errorf("no UserLoggedIn event")
	}
	var st apitype.State
	e.must(b, "GET", "/api/state", nil, &st)
	if st.User.Username != "admin" || st.Runtime.Version != "test" || st.Runtime.ServerFQDN != "otto.test" || st.Options.Network.Timeout != 10 {
		t.Errorf("state = %+v", st)
	}
	if strings.Contains(a.Body, "argon2") {
		t.Errorf("login answer shows a hash")
	}
	if a := e.must(b, "GET", "/api/state", nil, nil); strings.Contains(a.Body, "argon2") || strings.Contains(a.Body, "PasswordHash") {
		t.Errorf("state shows a hash: %s", a.Body)
	}

	// CSRF: a cookie-authenticated change needs the header or a
	// same-origin Origin.
	bare := &caller{name: "bare", client: b.client, header: http.Header{}}
	body := map[string]any{"Name": "g"}
	e.fails(bare, "PUT", "/api/groups/group", body, 403, "cross-site request refused")
	bare.header.Set("Origin", "https://evil.example")
	e.fails(bare, "PUT", "/api/groups/group", body, 403, "cross-site request refused")
	bare.header.Set("Origin", e.srv.URL)
	e.must(bare, "PUT", "/api/groups/group", body, nil)
	e.must(bare, "GET", "/api/groups", nil, nil)

	e.must(b, "POST", "/api/logout", nil, nil)
	if !e.hasEvent(domain.EventUserLoggedOut, nil) {
		t.Errorf("no UserLoggedOut event")
	}
	e.fails(b, "GET", "/api/state", nil, 401, "not logged in")
	// The old token is dead even if a client kept it.
	e.fails(&caller{name: "x", client: e.srv.Client(), header: http.Header{"Cookie": {set}}}, "GET", "/api/state", nil, 401, "session expired or ended")
}

func TestLoginCrossOrigin(t *testing.T) {
	e := newEnv(t)
	b := e.browser("Origin", "https://evil.example")
	e.fails(b, "POST", "/api/login", map[string]any{"Username": "admin", "Password": adminPassword}, 403, "cross-site")
}

func TestPartialSession(t *testing.T) {
	e := newEnv(t)
	e.must(e.admin, "PUT", "/api/users/user", map[string]any{"Username": "new", "Password": "first-password", "MustChangePassword": true, "Role": "operator"}, nil)
	b := e.browser(auth.HeaderCSRF, "1")
	a := e.must(b, "POST", "/api/login", map[string]any{"Username": "new", "Password": "first-password"}, nil)
	if string(a.Data) != "1" {
		t.Errorf("login data = %s, want 1 (must change password)", a.Data)
	}
	e.fails(b, "GET", "/api/hosts", nil, 403, "you must change your password first")
	e.fails(b, "GET", "/api/state", nil, 403, "you must change your password first")
	e.fails(b, "POST", "/api/users/reset_password", map[string]any{"OldPassword": "nope-nope", "NewPassword": "second-password"}, 403, "OldPassword is not your current password")
	e.fails(b, "POST", "/api/users/reset_password", map[string]any{"OldPassword": "first-password", "NewPassword": "short"}, 400, "at least 8 characters")
	e.must(b, "POST", "/api/users/reset_password", map[string]any{"OldPassword": "first-password", "NewPassword": "second-password"}, nil)
	e.must(b, "GET", "/api/hosts", nil, nil)
	if !e.hasEvent(domain.EventUserResetPassword, map[string]string{"Username": "new"}) {
		t.Errorf("no UserResetPassword event")
	}
	b2 := e.browser(auth.HeaderCSRF, "1")
	e.fails(b2, "POST", "/api/login", map[string]any{"Username": "new", "Password": "first-password"}, 401, "incorrect")
	a = e.must(b2, "POST", "/api/login", map[string]any{"Username": "new", "Password": "second-password"}, nil)
	if string(a.Data) != "0" {
		t.Errorf("login after reset data = %s, want 0", a.Data)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	frozen := time.Now()
	e.api.auth.Throttle.Now = func() time.Time { return frozen } // no test is slow enough to outwait the backoff
	b := e.browser()
	bad := map[string]any{"Username": "view", "Password": "wrong-password"}
	for i := 0; i < 5; i++ {
		e.fails(b, "POST", "/api/login", bad, 401, "incorrect")
	}
	e.fails(b, "POST", "/api/login", bad, 401, "incorrect") // the sixth failure starts the backoff
	a := e.fails(b, "POST", "/api/login", map[string]any{"Username": "view", "Password": "view-password"}, 429, "too many failed attempts; try again in 1 s")
	if a.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", a.Header.Get("Retry-After"))
	}
	// Another user from the same address is held up too (per address).
	e.fails(b, "POST", "/api/login", map[string]any{"Username": "oper", "Password": "oper-password"}, 429, "too many")
}

func TestCannotLogIn(t *testing.T) {
	e := newEnv(t)
	e.must(e.admin, "POST", "/api/users/user/view", map[string]any{"CanLogIn": false}, nil)
	e.fails(e.browser(), "POST", "/api/login", map[string]any{"Username": "view", "Password": "view-password"}, 403, "may not log in")
	e.fails(e.view, "GET", "/api/hosts", nil, 403, "may not log in")
	e.fails(&caller{name: "view", key: "wrong", client: e.srv.Client()}, "GET", "/api/hosts", nil, 401, "incorrect username or API key")
}
