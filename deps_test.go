package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the imports running the way DESIGN.md draws them.
func TestDeps(t *testing.T) {
	const mod = "github.com/otto-automation/otto/"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		var list []string
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			list = append(list, p.ImportPath)
		}
		return list
	}
	tests := []struct {
		pkg    string
		banned func(dep string) bool
		why    string
	}{
		{"./internal/wire", func(d string) bool {
			return strings.HasPrefix(d, mod) && d != mod+"internal/wire" || d == "net/http" || d == "log/slog"
		}, "wire is the protocol alone: nothing of ours, no HTTP, no logging"},
		{"./internal/client", func(d string) bool { return strings.HasPrefix(d, mod+"internal/serve") },
			"client and server share only wire, exec and sysinfo"},
		{"./internal/serve/...", func(d string) bool { return strings.HasPrefix(d, mod+"internal/client") },
			"client and server share only wire, exec and sysinfo"},
		{"./internal/ctl", func(d string) bool { return strings.HasPrefix(d, mod+"internal/serve") },
			"ottoctl reaches the server over HTTP only"},
		{"./internal/apitype", func(d string) bool { return strings.HasPrefix(d, mod) && d != mod+"internal/apitype" },
			"apitype is the API's shapes alone: it imports nothing of ours"},
		{"./internal/apiclient", func(d string) bool {
			return strings.HasPrefix(d, mod+"internal/serve") || strings.HasPrefix(d, mod+"internal/client")
		}, "the API client knows the API (apitype), not the server"},
		{"./internal/serve/domain", func(d string) bool {
			return strings.HasPrefix(d, mod) && d != mod+"internal/serve/domain" || d == "net/http"
		}, "the domain is at the bottom and knows no transport: store, api, auth and fleet build on it"},
		{"./internal/serve/store", func(d string) bool {
			return strings.HasPrefix(d, mod+"internal/serve/") && d != mod+"internal/serve/store" && d != mod+"internal/serve/domain" ||
				d == mod+"internal/apitype" || d == "net/http"
		}, "data flows store -> domain -> transport: the store knows only the domain"},
		{".", func(d string) bool { return d == "testing" || d == "net/http/httptest" },
			"the otto binary links no test code"},
	}
	for _, tt := range tests {
		for _, d := range deps(tt.pkg) {
			if tt.banned(d) {
				t.Errorf("%s imports %s: %s", tt.pkg, d, tt.why)
			}
		}
	}
}
