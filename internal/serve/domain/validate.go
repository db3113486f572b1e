package domain

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen bounds every name (hosts, groups, scripts, ...), in bytes.
const MaxNameLen = 255

// checkName trims a name and checks it is present, short and printable.
func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", Invalidf("%s is required", field)
	case len(name) > MaxNameLen:
		return "", Invalidf("%s is longer than %d bytes", field, MaxNameLen)
	case !utf8.ValidString(name):
		return "", Invalidf("%s is not valid UTF-8", field)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", Invalidf("%s %q contains a control character", field, name)
		}
	}
	return name, nil
}

// checkEnvironment checks the variables of an environment: keys present,
// without "=" or NUL, values without NUL (the kernel could not pass them).
func checkEnvironment(field string, env Environment) error {
	for i, v := range env {
		switch {
		case v.Key == "":
			return Invalidf("%s[%d]: Key is required", field, i)
		case strings.ContainsAny(v.Key, "=\x00"):
			return Invalidf("%s[%d]: Key %q may not contain \"=\" or NUL", field, i, v.Key)
		case strings.ContainsRune(v.Value, 0):
			return Invalidf("%s[%d] (%s): Value may not contain NUL", field, i, v.Key)
		}
	}
	return nil
}

// checkAddress checks a host address: an IP address or a DNS name.
func checkAddress(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", Invalidf("Address is required")
	}
	if ip := net.ParseIP(strings.Trim(addr, "[]")); ip != nil {
		return ip.String(), nil
	}
	if len(addr) > 253 {
		return "", Invalidf("Address %q is longer than 253 bytes", addr)
	}
	for _, label := range strings.Split(strings.TrimSuffix(addr, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", Invalidf("Address %q is neither an IP address nor a host name", addr)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", Invalidf("Address %q is neither an IP address nor a host name", addr)
			}
		}
	}
	return strings.ToLower(addr), nil
}

// checkAbsPath checks an absolute, clean-enough path.
func checkAbsPath(field, p string) error {
	if !path.IsAbs(p) {
		return Invalidf("%s %q must be an absolute path", field, p)
	}
	if strings.ContainsRune(p, 0) {
		return Invalidf("%s may not contain NUL", field)
	}
	return nil
}

// exists checks that every ID in want names a record, using get; the
// error names the field and the first missing ID.
func exists(field, what string, want []string, get func(string) error) error {
	for _, n := range want {
		if err := get(n); err != nil {
			if errors.Is(err, ErrNotFound) {
				return Invalidf("%s: no %s with ID %s", field, what, n)
			}
			return fmt.Errorf("looking up %s %s: %w", what, n, err)
		}
	}
	return nil
}

func groupsExist(tx Tx, field string, gids []string) error {
	return exists(field, "group", gids, func(n string) error { _, err := tx.Group(n); return err })
}

func hostsExist(tx Tx, field string, hids []string) error {
	return exists(field, "host", hids, func(n string) error { _, err := tx.Host(n); return err })
}

func scriptsExist(tx Tx, field string, sids []string) error {
	return exists(field, "script", sids, func(n string) error { _, err := tx.Script(n); return err })
}

func attachmentsExist(tx Tx, field string, aids []string) error {
	return exists(field, "attachment", aids, func(n string) error { _, err := tx.Attachment(n); return err })
}

// names lists up to a few names for a message, then "and N more".
func names(list []string) string {
	const max = 5
	if len(list) <= max {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:max], ", "), len(list)-max)
}
