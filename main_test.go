package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/testbin"
)

// TestMultiCall runs the built binary under each of its names and checks the
// role it reports.
func TestMultiCall(t *testing.T) {
	otto := testbin.Otto(t)
	dir := t.TempDir()
	for _, name := range []string{"otto-server", "otto-client", "ottoctl"} {
		if err := os.Symlink(otto, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A two-hop chain answers to its first link.
	hop := filepath.Join(dir, "hop")
	if err := os.Symlink(filepath.Join(dir, "ottoctl"), hop); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hop, filepath.Join(dir, "bin-ottoctl")); err != nil {
		t.Fatal(err)
	}
	chain := filepath.Join(t.TempDir(), "ottoctl")
	if err := os.Symlink(filepath.Join(dir, "ottoctl"), chain); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		bin  string
		args []string
		role string
	}{
		{filepath.Join(dir, "otto-server"), nil, "server"},
		{filepath.Join(dir, "otto-client"), nil, "client"},
		{filepath.Join(dir, "ottoctl"), nil, "ctl"},
		{chain, nil, "ctl"},
		{otto, []string{"server"}, "server"},
		{otto, []string{"client"}, "client"},
		{otto, []string{"ctl"}, "ctl"},
	}
	for _, tt := range tests {
		args := append(append([]string{}, tt.args...), "version")
		out, code := run(t, tt.bin, args...)
		if code != 0 || !strings.Contains(out, "role: "+tt.role+"\n") || !strings.Contains(out, "protocol: 2") {
			t.Errorf("%s %v = (%d) %q, want exit 0 and role %s", filepath.Base(tt.bin), args, code, out, tt.role)
		}
		args = append(append([]string{}, tt.args...), "--help")
		out, code = run(t, tt.bin, args...)
		if code != 0 || !strings.Contains(out, "otto "+tt.role) {
			t.Errorf("%s %v = (%d) %q, want exit 0 and help of otto %s", filepath.Base(tt.bin), args, code, out, tt.role)
		}
	}

	for _, args := range [][]string{nil, {"frobnicate"}} {
		out, code := run(t, otto, args...)
		if code != 2 || !strings.Contains(out, "server") || !strings.Contains(out, "client") || !strings.Contains(out, "ctl") {
			t.Errorf("otto %v = (%d) %q, want exit 2 and the list of roles", args, code, out)
		}
	}
	unknown := filepath.Join(dir, "otto-frob")
	if err := os.Symlink(otto, unknown); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, unknown); code != 2 || !strings.Contains(out, "roles:") {
		t.Errorf("otto-frob = (%d) %q, want exit 2 and the list of roles", code, out)
	}

	out, code := run(t, otto, "version")
	if code != 0 || !strings.Contains(out, "protocol: 2") || !strings.Contains(out, "go: go1.") {
		t.Errorf("otto version = (%d) %q", code, out)
	}
}

func TestLinks(t *testing.T) {
	otto := testbin.Otto(t)
	dir := t.TempDir()
	for i := 0; i < 2; i++ { // the second time finds them in place
		if out, code := run(t, otto, "links", dir); code != 0 {
			t.Fatalf("otto links %s = (%d) %s", dir, code, out)
		}
	}
	for _, name := range []string{"otto-server", "otto-client", "ottoctl"} {
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := filepath.EvalSymlinks(otto); target != want {
			t.Errorf("link %s -> %s, want %s", name, target, want)
		}
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	blocked := t.TempDir()
	if err := os.WriteFile(filepath.Join(blocked, "ottoctl"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, otto, "links", blocked); code == 0 || !strings.Contains(out, "--force") {
		t.Errorf("otto links over a file = (%d) %q, want an error naming --force", code, out)
	}
	if out, code := run(t, otto, "links", "--force", blocked); code != 0 {
		t.Errorf("otto links --force = (%d) %q, want 0", code, out)
	}
}

func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return out.String(), 0
}
