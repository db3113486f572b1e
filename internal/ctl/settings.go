package ctl

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Environment variables of the connection settings; each stands behind the
// flag of the same name and before the config file.
const (
	envURL      = "OTTO_URL"
	envUsername = "OTTO_USERNAME"
	envAPIKey   = "OTTO_API_KEY"
	envInsecure = "OTTO_INSECURE"
	envConfig   = "OTTO_CTL_CONFIG"
)

// ErrNoConfig means the config file does not exist. That is no error for
// most commands (flags and variables may say everything); a config file
// that exists but is wrong is.
var ErrNoConfig = errors.New("no config file")

// configFile is ~/.config/otto/ctl.toml, written by "ottoctl login".
type configFile struct {
	URL      string `toml:"url"`
	Username string `toml:"username"`
	APIKey   string `toml:"api_key"`
	Insecure bool   `toml:"insecure,omitempty"`
}

const configKeys = "url, username, api_key, insecure"

// defaultConfigPath is $XDG_CONFIG_HOME/otto/ctl.toml, or
// ~/.config/otto/ctl.toml without XDG_CONFIG_HOME.
func defaultConfigPath(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "otto", "ctl.toml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("finding the config file: %w; pass --config FILE or set %s", err, envConfig)
		}
	}
	return filepath.Join(home, ".config", "otto", "ctl.toml"), nil
}

// loadConfig reads the config file at path. A missing file is an error
// matching ErrNoConfig; any other error names the file and what is wrong.
func loadConfig(path string) (configFile, error) {
	var cf configFile
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, fmt.Errorf("ottoctl config %s: %w", path, ErrNoConfig)
	}
	if err != nil {
		return cf, fmt.Errorf("ottoctl config %s: %w", path, err)
	}
	md, err := toml.Decode(string(data), &cf)
	if err != nil {
		return cf, fmt.Errorf("ottoctl config %s: %v; fix the file or run \"ottoctl login\" to write it again", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return cf, fmt.Errorf("ottoctl config %s: unknown keys %s; the keys are %s", path, strings.Join(keys, ", "), configKeys)
	}
	return cf, nil
}

// saveConfig writes the config file atomically with mode 0600: a temporary
// file in the same directory, synced, then renamed over the old one.
// Anything at path that is not a regular file is left alone.
func saveConfig(path string, cf configFile) error {
	var buf bytes.Buffer
	buf.WriteString("# ottoctl's connection settings, written by \"ottoctl login\". Keep it private (mode 0600).\n")
	if err := toml.NewEncoder(&buf).Encode(cf); err != nil {
		return err
	}
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("ottoctl config %s exists and is not a regular file; not replacing it", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ottoctl config: %w", err)
	}
	f, err := os.CreateTemp(dir, ".ctl.toml.tmp-*")
	if err != nil {
		return fmt.Errorf("ottoctl config: %w", err)
	}
	tmp := f.Name()
	err = func() error {
		if err := f.Chmod(0o600); err != nil {
			return err
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return f.Close()
	}()
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("ottoctl config %s: %w", path, err)
	}
	return nil
}

// connFlags are the connection flags as given on the command line; nil
// means not given.
type connFlags struct {
	URL, Username, APIKey *string
	Insecure              *bool
}

// settings are the resolved connection settings.
type settings struct {
	URL      string
	Username string
	APIKey   string
	Insecure bool
	url      *url.URL
	// fromFile reports that the credentials came from the config file
	// (the messages then say so).
	fromFile bool
}

// resolveSettings picks each setting from the flags, then the environment,
// then the config file. The config file's username and API key are used
// only with the config file's own URL: a key saved for one server is never
// sent to another one named by --url or OTTO_URL.
func resolveSettings(f connFlags, getenv func(string) string, cf configFile) (settings, error) {
	var s settings
	pick := func(flag *string, env string, file string) (string, string) {
		if flag != nil {
			return *flag, "flag"
		}
		if v := getenv(env); v != "" {
			return v, "env"
		}
		return file, "file"
	}
	s.URL, _ = pick(f.URL, envURL, cf.URL)
	s.URL = strings.TrimRight(strings.TrimSpace(s.URL), "/")
	sameServer := cf.URL != "" && s.URL == strings.TrimRight(strings.TrimSpace(cf.URL), "/")
	var fileUser, fileKey string
	if sameServer {
		fileUser, fileKey = cf.Username, cf.APIKey
	}
	var keySource string
	s.Username, _ = pick(f.Username, envUsername, fileUser)
	s.APIKey, keySource = pick(f.APIKey, envAPIKey, fileKey)
	s.fromFile = keySource == "file" && s.APIKey != ""
	switch {
	case f.Insecure != nil:
		s.Insecure = *f.Insecure
	case getenv(envInsecure) != "":
		b, err := strconv.ParseBool(getenv(envInsecure))
		if err != nil {
			return s, usagef("%s=%q is not true or false", envInsecure, getenv(envInsecure))
		}
		s.Insecure = b
	case sameServer:
		s.Insecure = cf.Insecure
	}
	if s.URL != "" {
		u, err := parseServerURL(s.URL)
		if err != nil {
			return s, err
		}
		s.url = u
	}
	return s, nil
}

// parseServerURL checks a server URL: http or https, with a host.
func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("server URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, usagef("server URL %q must start with https:// or http://, for example https://otto.example.com", raw)
	}
	if u.Host == "" {
		return nil, usagef("server URL %q has no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("server URL %q may not have a query or fragment", raw)
	}
	return u, nil
}

// check reports what is missing for calls with an API key.
func (s settings) check() error {
	if s.URL == "" {
		return usagef("no server URL: pass --url, set %s, or run \"ottoctl login --url URL\"", envURL)
	}
	if s.APIKey == "" || s.Username == "" {
		return usagef("no credentials for %s: run \"ottoctl login\", or set %s and %s (or pass --username and --api-key)",
			s.URL, envUsername, envAPIKey)
	}
	return nil
}
