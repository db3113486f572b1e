package ctl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolveSettingsPrecedence(t *testing.T) {
	file := configFile{URL: "https://file.example", Username: "fileuser", APIKey: "filekey"}
	for _, tc := range []struct {
		name  string
		flags connFlags
		env   map[string]string
		want  settings
	}{
		{"file only", connFlags{}, nil,
			settings{URL: "https://file.example", Username: "fileuser", APIKey: "filekey", fromFile: true}},
		{"env over file", connFlags{}, map[string]string{envUsername: "envuser", envAPIKey: "envkey"},
			settings{URL: "https://file.example", Username: "envuser", APIKey: "envkey"}},
		{"flags over env", connFlags{Username: ptr("flaguser"), APIKey: ptr("flagkey")},
			map[string]string{envUsername: "envuser", envAPIKey: "envkey"},
			settings{URL: "https://file.example", Username: "flaguser", APIKey: "flagkey"}},
		{"file's key stays with the file's URL", connFlags{URL: ptr("https://other.example")}, nil,
			settings{URL: "https://other.example"}},
		{"env URL for another server drops the file's key", connFlags{}, map[string]string{envURL: "https://other.example"},
			settings{URL: "https://other.example"}},
		{"same URL with a slash keeps the file's key", connFlags{URL: ptr("https://file.example/")}, nil,
			settings{URL: "https://file.example", Username: "fileuser", APIKey: "filekey", fromFile: true}},
		{"insecure from env", connFlags{}, map[string]string{envInsecure: "true"},
			settings{URL: "https://file.example", Username: "fileuser", APIKey: "filekey", Insecure: true, fromFile: true}},
		{"insecure flag false over env", connFlags{Insecure: ptr(false)}, map[string]string{envInsecure: "1"},
			settings{URL: "https://file.example", Username: "fileuser", APIKey: "filekey", fromFile: true}},
	} {
		got, err := resolveSettings(tc.flags, env(tc.env), file)
		if err != nil {
			t.Errorf("%s: resolveSettings: %v", tc.name, err)
			continue
		}
		got.url = nil
		if got != tc.want {
			t.Errorf("%s: resolveSettings = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestResolveSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags connFlags
		env   map[string]string
		want  string
	}{
		{"no scheme", connFlags{URL: ptr("otto.example:8080")}, nil, "must start with https:// or http://"},
		{"ftp", connFlags{URL: ptr("ftp://otto.example")}, nil, "must start with https:// or http://"},
		{"no host", connFlags{URL: ptr("https://")}, nil, "has no host"},
		{"bad insecure", connFlags{}, map[string]string{envInsecure: "maybe"}, "OTTO_INSECURE"},
	} {
		_, err := resolveSettings(tc.flags, env(tc.env), configFile{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != ExitUsage {
			t.Errorf("%s: resolveSettings error = %v (exit %d), want a usage error containing %q", tc.name, err, exitCode(err), tc.want)
		}
	}
}

func TestSettingsCheck(t *testing.T) {
	if err := (settings{}).check(); err == nil || !strings.Contains(err.Error(), "no server URL") {
		t.Errorf("check() of nothing = %v, want no server URL", err)
	}
	err := (settings{URL: "https://x"}).check()
	if err == nil || !strings.Contains(err.Error(), "ottoctl login") || exitCode(err) != ExitUsage {
		t.Errorf("check() without key = %v, want a usage error naming ottoctl login", err)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	got, _ := defaultConfigPath(env(map[string]string{"HOME": "/home/u"}))
	if got != "/home/u/.config/otto/ctl.toml" {
		t.Errorf("defaultConfigPath(HOME) = %q", got)
	}
	got, _ = defaultConfigPath(env(map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/xdg"}))
	if got != "/xdg/otto/ctl.toml" {
		t.Errorf("defaultConfigPath(XDG) = %q", got)
	}
	got, _ = defaultConfigPath(env(map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "relative"}))
	if got != "/home/u/.config/otto/ctl.toml" {
		t.Errorf("defaultConfigPath(relative XDG) = %q, want the HOME one (XDG must be absolute)", got)
	}
}

func TestConfigSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "otto", "ctl.toml")
	if _, err := loadConfig(path); !errors.Is(err, ErrNoConfig) {
		t.Errorf("loadConfig(missing) = %v, want ErrNoConfig", err)
	}
	cf := configFile{URL: "https://otto.example", Username: "admin", APIKey: "k3y\"quoted"}
	if err := saveConfig(path, cf); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := loadConfig(path)
	if err != nil || got != cf {
		t.Errorf("loadConfig = %+v, %v; want %+v", got, err, cf)
	}
	// Saving again replaces the file; no temporary files are left.
	cf.APIKey = "new"
	if err := saveConfig(path, cf); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("config dir holds %d entries, want 1 (no temporaries)", len(ents))
	}
	// A symlink in the way is not replaced.
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if err := saveConfig(link, cf); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("saveConfig(symlink) = %v, want a refusal", err)
	}
}

func TestConfigLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{"url = \"https://x\"\napi_kee = \"k\"\n", "unknown keys api_kee"},
		{"url = https://x\n", "fix the file"},
	} {
		path := filepath.Join(dir, "ctl.toml")
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfig(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("loadConfig(%q) = %v, want an error naming the file and %q", tc.body, err, tc.want)
		}
	}
}

// TestConfigPrecedenceThroughCommand checks the chain end to end: a
// command finds the config file through XDG_CONFIG_HOME, and a flag beats
// the variable, which beats the file.
func TestConfigPrecedenceThroughCommand(t *testing.T) {
	home := isolate(t)
	path := filepath.Join(home, ".config", "otto", "ctl.toml")
	if err := saveConfig(path, configFile{URL: "ftp://from-file"}); err != nil {
		t.Fatal(err)
	}
	r := ctlRun(t, "", "hosts", "ls")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "ftp://from-file") {
		t.Errorf("with the file: %+v, want a usage error naming the file's URL", r)
	}
	t.Setenv(envURL, "ftp://from-env")
	r = ctlRun(t, "", "hosts", "ls")
	if !strings.Contains(r.stderr, "ftp://from-env") {
		t.Errorf("with the variable: %+v, want the variable's URL", r)
	}
	r = ctlRun(t, "", "hosts", "ls", "--url", "ftp://from-flag")
	if !strings.Contains(r.stderr, "ftp://from-flag") {
		t.Errorf("with the flag after the command: %+v, want the flag's URL", r)
	}
	r = ctlRun(t, "", "--url", "ftp://from-root-flag", "hosts", "ls")
	if !strings.Contains(r.stderr, "ftp://from-root-flag") {
		t.Errorf("with the flag before the command: %+v, want the flag's URL", r)
	}
	t.Setenv(envConfig, filepath.Join(home, "nope.toml"))
	r = ctlRun(t, "", "hosts", "ls")
	if !strings.Contains(r.stderr, "ftp://from-env") {
		t.Errorf("with OTTO_CTL_CONFIG: %+v", r)
	}
}
