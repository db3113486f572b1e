package domain

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestHostLogNeverShowsPSK logs a host through both slog handlers, alone
// and inside a group, and checks its keys and secret values stay out.
func TestHostLogNeverShowsPSK(t *testing.T) {
	h := Host{ID: "3", Name: "web", Address: "127.0.0.3", Port: 12444, PSK: "the-psk-value", PendingPSK: "the-pending-value",
		Environment: Environment{{Key: "TOKEN", Value: "the-secret-value", Secret: true}}}
	o := DefaultOptions()
	o.Register.Key = "the-register-key"
	for _, newHandler := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(newHandler(&buf))
		log.Info("host", "host", h, "env", h.Environment, "var", h.Environment[0], "options", o)
		if _, ok := newHandler(&bytes.Buffer{}).(*slog.TextHandler); ok {
			// The JSON handler marshals slices with encoding/json, which
			// the store needs to see every field: log hosts one by one.
			log.Info("hosts", "hosts", []Host{h})
		}
		log.Info("printed", "text", fmt.Sprintf("%v %+v %#v %s", h, h, h, []Host{h}))
		log.With("host", h).Warn("with")
		log.Info("user", "user", User{Username: "a", PasswordHash: "the-hash", APIKeyHash: "the-key-hash"})
		out := buf.String()
		for _, secret := range []string{"the-psk-value", "the-pending-value", "the-secret-value", "the-register-key", "the-hash", "the-key-hash"} {
			if strings.Contains(out, secret) {
				t.Errorf("log output shows %s:\n%s", secret, out)
			}
		}
		if !strings.Contains(out, "web") || !strings.Contains(out, "TOKEN") {
			t.Errorf("log output lost the host's name or variable key:\n%s", out)
		}
	}
}

func TestRunEnvironment(t *testing.T) {
	o := DefaultOptions()
	o.General.ServerURL = "https://otto"
	o.General.GlobalEnvironment = Environment{{Key: "A", Value: "global"}, {Key: "B", Value: "global"}, {Key: "OTTO_HOST_PORT", Value: "nope"}}
	sc := Script{Environment: Environment{{Key: "B", Value: "script"}, {Key: "C", Value: "script", Secret: true}}}
	groups := []Group{
		{ID: "1", Environment: Environment{{Key: "C", Value: "group1"}, {Key: "D", Value: "group1"}}},
		{ID: "VVVanl4_U0as", Environment: Environment{{Key: "D", Value: "group2"}}},
		{ID: "3", Environment: Environment{{Key: "E", Value: "not the host's group"}}},
	}
	h := Host{Address: "127.0.0.1", Port: 0, PSK: "k", GroupIDs: []string{"VVVanl4_U0as", "1"}, Environment: Environment{{Key: "A", Value: "host"}}}
	got := RunEnvironment(o, sc, groups, h, "1.2.3")
	want := Environment{
		{Key: "A", Value: "host"}, {Key: "B", Value: "script"}, {Key: "OTTO_HOST_PORT", Value: "12444"},
		{Key: "C", Value: "group1", Secret: true}, {Key: "D", Value: "group1"},
		{Key: "OTTO_SERVER_URL", Value: "https://otto"}, {Key: "OTTO_SERVER_VERSION", Value: "1.2.3"}, {Key: "OTTO_HOST_ADDRESS", Value: "127.0.0.1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunEnvironment() =\n%v, want\n%v", got, want)
	}
	o.Security.IncludePSKEnv = true
	got = RunEnvironment(o, sc, groups, h, "1.2.3")
	if last := got[len(got)-1]; last != (Variable{Key: EnvHostPSK, Value: "k", Secret: true}) {
		t.Errorf("with IncludePSKEnv, last variable = %+v, want a secret OTTO_HOST_PSK", last)
	}
	if m := got.Masked(); m[len(m)-1].Value != "" || m[3].Value != "" || m[0].Value != "host" {
		t.Errorf("Masked() = %v, want secret values empty", m)
	}
}

func TestKeepSecrets(t *testing.T) {
	old := Environment{{Key: "S", Value: "kept", Secret: true}, {Key: "P", Value: "plain"}}
	for _, tt := range []struct {
		edited, want Environment
	}{
		{Environment{{Key: "S", Secret: true}}, Environment{{Key: "S", Value: "kept", Secret: true}}},
		{Environment{{Key: "S", Value: "new", Secret: true}}, Environment{{Key: "S", Value: "new", Secret: true}}},
		{Environment{{Key: "S"}}, Environment{{Key: "S"}}},                             // no longer secret: empty means empty
		{Environment{{Key: "P", Secret: true}}, Environment{{Key: "P", Secret: true}}}, // was not secret
		{nil, Environment{}},
	} {
		if got := keepSecrets(old, tt.edited); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("keepSecrets(%v) = %v, want %v", tt.edited, got, tt.want)
		}
	}
}

func TestMatchRule(t *testing.T) {
	rules := []RegisterRule{
		{ID: "1", GroupID: "10", Order: 2, Clauses: []RegisterClause{{Property: "hostname", Pattern: "^web"}}},
		{ID: "2", GroupID: "20", Order: 1, Clauses: []RegisterClause{{Property: "hostname", Pattern: "^web"}, {Property: "distribution_name", Pattern: "(?i)debian"}}},
		{ID: "VVVanl4_U0as", GroupID: "50", Order: 1, Clauses: []RegisterClause{{Property: "kernel_name", Pattern: "FreeBSD"}}},
		{ID: "10", GroupID: "30", Order: 1, Clauses: []RegisterClause{{Property: "kernel_name", Pattern: "FreeBSD"}}},
		{ID: "9", GroupID: "40", Order: 1, Clauses: []RegisterClause{{Property: "kernel_name", Pattern: "FreeBSD"}}},
	}
	for _, tt := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"hostname": "web1", "distribution_name": "Debian"}, "20"}, // order 1 beats order 2
		{map[string]string{"hostname": "web1", "distribution_name": "alpine"}, "10"}, // not every clause of rule 2
		{map[string]string{"hostname": "db1", "kernel_name": "FreeBSD"}, "40"},       // same order: first ID, 9 before 10 and imported ones
		{map[string]string{"hostname": "db1"}, "99"},                                 // none: the default
	} {
		if got := MatchRule(rules, tt.props, "99"); got != tt.want {
			t.Errorf("MatchRule(%v) = %q, want %q", tt.props, got, tt.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"0644", 0o644, true}, {"644", 0o644, true}, {"0o755", 0o755, true}, {"4755", 0o4755, true}, {"0", 0, true},
		{"0999", 0, false}, {"", 0, false}, {"rwx", 0, false}, {"17777", 0, false}, {"-1", 0, false},
	} {
		got, err := ParseMode(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseMode(%q) = %o, %v, want %o, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"127.0.0.1", "127.0.0.1", true}, {" Web-1.Example.COM ", "web-1.example.com", true}, {"::1", "::1", true},
		{"[2001:db8::1]", "2001:db8::1", true}, {"host_name", "host_name", true},
		{"", "", false}, {"http://x", "", false}, {"a b", "", false}, {"-bad.example", "", false}, {"a..b", "", false},
	} {
		got, err := checkAddress(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("checkAddress(%q) = %q, %v, want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseCron(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"* * * * *", true}, {"0 3 * * 1-5", true}, {"@hourly", true}, {"@every 5m", true},
		{"* * * * * *", false}, {"60 * * * *", false}, {"TZ=UTC * * * * *", false}, {"", false}, {"bogus", false},
	} {
		if _, err := ParseCron(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseCron(%q) error = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	// In list order: decimal IDs by value, then the others bytewise.
	ordered := []string{"0", "1", "2", "9", "10", "11", "99", "100", "18446744073709551616", "123456789012345678901234567890",
		"", "-Ab.9_xyzQ12", ".", "00", "01", "1 ", "1.5", "10a", "1a", "VVVanl4_U0as", "Z", "_", "a", "ab", "b"}
	for i, a := range ordered {
		for j, b := range ordered {
			want := cmp.Compare(i, j)
			if got := CompareIDs(a, b); got != want {
				t.Errorf("CompareIDs(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	shuffled := slices.Clone(ordered)
	slices.Reverse(shuffled)
	shuffled[0], shuffled[7] = shuffled[7], shuffled[0]
	if slices.SortFunc(shuffled, CompareIDs); !slices.Equal(shuffled, ordered) {
		t.Errorf("slices.SortFunc(ids, CompareIDs) = %q, want %q", shuffled, ordered)
	}
}
