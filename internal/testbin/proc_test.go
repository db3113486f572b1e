package testbin

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/client"
)

func TestStartStop(t *testing.T) {
	var out Output
	p, err := Start("/bin/sh", []string{"-c", "echo started; exec sleep 60"}, Options{Stdout: &out, Session: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Await(regexpLine("started"), 10*time.Second, p.Done()) == nil {
		t.Fatalf("no output from the process: %q", out.String())
	}
	if pgid, err := syscall.Getpgid(p.Pid); err != nil || pgid != p.Pid {
		t.Errorf("Getpgid(%d) = %d, %v; want the process to lead its own group", p.Pid, pgid, err)
	}
	if !p.Stop(syscall.SIGTERM, false, 10*time.Second) {
		t.Errorf("Stop(SIGTERM) of sleep = false, want true")
	}
	if !p.Exited() || p.Err() == nil {
		t.Errorf("after Stop: exited %v, Err() = %v; want exited by a signal", p.Exited(), p.Err())
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	var out Output
	p, err := Start("/bin/sh", []string{"-c", "trap '' TERM; echo trapped; while :; do sleep 1; done"}, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if out.Await(regexpLine("trapped"), 10*time.Second, p.Done()) == nil {
		t.Fatalf("no output from the process: %q", out.String())
	}
	start := time.Now()
	if p.Stop(syscall.SIGTERM, true, 200*time.Millisecond) {
		t.Errorf("Stop(SIGTERM) of a shell ignoring it = true, want false (killed)")
	}
	if !p.Exited() || time.Since(start) > 10*time.Second {
		t.Errorf("after Stop: exited %v after %v", p.Exited(), time.Since(start))
	}
}

func TestStartMissingBinary(t *testing.T) {
	if p, err := Start(filepath.Join(t.TempDir(), "none"), nil, Options{}); err == nil {
		p.Kill()
		t.Errorf("Start of a missing binary: no error")
	}
}

func TestWriteClientConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.toml")
	if err := WriteClientConfig(path, "127.0.0.1:0", "the-psk", "127.0.0.0/8", "::1"); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.LoadConfig(path)
	if err != nil {
		t.Fatalf("the client does not load the config: %v", err)
	}
	if cfg.ListenAddr != "127.0.0.1:0" || string(cfg.PSK) != "the-psk" || !slices.Equal(cfg.AllowFrom, []string{"127.0.0.0/8", "::1"}) {
		t.Errorf("LoadConfig = %+v", cfg)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v (%v), want 0600", fi.Mode(), err)
	}
	if err := WriteClientConfig(path, "127.0.0.1:1", "psk"); err != nil {
		t.Fatal(err)
	}
	if cfg, err := client.LoadConfig(path); err != nil || cfg.AllowFrom != nil {
		t.Errorf("LoadConfig of a config without allow_from = %+v, %v; want AllowFrom nil", cfg, err)
	}
}

func regexpLine(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }
