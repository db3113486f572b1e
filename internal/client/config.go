package client

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Defaults for the config keys that may be left out.
const (
	// DefaultListenAddr is where the client listens when listen_addr is not
	// set: every IPv4 address, on protocol 2's port.
	DefaultListenAddr = "0.0.0.0:12444"

	// DefaultPath is the PATH scripts get when the config has no path: the
	// usual system directories, so that a script can call ls or systemctl
	// without spelling out where they are.
	DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

	// DefaultOutputLimit caps each of a script's stdout and stderr, in bytes,
	// when output_limit is not set: 64 MiB, enough for any log a person
	// reads, small enough that a runaway script cannot exhaust memory.
	DefaultOutputLimit = 64 << 20

	// DefaultRequestMemory bounds, when request_memory is not set, the bytes
	// of request frames read but not yet authenticated, summed over every
	// connection: 256 MiB holds the largest frame a server may send
	// (wire.MaxFrameLen, 128 MiB) twice over, while a hostile network can
	// no longer make a client read 128 MiB per connection it opens. The
	// memory this takes is a few times the bytes read; docs/client.md has
	// the numbers.
	DefaultRequestMemory = 256 << 20
)

// ErrNoConfig means the config file does not exist, and neither does a 0.x
// otto_client.conf to upgrade from. It is kept apart from a config that
// exists but is wrong: the first calls for "otto client setup" or
// registration, the second for an edit.
var ErrNoConfig = errors.New("no config file")

// PSK is a pre-shared key. It prints and logs as REDACTED, so that a
// Config or an error that carries one never shows it; string(psk) is the key.
type PSK string

// String returns "REDACTED", never the key.
func (PSK) String() string { return "REDACTED" }

// GoString returns "REDACTED", never the key (for %#v).
func (PSK) GoString() string { return "REDACTED" }

// LogValue returns "REDACTED", never the key.
func (PSK) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// MarshalJSON returns "REDACTED", never the key, for JSON logs. (The TOML
// encoder does not use it, so a saved config keeps its key.)
func (PSK) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }

// Config is the client's configuration, as its TOML file holds it. The
// comments give each key's name in the file.
type Config struct {
	// ListenAddr is the TCP address to listen on (listen_addr), host:port.
	// "" means DefaultListenAddr. Use "[::]:12444" for IPv6 (which on most
	// systems also accepts IPv4).
	ListenAddr string `toml:"listen_addr"`

	// PSK is the pre-shared key that seals every frame (psk). Required.
	PSK PSK `toml:"psk"`

	// AllowFrom lists the networks, in CIDR form, whose connections are
	// accepted (allow_from); a bare address stands for itself alone. nil
	// (the key left out) means every address.
	AllowFrom []string `toml:"allow_from,omitempty"`

	// DefaultUID and DefaultGID (default_uid, default_gid) are the user and
	// group that scripts whose RunAs says Inherit run as. nil means the
	// client's own. They are set by 0.x configs, which ran every such script
	// as them.
	DefaultUID *uint32 `toml:"default_uid,omitempty"`
	DefaultGID *uint32 `toml:"default_gid,omitempty"`

	// Path is the PATH scripts get (path), unless the script's own
	// environment has one. "" means DefaultPath.
	Path string `toml:"path,omitempty"`

	// LogPath is the file the client logs to (log_path). "" means stderr.
	LogPath string `toml:"log_path,omitempty"`

	// RebootCommand and ShutdownCommand are the programs, with their
	// arguments, that reboot and power off the host (reboot_command,
	// shutdown_command). No shell is involved. A name without a slash is
	// looked up in the client's PATH, then in /sbin and /usr/sbin. nil
	// means "shutdown -r now" and "shutdown -h now" ("shutdown -p now" on
	// the BSDs).
	RebootCommand   []string `toml:"reboot_command,omitempty"`
	ShutdownCommand []string `toml:"shutdown_command,omitempty"`

	// OutputLimit caps each of a script's stdout and stderr, in bytes
	// (output_limit); past it the script keeps running and further output
	// is dropped with a marker. 0 means DefaultOutputLimit.
	OutputLimit int `toml:"output_limit,omitempty"`

	// RequestMemory bounds the bytes of request frames the client has read
	// and not yet authenticated, summed over all connections
	// (request_memory). Past the first 64 KiB of a frame, each byte read
	// counts against it until the frame authenticates or fails; a read
	// that finds it used up fails and its connection is closed. 0 means
	// DefaultRequestMemory.
	RequestMemory int64 `toml:"request_memory,omitempty"`

	allow []netip.Prefix // AllowFrom parsed; nil means everyone
}

// configKeys are the keys a config file may hold, for the message that
// rejects any other.
const configKeys = "listen_addr, psk, allow_from, default_uid, default_gid, path, log_path, reboot_command, shutdown_command, output_limit, request_memory"

// LoadConfig reads the TOML config file at path, checks it and fills in the
// defaults. A missing file is an error matching ErrNoConfig. Any other error
// names the file, the key and what to do about it.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("client config %s: %w", path, ErrNoConfig)
	}
	if err != nil {
		return Config{}, fmt.Errorf("client config %s: %w", path, err)
	}
	return parseConfig(path, data)
}

// parseConfig decodes and checks data, the contents of the file at path.
func parseConfig(path string, data []byte) (Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			where := fmt.Sprintf("line %d", pe.Position.Line)
			if pe.LastKey != "" {
				where += ", " + pe.LastKey
			}
			return Config{}, fmt.Errorf("client config %s: %s: %s; fix that line", path, where, strings.TrimSuffix(pe.Message, "."))
		}
		return Config{}, fmt.Errorf("client config %s: %v; fix the value's type", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return Config{}, fmt.Errorf("client config %s: unknown key %q; remove it (known keys: %s)", path, keys[0].String(), configKeys)
	}
	if md.IsDefined("allow_from") && len(c.AllowFrom) == 0 {
		return Config{}, fmt.Errorf("client config %s: allow_from is empty, which would refuse every server; list networks such as [\"10.0.0.0/8\"], or remove the key to allow all", path)
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("client config %s: %w", path, err)
	}
	return c, nil
}

// check validates c and fills in its defaults and parsed fields. Its errors
// name the key and the fix; the caller adds the file.
func (c *Config) check() error {
	if c.PSK == "" {
		return errors.New(`psk is empty; run "otto client setup"`)
	}
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if err := checkListenAddr(c.ListenAddr); err != nil {
		return fmt.Errorf("listen_addr %q: %v; use host:port, such as %q or \"[::]:12444\"", c.ListenAddr, err, DefaultListenAddr)
	}
	c.allow = nil
	for _, s := range c.AllowFrom {
		p, err := parseAllow(s)
		if err != nil {
			return fmt.Errorf("allow_from %q is not a network; use CIDR notation, such as \"10.0.0.0/8\" or \"2001:db8::/32\"", s)
		}
		c.allow = append(c.allow, p)
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.OutputLimit < 0 {
		return fmt.Errorf("output_limit %d is negative; give a size in bytes, or remove the key for %d", c.OutputLimit, DefaultOutputLimit)
	}
	if c.OutputLimit == 0 {
		c.OutputLimit = DefaultOutputLimit
	}
	if c.RequestMemory < 0 {
		return fmt.Errorf("request_memory %d is negative; give a size in bytes, or remove the key for %d", c.RequestMemory, DefaultRequestMemory)
	}
	if c.RequestMemory == 0 {
		c.RequestMemory = DefaultRequestMemory
	}
	for key, argv := range map[string][]string{"reboot_command": c.RebootCommand, "shutdown_command": c.ShutdownCommand} {
		if argv != nil && (len(argv) == 0 || argv[0] == "") {
			return fmt.Errorf("%s is empty; give the program and its arguments, such as [\"/sbin/shutdown\", \"-r\", \"now\"], or remove the key", key)
		}
	}
	return nil
}

func checkListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q is not an IP address", host)
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("%q is not a port", port)
	}
	return nil
}

// parseAllow parses one allow_from entry: a CIDR, or a bare address meaning
// just that address.
func parseAllow(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// allows reports whether a connection from addr may be served.
func (c *Config) allows(addr netip.Addr) bool {
	if c.allow == nil {
		return true
	}
	addr = addr.Unmap() // an IPv4 peer on an IPv6 socket
	for _, p := range c.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// configHeader starts every config file the client writes.
const configHeader = `# otto client configuration; see docs/client.md.
# Keys: listen_addr, psk, allow_from (list of CIDRs, default everyone),
# default_uid, default_gid, path, log_path (default stderr),
# reboot_command, shutdown_command, output_limit (bytes per stream),
# request_memory (bytes of requests not yet authenticated).
# This file holds the PSK: keep it mode 0600.

`

// encodeConfig returns c as the TOML file the client writes.
func encodeConfig(c Config) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(configHeader)
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SaveConfig writes c to path atomically, with mode 0600, creating the
// directory (0755) if needed. It refuses to replace anything that is not a
// regular file.
func SaveConfig(path string, c Config) error {
	return saveConfig(path, c, nil)
}

// saveConfig is SaveConfig; beforeRename is writeFileAtomic's.
func saveConfig(path string, c Config, beforeRename func()) error {
	data, err := encodeConfig(c)
	if err != nil {
		return fmt.Errorf("client config %s: encoding: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	return writeFileAtomic(path, data, beforeRename)
}

// savePSK stores psk in the config file at path, whose current contents
// parse to cur. It replaces only the psk line when it can, so that the
// comments and layout someone gave the file survive a PSK rotation, and
// otherwise writes the whole file anew. beforeRename is writeFileAtomic's.
func savePSK(path string, cur Config, psk PSK, beforeRename func()) error {
	want := cur
	want.PSK = psk
	if old, err := os.ReadFile(path); err == nil {
		if data, ok := replacePSKLine(old, psk); ok {
			if got, err := parseConfig(path, data); err == nil && reflect.DeepEqual(got, want) {
				return writeFileAtomic(path, data, beforeRename)
			}
		}
	}
	return saveConfig(path, want, beforeRename)
}

// replacePSKLine replaces the one "psk = ..." line of a TOML file. It
// reports false when there is not exactly one.
func replacePSKLine(data []byte, psk PSK) ([]byte, bool) {
	// Compiled here, not at init: every role of the binary would pay for a
	// package-level one, for a rare PSK rotation.
	pskLine := regexp.MustCompile(`(?m)^[ \t]*psk[ \t]*=.*$`)
	if len(pskLine.FindAllIndex(data, 2)) != 1 {
		return nil, false
	}
	var line bytes.Buffer
	if err := toml.NewEncoder(&line).Encode(map[string]string{"psk": string(psk)}); err != nil {
		return nil, false
	}
	repl := bytes.TrimRight(line.Bytes(), "\n")
	return pskLine.ReplaceAllLiteral(data, repl), true
}

// writeFileAtomic replaces path with data, mode 0600: a temporary file in
// the same directory is written, chmodded, synced, closed and renamed over
// path, and the directory is synced, so that a crash leaves either the old
// file or the new one. Anything at path that is not a regular file is left
// alone and reported. beforeRename, if not nil, runs once the temporary
// file is complete, before the rename.
func writeFileAtomic(path string, data []byte, beforeRename func()) (err error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("client config %s: not a regular file (%s); refusing to replace it", path, fi.Mode().Type())
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	if beforeRename != nil {
		beforeRename()
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // some file systems cannot sync a directory; the rename is done
		d.Close()
	}
	return nil
}
