package fleet

import (
	"maps"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire/wiretest"
)

func v(key, value string) domain.Variable { return domain.Variable{Key: key, Value: value} }

func TestRunEnv(t *testing.T) {
	// Group "10" comes after group "9" in ID order (not bytewise).
	groups := map[string]domain.Group{
		"9":  {ID: "9", Environment: domain.Environment{v("G", "group1"), v("ONE", "1")}},
		"10": {ID: "10", Environment: domain.Environment{v("G", "group2"), v("TWO", "2")}},
	}
	host := domain.Host{Address: "127.1.2.3", Port: 12444, GroupIDs: []string{"10", "9"}}
	implicit := map[string]string{
		domain.EnvServerURL: "https://otto:8443", domain.EnvServerVersion: "1.0",
		domain.EnvHostAddress: "127.1.2.3", domain.EnvHostPort: "12444",
	}
	with := func(m map[string]string) map[string]string {
		out := maps.Clone(implicit)
		maps.Copy(out, m)
		return out
	}
	for _, tc := range []struct {
		name   string
		global domain.Environment
		script domain.Environment
		host   domain.Environment
		psk    bool
		noGrp  bool
		want   map[string]string
	}{
		{name: "only implicit", noGrp: true, want: implicit},
		{name: "global", global: domain.Environment{v("X", "g")}, want: with(map[string]string{"X": "g", "G": "group2", "ONE": "1", "TWO": "2"})},
		{
			name:   "script overrides global",
			global: domain.Environment{v("X", "g")}, script: domain.Environment{v("X", "s")},
			want: with(map[string]string{"X": "s", "G": "group2", "ONE": "1", "TWO": "2"}),
		},
		{
			name:   "groups override script, in ID order",
			script: domain.Environment{v("G", "s")},
			want:   with(map[string]string{"G": "group2", "ONE": "1", "TWO": "2"}),
		},
		{
			name:   "host overrides everything it can",
			global: domain.Environment{v("G", "g")}, script: domain.Environment{v("G", "s")}, host: domain.Environment{v("G", "h")},
			want: with(map[string]string{"G": "h", "ONE": "1", "TWO": "2"}),
		},
		{
			name: "nothing overrides the implicit ones",
			host: domain.Environment{v(domain.EnvHostAddress, "evil"), v(domain.EnvServerURL, "evil")},
			want: with(map[string]string{"G": "group2", "ONE": "1", "TWO": "2"}),
		},
		{
			name: "the PSK only when allowed", psk: true,
			host: domain.Environment{v(domain.EnvHostPSK, "spoofed")},
			want: with(map[string]string{"G": "group2", "ONE": "1", "TWO": "2", domain.EnvHostPSK: "the-psk"}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host
			h.Environment = tc.host
			if tc.noGrp {
				h.GroupIDs = nil
			}
			svc := &Service{version: "1.0", serverURL: func() string { return "https://otto:8443" }}
			o := domain.Options{General: domain.GeneralOptions{GlobalEnvironment: tc.global}}
			o.Security.IncludePSKEnv = tc.psk
			h.PSK = "the-psk"
			got := svc.runEnv(o, domain.Script{Environment: tc.script}, groups, h).Map()
			if !maps.Equal(got, tc.want) {
				t.Errorf("runEnv = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestRunEnv_ServerURL(t *testing.T) {
	svc := &Service{serverURL: func() string { return "http://listen:8080" }}
	if got := svc.runEnv(domain.Options{}, domain.Script{}, nil, domain.Host{}).Map()[domain.EnvServerURL]; got != "http://listen:8080" {
		t.Errorf("without the option, %s = %q, want the listen URL", domain.EnvServerURL, got)
	}
	o := domain.Options{General: domain.GeneralOptions{ServerURL: "https://set"}}
	if got := svc.runEnv(o, domain.Script{}, nil, domain.Host{}).Map()[domain.EnvServerURL]; got != "https://set" {
		t.Errorf("with the option, %s = %q, want it", domain.EnvServerURL, got)
	}
}

// TestRun_Environment: the client receives the merged environment.
func TestRun_Environment(t *testing.T) {
	e := newEnv(t, func(o *domain.Options) {
		o.General.GlobalEnvironment = domain.Environment{v("LEVEL", "global"), v("GLOBAL", "yes")}
		o.Security.IncludePSKEnv = true
	})
	c := e.client(wiretest.Config{})
	g1 := e.addGroup("g1", v("LEVEL", "g1"))
	g2 := e.addGroup("g2", v("LEVEL", "g2"), v("G2", "yes"))
	h := e.addHost(c, func(h *domain.Host) {
		h.GroupIDs = []string{g2.ID, g1.ID}
		h.Environment = domain.Environment{v("HOST", "yes")}
	})
	s := e.addScript("env LEVEL\nenv "+domain.EnvHostPSK, func(s *domain.Script) { s.Environment = domain.Environment{v("LEVEL", "script")} })
	run := e.wait(e.startRun(s, h)[0].ID)
	if want := "LEVEL=g2\n" + domain.EnvHostPSK + "=" + testPSK + "\n"; run.Stdout != want {
		t.Errorf("script printed %q, want %q", run.Stdout, want)
	}
	got := c.LastScript().Environment
	for k, want := range map[string]string{
		"GLOBAL": "yes", "G2": "yes", "HOST": "yes", domain.EnvServerVersion: "9.9.9-test",
		domain.EnvServerURL: "https://otto.example:8443", domain.EnvHostAddress: h.Address,
	} {
		if got[k] != want {
			t.Errorf("client got %s=%q, want %q", k, got[k], want)
		}
	}
}
