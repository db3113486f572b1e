package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/legacy/legacytest"
)

// TestImport0x takes over the data of a real otto 0.10.6 server with
// "otto server import", starts the server on it and checks that a 0.x user
// notices nothing: every entity list and event answers what 0.x answered
// (names, JSON types, values; the IDs kept), the 0.x passwords and API key
// log in, and a client holding a fixture host's PSK answers heartbeats
// with that PSK, not rotated.
func TestImport0x(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	old := legacytest.Copy(t)
	dataDir := filepath.Join(env.dir, "imported")

	check := env.startProc("import --check", nil, "server", "import", "--check", old)
	if code := check.awaitExit(startWithin); code != 0 || !strings.Contains(check.stdout.String(), "3 hosts, 2 groups") {
		t.Fatalf("import --check: exit %d, output:\n%s", code, check.stdout.String())
	}
	imp := env.startProc("import", nil, "server", "import", "--data-dir", dataDir, old)
	if code := imp.awaitExit(startWithin); code != 0 || !strings.Contains(imp.stdout.String(), "imported into") {
		t.Fatalf("import: exit %d, output:\n%s", code, imp.stdout.String())
	}
	again := env.startProc("import again", nil, "server", "import", "--data-dir", dataDir, old)
	if code := again.awaitExit(startWithin); code == 0 || !strings.Contains(again.stderr.String(), "not empty") {
		t.Errorf("import into the imported directory: exit %d, stderr:\n%s", code, again.stderr.String())
	}

	srv := &server{env: env, dataDir: dataDir}
	srv.start()

	// alice's 0.x API key works as it did, before anything else touches her.
	get := func(path, user, key string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(apiclient.HeaderUsername, user)
		req.Header.Set(apiclient.HeaderAPIKey, key)
		res, err := srv.httpClient(awaitWithin).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return res.StatusCode, body
	}
	if code, body := get("/api/hosts", "alice", legacytest.AliceAPIKey+"x"); code != http.StatusUnauthorized {
		t.Errorf("GET /api/hosts with a wrong API key: HTTP %d %v", code, body)
	}
	if code, body := get("/api/hosts", "alice", legacytest.AliceAPIKey); code != http.StatusOK {
		t.Fatalf("GET /api/hosts with alice's 0.x API key: HTTP %d %v", code, body)
	}
	// Both 0.x passwords log in.
	ctx := context.Background()
	alice, err := apiclient.New(srv.URL, apiclient.Options{HTTPClient: srv.httpClient(awaitWithin)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Login(ctx, "alice", legacytest.AlicePassword); err != nil {
		t.Fatalf("alice with her 0.x password: %v", err)
	}
	srv.login(legacytest.AdminPassword)

	// The imported data, through the API, is what 0.x answered. Hosts'
	// LastPSKRotate counts from the import: their rotation was overdue.
	c := legacytest.Compat{T: t, NotData: map[string]bool{"LastPSKRotate": true}}
	for _, l := range append(legacytest.Lists, struct{ File, Path, Key string }{"events.json", "/api/events?c=1000", "ID"}) {
		_, got := get(l.Path, "admin", srv.apiKey)
		c.Answer(l.File, l.Path, l.Key, got)
	}

	// web-1's PSK reaches a client holding it, once pointed at it.
	const webID, webPSK = "fYxpKIYR1wzJ", "psk-web-1-aaaaaaaaaaaaaaaa"
	cl := env.StartClient(withPSK(webPSK))
	h := srv.Host(webID)
	srv.MustCall("POST", apiclient.ItemPath("/api/hosts/host", webID),
		apitype.HostRequest{Name: h.Name, Address: "127.0.0.1", Port: uint32(cl.Port), GroupIDs: h.GroupIDs, Environment: h.Environment}, nil)
	st := srv.AwaitHeartbeat(srv.Host(webID))
	if st.Error != "" || st.Version == "" {
		t.Errorf("heartbeat of web-1: %+v", st)
	}
	if got, cfg := srv.Host(webID).PSK, cl.ConfigPSK(); got != webPSK || cfg != webPSK {
		t.Errorf("after contact: server PSK %q, client PSK %q; want both still %q (nothing rotates at once)", got, cfg, webPSK)
	}
}
