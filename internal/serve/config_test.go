package serve

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.toml", "data_dir = \"/var/lib/otto\"\nlisten = \"0.0.0.0:443\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\nverbose = true\nno_scheduler = true\n")
	cfg, err := LoadConfig(good, DefaultConfig())
	want := Config{DataDir: "/var/lib/otto", Listen: "0.0.0.0:443", TLSCert: "/c.pem", TLSKey: "/k.pem", Verbose: true, NoScheduler: true}
	if err != nil || cfg != want {
		t.Errorf("LoadConfig(good) = %+v, %v, want %+v", cfg, err, want)
	}
	partial := write("partial.toml", "listen = \":9000\"\n")
	if cfg, err := LoadConfig(partial, DefaultConfig()); err != nil || cfg.DataDir != DefaultDataDir || cfg.Listen != ":9000" {
		t.Errorf("LoadConfig(partial) = %+v, %v, want the default data dir and :9000", cfg, err)
	}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"typo.toml", "data_dri = \"x\"\nlisten = \":1\"\n[extra]\nx = 1\n", "unknown keys data_dri, extra, extra.x"},
		{"bad.toml", "listen = \n", "bad.toml"},
		{"type.toml", "verbose = \"yes\"\n", "verbose"},
	} {
		_, err := LoadConfig(write(tt.name, tt.body), DefaultConfig())
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("LoadConfig(%s) = %v, want an error naming the file and %q", tt.name, err, tt.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(dir, "none.toml"), DefaultConfig()); !errors.Is(err, ErrNoConfig) {
		t.Errorf("LoadConfig(missing) = %v, want ErrNoConfig", err)
	}
}

// TestFlagsOverConfig runs the command line through urfave/cli with an
// Action that only captures the configuration.
func TestFlagsOverConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "otto.toml")
	if err := os.WriteFile(file, []byte("data_dir = \"/from/file\"\nlisten = \"1.2.3.4:1\"\nverbose = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want Config
		err  string
	}{
		{args: nil, want: Config{DataDir: DefaultDataDir, Listen: DefaultListen}},
		{args: []string{"--config", file}, want: Config{DataDir: "/from/file", Listen: "1.2.3.4:1", Verbose: true}},
		{args: []string{"--config", file, "--listen", ":2"}, want: Config{DataDir: "/from/file", Listen: ":2", Verbose: true}},
		{args: []string{"--config", file}, env: map[string]string{"OTTO_DATA_DIR": "/from/env", "OTTO_NO_SCHEDULER": "true"},
			want: Config{DataDir: "/from/env", Listen: "1.2.3.4:1", Verbose: true, NoScheduler: true}},
		{args: []string{"--tls-cert", "/c.pem"}, err: "both tls_cert and tls_key"},
		{args: []string{"--config", filepath.Join(dir, "missing.toml")}, err: "config file does not exist"},
	} {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		var got Config
		cmd := Command()
		cmd.Action = func(c *cli.Context) error {
			var err error
			got, err = configFrom(c)
			return err
		}
		app := &cli.App{Commands: []*cli.Command{cmd}, Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}}
		err := app.RunContext(context.Background(), append([]string{"otto", "server"}, tt.args...))
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("otto server %v = %v, want error %q", tt.args, err, tt.err)
			}
		case err != nil || got != tt.want:
			t.Errorf("otto server %v (env %v) = %+v, %v, want %+v", tt.args, tt.env, got, err, tt.want)
		}
		for k := range tt.env {
			os.Unsetenv(k)
		}
	}
}
