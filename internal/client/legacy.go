package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The 0.x client kept its config as JSON in its working directory. When the
// TOML config is missing, the client reads that file and writes the TOML
// beside it, so that upgrading a 0.x host is a binary swap.
const (
	legacyConfigName = "otto_client.conf"   // the 0.x JSON, in the working directory
	migratedName     = "otto_client.toml"   // the TOML written beside it
	legacyLogName    = "otto_client.log"    // the 0.x log file, inside its log_path directory
	configNameNoRoot = "./otto_client.toml" // --config default when not root
)

// legacyConfig is the JSON of a 0.x otto_client.conf. Unknown keys are
// ignored: the file was written by another program, and refusing it would
// strand the host on upgrade.
type legacyConfig struct {
	ListenAddr string  `json:"listen_addr"`
	PSK        string  `json:"psk"`
	LogPath    string  `json:"log_path"` // a directory
	DefaultUID *uint32 `json:"default_uid"`
	DefaultGID *uint32 `json:"default_gid"`
	Path       string  `json:"path"`
	AllowFrom  string  `json:"allow_from"` // one CIDR, "" for everyone
}

// loadConfig loads the config at path. If there is none, it looks in dir
// (the working directory) for an otto_client.toml written by an earlier
// upgrade, then for a 0.x otto_client.conf, which it converts and writes as
// otto_client.toml beside it (mode 0600; the JSON is left as it is). It
// returns the config, the file it now lives in (for reloads and PSK
// updates) and, after a conversion, the JSON file it came from.
func loadConfig(path, dir string) (cfg Config, from, migrated string, err error) {
	cfg, err = LoadConfig(path)
	if !errors.Is(err, ErrNoConfig) {
		return cfg, path, "", err
	}
	beside := filepath.Join(dir, migratedName)
	if beside != path {
		if c, err2 := LoadConfig(beside); !errors.Is(err2, ErrNoConfig) {
			return c, beside, "", err2
		}
	}
	legacy := filepath.Join(dir, legacyConfigName)
	data, err2 := os.ReadFile(legacy)
	if errors.Is(err2, fs.ErrNotExist) {
		return Config{}, path, "", err // the original ErrNoConfig
	}
	if err2 != nil {
		return Config{}, path, "", fmt.Errorf("client config %s: %w", legacy, err2)
	}
	cfg, err = convertLegacy(legacy, data)
	if err != nil {
		return Config{}, path, "", err
	}
	if err := SaveConfig(beside, cfg); err != nil {
		return Config{}, path, "", fmt.Errorf("upgrading %s: %w", legacy, err)
	}
	return cfg, beside, legacy, nil
}

// convertLegacy turns the JSON of a 0.x config file at path into a checked
// Config.
func convertLegacy(path string, data []byte) (Config, error) {
	var l legacyConfig
	if err := json.Unmarshal(data, &l); err != nil {
		return Config{}, fmt.Errorf("client config %s: %v; fix the JSON, or write a TOML config with \"otto client setup\"", path, err)
	}
	c := Config{
		ListenAddr: l.ListenAddr,
		PSK:        PSK(l.PSK),
		DefaultUID: l.DefaultUID,
		DefaultGID: l.DefaultGID,
		Path:       l.Path,
	}
	if l.AllowFrom != "" {
		c.AllowFrom = []string{l.AllowFrom}
	}
	if l.LogPath != "" {
		dir, err := filepath.Abs(l.LogPath)
		if err != nil {
			return Config{}, fmt.Errorf("client config %s: log_path %q: %v", path, l.LogPath, err)
		}
		c.LogPath = filepath.Join(dir, legacyLogName)
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("client config %s: %w", path, err)
	}
	return c, nil
}
