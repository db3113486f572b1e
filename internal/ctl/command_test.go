package ctl

import (
	"net/http"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

// TestHelpOfEveryCommand walks the tree: every command's help has an
// example and an EXIT STATUS paragraph, and --json and --quiet on leaves.
func TestHelpOfEveryCommand(t *testing.T) {
	isolate(t)
	var walk func(path []string, c *cli.Command)
	walk = func(path []string, c *cli.Command) {
		path = append(path, c.Name)
		r := ctlRun(t, "", append(path[1:], "--help")...)
		name := strings.Join(path, " ")
		if r.code != 0 {
			t.Errorf("%s --help: exit %d, %s", name, r.code, r.stderr)
		}
		for _, want := range []string{"EXIT STATUS", "Example"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s --help lacks %q:\n%s", name, want, r.stdout)
			}
		}
		if len(c.Subcommands) == 0 {
			for _, want := range []string{"--json", "--quiet"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("%s --help lacks %s", name, want)
				}
			}
		}
		for _, s := range c.Subcommands {
			walk(path, s)
		}
	}
	walk(nil, Command())
}

func TestUsageErrors(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hosts", "lss"}, `"lss" is not a command of "ottoctl hosts"; the commands are ls, show, add`},
		{[]string{"nosuch"}, `"nosuch" is not a command of "ottoctl"`},
		{[]string{"hosts", "ls", "--bogus"}, `flag provided but not defined: -bogus; see "ottoctl hosts ls --help"`},
		{[]string{"hosts", "ls", "extra"}, `ottoctl hosts ls takes no arguments`},
		{[]string{"hosts", "show"}, `ottoctl hosts show needs HOST`},
		{[]string{"hosts", "ls", "--json", "--quiet"}, "--json and --quiet exclude each other"},
		{[]string{"--bogus", "hosts", "ls"}, "flag provided but not defined: -bogus"},
		{[]string{"events", "--count", "x"}, `invalid value "x" for flag`},
		{[]string{"completion", "tcsh"}, `no completion for "tcsh"`},
		{[]string{"hosts", "ls"}, "no server URL"},
		{[]string{"login"}, "no server URL: pass --url"},
		{[]string{"login", "--url", "http://127.0.0.1:1"}, "no username: pass --username"},
		{[]string{"hosts", "show", "--json"}, `{"type":"error","message":"ottoctl hosts show needs HOST`},
	} {
		r := ctlRun(t, "", tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q = exit %d, stderr %q; want exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestGroupWithoutSubcommandShowsHelp(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"hosts"}, {"help"}, {"hosts", "help"}, {"help", "hosts"}} {
		r := ctlRun(t, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "COMMANDS:") && !strings.Contains(r.stdout, "USAGE:") {
			t.Errorf("%q = %+v, want help and exit 0", args, r)
		}
	}
}

// TestFlagsAfterArguments checks that flags may follow the arguments, as
// in "ottoctl hosts show web1 --json", and that "--" ends them.
func TestFlagsAfterArguments(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /api/hosts", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []apitype.Host{{ID: "3", Name: "web1"}, {ID: "4", Name: "--weird"}})
	})
	f.mux.HandleFunc("GET /api/hosts/host/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, apitype.Host{ID: "3", Name: "web" + r.PathValue("id")})
	})
	f.use(t)
	r := ctlRun(t, "", "hosts", "show", "web1", "--json")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "{\n  \"ID\": \"3\",") {
		t.Errorf("hosts show web1 --json = %+v", r)
	}
	r = ctlRun(t, "", "hosts", "show", "web1", "-q")
	if r.code != 0 || r.stdout != "3\n" {
		t.Errorf("hosts show web1 -q = %+v", r)
	}
	r = ctlRun(t, "", "hosts", "show", "--quiet", "--", "--weird")
	if r.code != 0 || r.stdout != "3\n" {
		t.Errorf("hosts show -- --weird = %+v", r)
	}
	r = ctlRun(t, "", "hosts", "show", "web1", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "show one host") {
		t.Errorf("hosts show web1 --help = %+v", r)
	}
}

func TestBadCredentialsFake(t *testing.T) {
	f := newFakeAPI(t)
	f.use(t)
	t.Setenv(envAPIKey, "wrong")
	r := ctlRun(t, "", "hosts", "ls")
	if r.code != ExitError || r.stderr != "ottoctl: wrong username or API key\n" {
		t.Errorf("hosts ls with a wrong key = %+v, want exit 1 and the server's message", r)
	}
}

func TestServerDown(t *testing.T) {
	f := newFakeAPI(t)
	f.use(t)
	f.Close()
	r := ctlRun(t, "", "hosts", "ls")
	if r.code != ExitUnreachable || !strings.Contains(r.stderr, "cannot reach the otto server at "+f.URL) {
		t.Errorf("hosts ls with the server down = %+v, want exit 3 and a clear message", r)
	}
	r = ctlRun(t, "", "hosts", "ls", "--json")
	if r.code != ExitUnreachable || !strings.HasPrefix(r.stderr, `{"type":"error","message":"cannot reach the otto server`) {
		t.Errorf("hosts ls --json with the server down = %+v", r)
	}
}

func TestNotOttoServer(t *testing.T) {
	isolate(t)
	srv := newPlainServer(t, http.StatusOK, "<html>hello</html>")
	t.Setenv(envURL, srv)
	t.Setenv(envUsername, "u")
	t.Setenv(envAPIKey, "k")
	r := ctlRun(t, "", "hosts", "ls")
	if r.code != ExitError || !strings.Contains(r.stderr, "is "+srv+" an otto server?") {
		t.Errorf("hosts ls against a web page = %+v", r)
	}
	srv = newPlainServer(t, http.StatusBadGateway, "<html>bad gateway</html>")
	t.Setenv(envURL, srv)
	r = ctlRun(t, "", "hosts", "ls")
	if r.code != ExitUnreachable || !strings.Contains(r.stderr, "not available") {
		t.Errorf("hosts ls behind a proxy whose server is down = %+v", r)
	}
}
