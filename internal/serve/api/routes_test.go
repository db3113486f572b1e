package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/auth"
)

// concrete fills a route pattern's parameters with values that exist.
func concrete(pattern string) string {
	return strings.NewReplacer("{id}", "1", "{username}", "admin").Replace(pattern)
}

// TestRoutePermissions walks every registered route: anonymous callers get
// 401, a viewer gets 403 for anything beyond reading, an operator gets
// 403 for admin routes. The check comes before the body is read, so no
// body is needed.
func TestRoutePermissions(t *testing.T) {
	e := newEnv(t)
	routes := e.api.routes()
	if len(routes) < 60 {
		t.Fatalf("routes() has %d routes, want the whole table", len(routes))
	}
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.pattern
		if seen[key] {
			t.Errorf("route %s is in the table twice", key)
		}
		seen[key] = true
		path := concrete(rt.pattern)

		a := e.do(nil, rt.method, path, nil)
		if rt.perm == auth.Public {
			if a.Status == http.StatusUnauthorized {
				t.Errorf("anonymous %s = 401, want a public route to answer", key)
			}
		} else if a.Status != http.StatusUnauthorized || a.Code != 401 || a.Message() == "" {
			t.Errorf("anonymous %s = %d %s, want 401 with a message", key, a.Status, a.Body)
		}

		for _, c := range []struct {
			who    *caller
			denied bool
		}{
			{e.view, rt.perm == auth.Edit || rt.perm == auth.Run || rt.perm == auth.Admin || rt.perm == auth.SelfOrAdmin},
			{e.oper, rt.perm == auth.Admin || rt.perm == auth.SelfOrAdmin},
		} {
			a := e.do(c.who, rt.method, path, nil)
			if c.denied && (a.Status != http.StatusForbidden || a.Message() == "") {
				t.Errorf("%s %s = %d %s, want 403", c.who.name, key, a.Status, a.Body)
			}
			if !c.denied && (a.Status == http.StatusForbidden || a.Status == http.StatusUnauthorized) {
				t.Errorf("%s %s = %d %s, want it allowed", c.who.name, key, a.Status, a.Body)
			}
		}
	}
}

// TestRoutesDocumented checks that docs/api.md has a section for every
// route.
func TestRoutesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	for _, rt := range e.api.routes() {
		if !strings.Contains(string(doc), "`"+rt.method+" "+rt.pattern+"`") {
			t.Errorf("docs/api.md does not document `%s %s`", rt.method, rt.pattern)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	e.fails(e.admin, "GET", "/api/nope", nil, 404, "no API route GET /api/nope")
	a := e.fails(e.admin, "PATCH", "/api/hosts", nil, 405, "PATCH is not allowed")
	if got := a.Header.Get("Allow"); got != "GET" {
		t.Errorf("PATCH /api/hosts Allow = %q, want GET", got)
	}
	// IDs in paths are opaque: any segment is looked up, an unknown one is 404.
	e.fails(e.admin, "GET", "/api/hosts/host/abc", nil, 404, "no host with ID abc")
	e.fails(e.admin, "GET", "/api/hosts/host/VVVanl4_U0as", nil, 404, "no host with ID VVVanl4_U0as")
	e.fails(e.admin, "GET", "/api/runs/run/x.y", nil, 404, "no run with ID x.y")
	e.fails(e.admin, "GET", "/api/hosts/host/99", nil, 404, "no host with ID 99")
}

// TestEnvelope checks the envelope's exact shape on success and failure.
func TestEnvelope(t *testing.T) {
	e := newEnv(t)
	a := e.must(e.admin, "GET", "/api/groups", nil, nil)
	if !strings.HasPrefix(a.Body, `{"code":200,"error":{},"data":[`) {
		t.Errorf("GET /api/groups body = %s, want {\"code\":200,\"error\":{},\"data\":[...", a.Body)
	}
	a = e.do(e.admin, "GET", "/api/groups/group/77", nil)
	want := `{"code":404,"error":{"code":404,"message":"no group with ID 77"}}` + "\n"
	if a.Body != want {
		t.Errorf("GET /api/groups/group/77 body = %s, want %s", a.Body, want)
	}
	a = e.must(e.admin, "DELETE", "/api/hosts/host/"+string(e.mkHost("h", "127.1.1.1").ID), nil, nil)
	if a.Body != `{"code":200,"error":{},"data":true}`+"\n" {
		t.Errorf("DELETE body = %s", a.Body)
	}
}

// TestRoutesAreTheContract holds the server's route table to
// apitype.Routes, the route list every client of the API reads.
func TestRoutesAreTheContract(t *testing.T) {
	e := newEnv(t)
	served := map[string]bool{}
	for _, rt := range e.api.routes() {
		served[rt.method+" "+rt.pattern] = true
	}
	contract := map[string]bool{}
	for _, rt := range apitype.Routes() {
		contract[rt.String()] = true
		if !served[rt.String()] {
			t.Errorf("apitype.Routes() has %s; the server does not serve it", rt)
		}
	}
	for r := range served {
		if !contract[r] {
			t.Errorf("the server serves %s; apitype.Routes() does not list it", r)
		}
	}
	if len(contract) != len(apitype.Routes()) {
		t.Errorf("apitype.Routes() lists a route twice")
	}
}
