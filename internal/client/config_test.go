package client

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "client.toml")

	writeFile(t, path, `psk = "secret"`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != DefaultListenAddr || cfg.Path != DefaultPath || cfg.OutputLimit != DefaultOutputLimit ||
		cfg.RequestMemory != DefaultRequestMemory || cfg.AllowFrom != nil || cfg.LogPath != "" || cfg.DefaultUID != nil {
		t.Errorf("defaults = %+v", cfg)
	}
	if !cfg.allows(netip.MustParseAddr("203.0.113.9")) || !cfg.allows(netip.MustParseAddr("2001:db8::1")) {
		t.Errorf("no allow_from must allow everyone")
	}

	writeFile(t, path, `
listen_addr = "[::]:4000"
psk = "secret"
allow_from = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "10.1.2.3/8"]
default_uid = 1000
default_gid = 100
path = "/bin"
log_path = "/var/log/otto-client.log"
reboot_command = ["/sbin/reboot"]
shutdown_command = ["/sbin/poweroff", "-f"]
output_limit = 1048576
request_memory = 134217728
`)
	cfg, err = LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "[::]:4000" || *cfg.DefaultUID != 1000 || *cfg.DefaultGID != 100 || cfg.OutputLimit != 1<<20 || cfg.RequestMemory != 128<<20 ||
		!slices.Equal(cfg.ShutdownCommand, []string{"/sbin/poweroff", "-f"}) {
		t.Errorf("config = %+v", cfg)
	}
	for addr, want := range map[string]bool{
		"10.200.0.1": true, "::ffff:10.0.0.1": true, "2001:db8:1::5": true, "192.0.2.7": true,
		"192.0.2.8": false, "127.0.0.1": false, "::1": false,
	} {
		if got := cfg.allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("allows(%s) = %v, want %v", addr, got, want)
		}
	}

	if _, err := LoadConfig(filepath.Join(dir, "missing.toml")); !errors.Is(err, ErrNoConfig) {
		t.Errorf("LoadConfig(missing) = %v, want ErrNoConfig", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		toml string
		want string
	}{
		{``, `psk is empty; run "otto client setup"`},
		{`psk = ""`, `psk is empty; run "otto client setup"`},
		{"psk = \"x\"\nport = 1", `unknown key "port"; remove it (known keys: listen_addr,`},
		{"psk = \"x\"\n[extra]\na = 1", `unknown key "extra`},
		{"psk = 1", "fix the value's type"},
		{"psk = \"x\"\nallow_from = []", "allow_from is empty"},
		{"psk = \"x\"\nallow_from = \"10.0.0.0/8\"", "fix the value's type"},
		{"psk = \"x\"\nallow_from = [\"ten\"]", `allow_from "ten" is not a network`},
		{"psk = \"x\"\nlisten_addr = \"0.0.0.0\"", `listen_addr "0.0.0.0"`},
		{"psk = \"x\"\nlisten_addr = \"host.example:1\"", "not an IP address"},
		{"psk = \"x\"\nlisten_addr = \"0.0.0.0:99999\"", "not a port"},
		{"psk = \"x\"\noutput_limit = -1", "output_limit -1 is negative"},
		{"psk = \"x\"\nrequest_memory = -1", "request_memory -1 is negative"},
		{"psk = \"x\"\nreboot_command = []", "reboot_command is empty"},
		{"psk = \"x\"\ndefault_uid = -1", "line 2, default_uid: -1 is out of range"},
		{"psk = \"x", "line 1"},
	}
	for i, tt := range tests {
		path := filepath.Join(dir, fmt.Sprintf("c%d.toml", i))
		writeFile(t, path, tt.toml)
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "client config "+path+": ") {
			t.Errorf("LoadConfig(%q) = %v, want an error naming the file and containing %q", tt.toml, err, tt.want)
		}
		if errors.Is(err, ErrNoConfig) {
			t.Errorf("LoadConfig(%q) = %v matches ErrNoConfig; a bad config is not a missing one", tt.toml, err)
		}
	}
}

func TestPSKRedacted(t *testing.T) {
	uid := uint32(5)
	cfg := Config{PSK: testPSK, ListenAddr: "x", DefaultUID: &uid}
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("config", "cfg", cfg, "psk", cfg.PSK)
	log.Info("config", slog.Any("cfg", &cfg))
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "cfg", cfg, "psk", cfg.PSK)
	for _, s := range []string{b.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v %#v %s %q %x", cfg, cfg, cfg.PSK, cfg.PSK, cfg.PSK)} {
		if strings.Contains(s, testPSK) {
			t.Errorf("the PSK shows in %q", s)
		}
	}
	if !strings.Contains(b.String(), "REDACTED") {
		t.Errorf("the log does not say REDACTED: %s", b.String())
	}
}

func TestSaveConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "client.toml")
	uid := uint32(0)
	want := Config{ListenAddr: "127.0.0.1:1", PSK: `tricky "psk" with 'quotes' \ and = signs`, AllowFrom: []string{"10.0.0.0/8"}, DefaultUID: &uid}
	if err := SaveConfig(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.PSK != want.PSK || got.ListenAddr != want.ListenAddr || !slices.Equal(got.AllowFrom, want.AllowFrom) || *got.DefaultUID != 0 {
		t.Errorf("saved and loaded = %+v, want %+v", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	// Never replace what is not a regular file.
	link := filepath.Join(dir, "link.toml")
	os.Symlink(path, link)
	if err := SaveConfig(link, want); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("SaveConfig over a symlink = %v", err)
	}
	if err := SaveConfig(dir, want); err == nil {
		t.Errorf("SaveConfig over a directory succeeded")
	}
}

func TestSavePSK(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "client.toml")
	const orig = "# keep me\npsk = \"old\"   # and me? no: the line is replaced\nallow_from = [\"10.0.0.0/8\"] # keep\n"
	writeFile(t, path, orig)
	cur, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := savePSK(path, cur, `new "psk"`, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if want := "# keep me\npsk = \"new \\\"psk\\\"\"\nallow_from = [\"10.0.0.0/8\"] # keep\n"; string(data) != want {
		t.Errorf("after savePSK:\n%s\nwant\n%s", data, want)
	}

	// A PSK written as a multi-line string cannot be replaced line by line:
	// the whole file is written anew, with the same settings.
	writeFile(t, path, "psk = '''\nold'''\nallow_from = [\"10.0.0.0/8\"]\n")
	cur, err = LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := savePSK(path, cur, "newer", nil); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil || got.PSK != "newer" || !slices.Equal(got.AllowFrom, []string{"10.0.0.0/8"}) {
		t.Errorf("after savePSK of a multi-line PSK: %+v, %v", got, err)
	}
}

func TestConvertLegacy(t *testing.T) {
	cfg, err := convertLegacy("otto_client.conf", []byte(`{"listen_addr":"0.0.0.0:12444","psk":"p","log_path":"/var/log/otto","default_uid":0,"default_gid":0,"path":"/bin","allow_from":"0.0.0.0/0","unknown":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogPath != "/var/log/otto/otto_client.log" || !slices.Equal(cfg.AllowFrom, []string{"0.0.0.0/0"}) || cfg.DefaultUID == nil || *cfg.DefaultUID != 0 {
		t.Errorf("converted = %+v", cfg)
	}
	cfg, err = convertLegacy("otto_client.conf", []byte(`{"psk":"p","allow_from":""}`))
	if err != nil || cfg.AllowFrom != nil || cfg.LogPath != "" || cfg.DefaultUID != nil {
		t.Errorf("converted minimal = %+v, %v; want everyone allowed, stderr, no default ids", cfg, err)
	}
	for _, bad := range []string{`{"psk":""}`, `{"psk":"p","allow_from":"everyone"}`, `not json`} {
		if _, err := convertLegacy("otto_client.conf", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "client config otto_client.conf: ") {
			t.Errorf("convertLegacy(%s) = %v, want an error naming the file", bad, err)
		}
	}
}

func TestSetup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "client.toml")

	var out bytes.Buffer
	in := "nowhere\n127.0.0.1:5555\n\nten, 10.0.0.0/8\n10.0.0.0/8, 192.0.2.1\n"
	if err := runSetup(path, strings.NewReader(in), &out); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "127.0.0.1:5555" || !slices.Equal(cfg.AllowFrom, []string{"10.0.0.0/8", "192.0.2.1"}) || len(cfg.PSK) < 20 {
		t.Errorf("setup wrote %+v", cfg)
	}
	text := out.String()
	if strings.Count(text, string(cfg.PSK)) != 1 {
		t.Errorf("the generated PSK is not printed exactly once:\n%s", text)
	}
	if !strings.Contains(text, `"nowhere"`) || !strings.Contains(text, `"ten" is not a network`) {
		t.Errorf("setup did not explain the bad answers:\n%s", text)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("setup wrote mode %v, want 0600", fi.Mode())
	}

	// Again: Enter keeps everything, the PSK is not shown, other keys stay.
	writeFile(t, path, fmt.Sprintf("psk = %q\nlisten_addr = \"127.0.0.1:5555\"\ndefault_uid = 7\n", testPSK))
	out.Reset()
	if err := runSetup(path, strings.NewReader("\n\n\n"), &out); err != nil {
		t.Fatal(err)
	}
	cfg2, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.PSK != testPSK || cfg2.ListenAddr != "127.0.0.1:5555" || cfg2.AllowFrom != nil || cfg2.DefaultUID == nil || *cfg2.DefaultUID != 7 {
		t.Errorf("setup with Enter everywhere changed the config: %+v", cfg2)
	}
	if strings.Contains(out.String(), testPSK) {
		t.Errorf("setup printed an existing PSK:\n%s", out.String())
	}

	// A given PSK and "everyone"; then the end of the input takes defaults.
	out.Reset()
	if err := runSetup(path, strings.NewReader("0.0.0.0:12444\nchosen-psk\neveryone\n"), &out); err != nil {
		t.Fatal(err)
	}
	if cfg3, _ := LoadConfig(path); cfg3.PSK != "chosen-psk" || cfg3.AllowFrom != nil || strings.Contains(out.String(), "chosen-psk") {
		t.Errorf("setup with a chosen PSK = %+v\n%s", cfg3, out.String())
	}
	fresh := filepath.Join(dir, "fresh.toml")
	if err := runSetup(fresh, strings.NewReader(""), &out); err != nil {
		t.Fatalf("setup on empty input: %v", err)
	}
	if cfg4, err := LoadConfig(fresh); err != nil || cfg4.ListenAddr != DefaultListenAddr || cfg4.PSK == "" {
		t.Errorf("setup on empty input = %+v, %v", cfg4, err)
	}
}

func TestSetupCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "client.toml")
	p := startProc(t, procOpts{stdin: strings.NewReader("127.0.0.1:0\n" + testPSK + "\n127.0.0.1\n")}, "client", "setup", "--config", path)
	if code := p.wait(); code != 0 {
		t.Fatalf("otto client setup = %d: %s%s", code, p.stdout.String(), p.stderr.String())
	}
	p = startProc(t, procOpts{}, "client", "--config", path)
	heartbeat(t, p.waitListening(), testPSK)

	// --config before the subcommand counts too.
	other := filepath.Join(dir, "other.toml")
	p = startProc(t, procOpts{stdin: strings.NewReader("")}, "client", "--config", other, "setup")
	if code := p.wait(); code != 0 {
		t.Fatalf("otto client --config X setup = %d: %s", code, p.stderr.String())
	}
	if _, err := LoadConfig(other); err != nil {
		t.Errorf("otto client --config %s setup: %v", other, err)
	}
}
