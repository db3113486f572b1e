package serve

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is how a server runs. It comes from the defaults, then the
// config file, then the flags (or their OTTO_* environment twins), each
// overriding the last.
type Config struct {
	DataDir     string `toml:"data_dir"`
	Listen      string `toml:"listen"`
	TLSCert     string `toml:"tls_cert"`
	TLSKey      string `toml:"tls_key"`
	Verbose     bool   `toml:"verbose"`
	NoScheduler bool   `toml:"no_scheduler"`

	// AdminPassword, from OTTO_ADMIN_PASSWORD, is the first admin's
	// password on a new data directory. Never in the config file.
	AdminPassword string `toml:"-"`
}

// Defaults.
const (
	DefaultDataDir = "./otto-data"
	DefaultListen  = "127.0.0.1:8080"
)

// DefaultConfig is the configuration without file or flags.
func DefaultConfig() Config {
	return Config{DataDir: DefaultDataDir, Listen: DefaultListen}
}

// ErrNoConfig is returned by LoadConfig for a config file that does not
// exist.
var ErrNoConfig = errors.New("config file does not exist")

// LoadConfig lays the TOML file at path over cfg. Unknown keys are an
// error naming them, so a typo does not pass silently.
func LoadConfig(path string, cfg Config) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, fmt.Errorf("server config %s: %w", path, ErrNoConfig)
	}
	if err != nil {
		return cfg, fmt.Errorf("server config %s: %w", path, err)
	}
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("server config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return cfg, fmt.Errorf("server config %s: unknown keys %s; the keys are data_dir, listen, tls_cert, tls_key, verbose, no_scheduler",
			path, strings.Join(keys, ", "))
	}
	return cfg, nil
}

// check reports a configuration that cannot work.
func (c Config) check() error {
	switch {
	case c.DataDir == "":
		return errors.New("the data directory is empty; set --data-dir")
	case c.Listen == "":
		return errors.New("the listen address is empty; set --listen (for example 127.0.0.1:8080)")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("TLS needs both a certificate and a key: set both tls_cert and tls_key, or neither")
	}
	return nil
}
