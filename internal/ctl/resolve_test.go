package ctl

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

// TestResolveIDsAndNames checks that an argument is the ID it equals,
// decimal or a 0.x nanoid, else a name: exact, then without case.
func TestResolveIDsAndNames(t *testing.T) {
	f := newFakeAPI(t)
	lists := 0
	f.mux.HandleFunc("GET /api/hosts", func(w http.ResponseWriter, r *http.Request) {
		lists++
		reply(w, []apitype.Host{{ID: "3", Name: "web1"}, {ID: "VVVanl4_U0as", Name: "imported"},
			{ID: "7", Name: "3"}, {ID: "8", Name: "DB"}, {ID: "9", Name: "db"}, {ID: "10", Name: "Mail"}})
	})
	f.use(t)
	g, err := newTestGlobals()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := g.client()
	if err != nil {
		t.Fatal(err)
	}
	r := newResolver(cl, hostKind())
	ctx := context.Background()
	for _, tc := range []struct{ arg, want string }{
		{"3", "3"}, // the ID wins over the host named "3"
		{"VVVanl4_U0as", "VVVanl4_U0as"},
		{"web1", "3"},
		{" imported ", "VVVanl4_U0as"},
		{"7", "7"},
		{"DB", "8"}, {"db", "9"}, // exact names
		{"mail", "10"}, // one name without case
	} {
		got, err := r.id(ctx, tc.arg)
		if err != nil || string(got) != tc.want {
			t.Errorf("id(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
		}
	}
	for _, arg := range []string{"12", "vvvanl4_u0as", "Db", "nosuch"} {
		_, err := r.id(ctx, arg)
		var nf *notFoundError
		if !errors.As(err, &nf) {
			t.Errorf("id(%q) = %v, want a notFoundError", arg, err)
		}
	}
	if _, err := r.id(ctx, " "); exitCode(err) != ExitUsage {
		t.Errorf("id(\" \") = %v, want a usage error", err)
	}
	ids, err := r.ids(ctx, []string{"web1", "3", "imported"})
	if err != nil || len(ids) != 2 || ids[0] != "3" || ids[1] != "VVVanl4_U0as" {
		t.Errorf("ids(web1, 3, imported) = %q, %v; want [3 VVVanl4_U0as]", ids, err)
	}
	if lists != 1 {
		t.Errorf("the resolver listed the hosts %d times, want once", lists)
	}
}
