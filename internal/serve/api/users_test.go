package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
)

func TestUsers(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"Username": "", "Password": "long-enough"}, "Username is required"},
		{map[string]any{"Username": "a/b", "Password": "long-enough"}, "without spaces, slashes"},
		{map[string]any{"Username": "view", "Password": "long-enough"}, `a user named "view" already exists`},
		{map[string]any{"Username": "x", "Password": "short"}, "Password must be at least 8 characters"},
		{map[string]any{"Username": "x", "Password": "long-enough", "Role": "god"}, `Role "god" is not one of`},
		{map[string]any{"Username": "x", "Password": "long-enough", "Email": "nope"}, "is not an e-mail address"},
		{map[string]any{"Username": "x", "Password": "long-enough", "PasswordHash": "x"}, `unknown field "PasswordHash"`},
	} {
		e.fails(e.admin, "PUT", "/api/users/user", tt.body, 400, tt.want)
	}
	var u apitype.User
	a := e.must(e.admin, "PUT", "/api/users/user", map[string]any{"Username": "ann", "Email": "ann@example.com", "Password": "ann-password"}, &u)
	if u.Role != domain.RoleViewer || !u.CanLogIn {
		t.Errorf("created user = %+v, want a viewer who can log in", u)
	}
	if !e.hasEvent(domain.EventUserAdded, map[string]string{"Username": "ann"}) {
		t.Errorf("no UserAdded event")
	}
	for _, p := range []string{"/api/users", "/api/users/user/ann"} {
		b := e.must(e.admin, "GET", p, nil, nil).Body
		if strings.Contains(b, "argon2") || strings.Contains(b, "Hash") || strings.Contains(b, "ann-password") {
			t.Errorf("GET %s shows a hash or password: %s", p, b)
		}
	}
	if strings.Contains(a.Body, "Hash") {
		t.Errorf("create answer shows a hash: %s", a.Body)
	}

	// A user may read themself and get their own key, not others'.
	e.must(e.view, "GET", "/api/users/user/view", nil, nil)
	e.fails(e.view, "GET", "/api/users/user/ann", nil, 403, "only an admin")
	var key string
	e.must(e.view, "POST", "/api/users/user/view/apikey", nil, &key)
	if len(key) < 40 {
		t.Errorf("new API key = %q, want the key as the data string", key)
	}
	e.fails(e.view, "GET", "/api/hosts", nil, 401, "incorrect username or API key") // the old key is gone
	e.view.key = key
	e.must(e.view, "GET", "/api/hosts", nil, nil)
	if !e.hasEvent(domain.EventUserResetAPIKey, map[string]string{"Username": "view"}) {
		t.Errorf("no UserResetAPIKey event")
	}

	e.must(e.admin, "POST", "/api/users/user/ann", map[string]any{"Role": "operator", "Email": "a@example.org"}, &u)
	if u.Role != domain.RoleOperator || u.Email != "a@example.org" || !u.CanLogIn {
		t.Errorf("edited user = %+v", u)
	}
	e.fails(e.admin, "POST", "/api/users/user/ann", map[string]any{"Username": "bob"}, 400, "Username cannot be changed")
	e.fails(e.admin, "POST", "/api/users/user/nobody", map[string]any{}, 404, `no user named "nobody"`)
	// The last admin stays an admin who can log in, and nobody deletes themself.
	e.fails(e.admin, "POST", "/api/users/user/admin", map[string]any{"Role": "viewer"}, 409, "last admin")
	e.fails(e.admin, "POST", "/api/users/user/admin", map[string]any{"CanLogIn": false}, 409, "last admin")
	e.fails(e.admin, "DELETE", "/api/users/user/admin", nil, 409, "cannot delete yourself")
	e.must(e.admin, "POST", "/api/users/user/ann", map[string]any{"Role": "admin"}, nil)
	ann := e.keyFor("ann")
	e.must(ann, "DELETE", "/api/users/user/admin", nil, nil)
	e.fails(ann, "DELETE", "/api/users/user/admin", nil, 404, "no user named")
	if !e.hasEvent(domain.EventUserDeleted, map[string]string{"Username": "admin"}) {
		t.Errorf("no UserDeleted event")
	}
	e.fails(ann, "POST", "/api/users/user/ann", map[string]any{"Role": "viewer"}, 409, "last admin")
}

func TestOptions(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	if o.Network.Timeout != 10 || o.Authentication.MaxAgeMinutes != 60 || !o.Security.RotatePSK.Enabled || o.Register.DefaultGroupID != "1" {
		t.Errorf("default options = %+v", o)
	}
	o.Register.Enabled, o.Register.Key = true, "register-key-1"
	o.General.GlobalEnvironment = []apitype.Variable{{Key: "G", Value: "global-secret", Secret: true}}
	e.must(e.admin, "POST", "/api/options", o, &o)
	if !e.hasEvent(domain.EventServerOptionsModified, map[string]string{"Changed": "General,Register"}) {
		t.Errorf("no ServerOptionsModified event naming General,Register: %+v", e.events(1))
	}
	for _, c := range []*caller{e.oper, e.view} {
		var got apitype.Options
		a := e.must(c, "GET", "/api/options", nil, &got)
		if got.Register.Key != "" || strings.Contains(a.Body, "register-key-1") || strings.Contains(a.Body, "global-secret") {
			t.Errorf("%s sees a secret in the options: %s", c.name, a.Body)
		}
		a = e.must(c, "GET", "/api/state", nil, nil)
		if strings.Contains(a.Body, "register-key-1") {
			t.Errorf("%s sees the register key in the state: %s", c.name, a.Body)
		}
	}
	if got := e.options(); got.Register.Key != "register-key-1" {
		t.Errorf("admin reads key %q, want it", got.Register.Key)
	}
	// A partial body changes only what it names; the key and the secret stay.
	e.must(e.admin, "POST", "/api/options", map[string]any{"Network": map[string]any{"Timeout": 30}}, nil)
	got := e.options()
	opts, _ := e.svc.Options(t.Context())
	if got.Network.Timeout != 30 || got.Network.HeartbeatFrequency != 5 || opts.Register.Key != "register-key-1" || opts.General.GlobalEnvironment[0].Value != "global-secret" {
		t.Errorf("options after a partial change = %+v", opts)
	}
	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"Network": map[string]any{"ForceIPVersion": "ipv5"}}, `ForceIPVersion "ipv5" is not one of`},
		{map[string]any{"Network": map[string]any{"Timeout": 0}}, "Network.Timeout must be at least 1"},
		{map[string]any{"Network": map[string]any{"HeartbeatFrequency": 0}}, "HeartbeatFrequency must be at least 1"},
		{map[string]any{"Network": map[string]any{"MaxParallel": 10001}}, "MaxParallel must be between 1 and 10000"},
		{map[string]any{"Register": map[string]any{"DefaultGroupID": 9}}, "DefaultGroupID: no group with ID 9"},
		{map[string]any{"Security": map[string]any{"RotatePSK": map[string]any{"FrequencyDays": 0}}}, "FrequencyDays must be at least 1"},
		{map[string]any{"Authentication": map[string]any{"MaxAgeMinutes": 0}}, "MaxAgeMinutes must be at least 1"},
		{map[string]any{"General": map[string]any{"ServerURL": "ftp://x"}}, "not an http or https URL"},
		{map[string]any{"Color": "blue"}, `unknown field "Color"`},
	} {
		e.fails(e.admin, "POST", "/api/options", tt.body, 400, tt.want)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	big := `{"Name": "` + strings.Repeat("x", MaxJSONBody) + `"}`
	e.fails(e.admin, "PUT", "/api/groups/group", big, 413, "larger than the limit of 1 MiB")
}
