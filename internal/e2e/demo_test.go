package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

var (
	demoBanner = regexp.MustCompile(`web and API: (\S+)\n\s+user:\s+(\S+)\n\s+password:\s+(\S+)\n`)
	demoClient = regexp.MustCompile(`starting the client on (\S+) `)
)

// demo is a running "otto demo".
type demo struct {
	*proc
	url, user, password string
	clientAddr          string
}

func (e *env) startDemo(dir, listen string) *demo {
	e.t.Helper()
	d := &demo{proc: e.startProc("demo", nil, "demo", "--data-dir", dir, "--listen", listen)}
	m := d.awaitLog(demoBanner)
	d.url, d.user, d.password = m[1], m[2], m[3]
	d.clientAddr = d.awaitLog(demoClient)[1]
	return d
}

// stopLikeCtrlC sends SIGINT to the demo, alone (kill -INT) or with its
// children (a terminal's Ctrl-C goes to the whole foreground process
// group), and checks that it exits 0 and that its server and client are
// gone: nothing answers on their ports, no process is left in its session.
func (d *demo) stopLikeCtrlC(listen string, wholeGroup bool) {
	t := d.env.t
	t.Helper()
	send := d.signal
	if wholeGroup {
		send = d.signalGroup // the demo leads its process group
	}
	if !send(syscall.SIGINT) {
		t.Fatalf("otto demo did not stop within %v of SIGINT", stopWithin)
	}
	if code := d.exitCode(); code != 0 || !strings.Contains(d.stdout.String(), "stopping") {
		t.Errorf("otto demo exited with %d after SIGINT; stdout %q", code, d.stdout)
	}
	if left := sessionMembers(d.pid); len(left) > 0 {
		t.Errorf("otto demo exited and left processes running:\n%s", strings.Join(left, "\n"))
	}
	for _, addr := range []string{listen, d.clientAddr} {
		if accepts(addr) {
			t.Errorf("after the demo stopped, %s still accepts connections", addr)
		}
	}
}

// TestDemo: "otto demo" starts a server and a client, prints the URL, user
// and password; with them one can see the demo host answer a heartbeat and
// run the sample script on the default group. SIGINT, to the demo alone or
// to its process group, stops everything. Started again on its directory,
// it picks up where it left off.
func TestDemo(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	dir := filepath.Join(env.dir, "otto-demo")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	d := env.startDemo(dir, listen)
	if d.url != "http://"+listen || d.user != "admin" || d.password == "" {
		t.Fatalf("demo printed URL %q, user %q, password %q", d.url, d.user, d.password)
	}
	srv := env.AttachServer(d.url, d.password)
	var hosts []host
	srv.MustCall("GET", "/api/hosts", nil, &hosts)
	if len(hosts) != 1 || fmt.Sprintf("%s:%d", hosts[0].Address, hosts[0].Port) != d.clientAddr {
		t.Fatalf("demo hosts %+v; want one, the client on %s", hosts, d.clientAddr)
	}
	srv.AwaitHeartbeat(hosts[0])
	runHello := func() {
		t.Helper()
		var scripts []apitype.Script
		srv.MustCall("GET", "/api/scripts", nil, &scripts)
		if len(scripts) != 1 || scripts[0].Name != "hello" {
			t.Fatalf("demo scripts %+v; want hello", scripts)
		}
		g := srv.GroupNamed("Otto Clients")
		b := srv.MustStart(scripts[0].ID, nil, []apitype.ID{g.ID})
		runs := b.AwaitEnd(awaitWithin)
		r := (&runHandle{srv: srv, ID: runs[0].ID}).Get()
		if len(runs) != 1 || r.State != apitype.RunDone || !r.Success || !strings.HasPrefix(r.Stdout, "hello from ") {
			t.Errorf("hello on Otto Clients: %d runs, %+v", len(runs), r)
		}
	}
	runHello()
	d.stopLikeCtrlC(listen, false)

	// Again: same password, same host (whose PSK was rotated at the first
	// contact), still reachable.
	d2 := env.startDemo(dir, listen)
	if d2.password != d.password || d2.clientAddr != d.clientAddr {
		t.Errorf("second start: password %q, client %s; want %q and %s", d2.password, d2.clientAddr, d.password, d.clientAddr)
	}
	srv = env.AttachServer(d2.url, d2.password)
	srv.MustCall("GET", "/api/hosts", nil, &hosts)
	if len(hosts) != 1 {
		t.Fatalf("demo hosts after a restart: %+v", hosts)
	}
	srv.AwaitHeartbeat(hosts[0])
	runHello()
	d2.stopLikeCtrlC(listen, true)
}
