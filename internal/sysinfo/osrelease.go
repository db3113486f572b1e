package sysinfo

import (
	"fmt"
	"io"
	"strings"
)

// maxOSRelease bounds what parseOSRelease reads: real files are under 1 KiB.
const maxOSRelease = 64 << 10

// distributionFrom picks the distribution's name and version from parsed
// os-release variables: NAME, else ID, else "Linux" (the default
// os-release(5) gives NAME); VERSION, else VERSION_ID, else "" (rolling
// releases such as Arch have neither).
func distributionFrom(vars map[string]string) (name, version string) {
	name = firstSet(vars, "NAME", "ID")
	if name == "" {
		name = "Linux"
	}
	return name, firstSet(vars, "VERSION", "VERSION_ID")
}

func firstSet(vars map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := vars[k]; v != "" {
			return v
		}
	}
	return ""
}

// States of parseOSRelease, named after those of systemd's
// parse_env_file_internal, whose behaviour it follows.
const (
	preKey       = iota // at the start of a line
	inKey               // reading a key, before '='
	preValue            // after '=' or a closing quote: blanks are skipped
	inValue             // an unquoted value
	valueEscape         // after '\' in an unquoted value
	singleQuote         // inside '...'
	doubleQuote         // inside "..."
	doubleEscape        // after '\' inside "..."
	comment             // in a '#' or ';' line
)

// parseOSRelease reads an os-release(5) file into its variables. As systemd
// does:
//   - blank lines and lines starting with '#' or ';' are skipped, and so are
//     lines without '=';
//   - a value may be unquoted (a backslash takes the next character
//     literally, trailing blanks are dropped, quotes inside are literal),
//     "double-quoted" (a backslash escapes '"', '\', '`' and '$', escapes a
//     newline away, and is kept before anything else) or 'single-quoted'
//     (taken as it is), and quoted parts can follow each other ("a"'b' is
//     ab);
//   - a quoted value may span lines; an unterminated one runs to the end;
//   - the last assignment of a key wins.
//
// It reads at most 64 KiB and fails on more.
func parseOSRelease(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxOSRelease+1))
	if err != nil {
		return nil, fmt.Errorf("sysinfo: reading os-release: %w", err)
	}
	if len(data) > maxOSRelease {
		return nil, fmt.Errorf("sysinfo: os-release is larger than %d bytes", maxOSRelease)
	}

	vars := map[string]string{}
	var key, value strings.Builder
	trailing := 0 // blanks at the end of value that an unquoted value drops
	state := preKey
	finish := func() {
		if k := strings.TrimRight(key.String(), " \t"); k != "" {
			v := value.String()
			vars[k] = v[:len(v)-trailing]
		}
		key.Reset()
		value.Reset()
		trailing = 0
		state = preKey
	}
	isNewline := func(c byte) bool { return c == '\n' || c == '\r' }
	isBlank := func(c byte) bool { return c == ' ' || c == '\t' }

	for _, c := range data {
		switch state {
		case preKey:
			switch {
			case c == '#' || c == ';':
				state = comment
			case isNewline(c) || isBlank(c):
			default:
				key.WriteByte(c)
				state = inKey
			}
		case inKey:
			switch {
			case c == '=':
				state = preValue
			case isNewline(c): // no '=': not an assignment
				key.Reset()
				state = preKey
			default:
				key.WriteByte(c)
			}
		case preValue:
			switch {
			case isNewline(c):
				finish()
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case isBlank(c):
			default:
				value.WriteByte(c)
				state = inValue
			}
		case inValue:
			switch {
			case isNewline(c):
				finish()
			case c == '\\':
				state = valueEscape
			case isBlank(c):
				value.WriteByte(c)
				trailing++
			default:
				value.WriteByte(c)
				trailing = 0
			}
		case valueEscape:
			state = inValue
			if !isNewline(c) { // backslash-newline continues the line
				value.WriteByte(c)
				trailing = 0
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				value.WriteByte(c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleEscape
			default:
				value.WriteByte(c)
			}
		case doubleEscape:
			state = doubleQuote
			switch {
			case strings.IndexByte("\"\\`$", c) >= 0:
				value.WriteByte(c)
			case c == '\n':
			default:
				value.WriteByte('\\')
				value.WriteByte(c)
			}
		case comment:
			if isNewline(c) {
				state = preKey
			}
		}
	}
	if state != preKey && state != inKey && state != comment {
		finish()
	}
	return vars, nil
}
