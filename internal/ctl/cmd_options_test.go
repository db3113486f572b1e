package ctl

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenOptions(t *testing.T) {
	raw := `{"General":{"ServerURL":"https://otto.example.com","GlobalEnvironment":[{"Key":"TZ","Value":"UTC","Secret":false}]},
	"Network":{"Timeout":10,"ForceIPVersion":"auto"},"Security":{"RotatePSK":{"Enabled":true,"FrequencyDays":7}}}`
	o, err := decodeOptions([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	must(t, renderOptions(&b, o))
	golden(t, "options.golden", b.String())
}

func TestSetOption(t *testing.T) {
	raw := `{"General":{"ServerURL":"","GlobalEnvironment":null},"Network":{"Timeout":10,"MaxParallel":9007199254740993},"Register":{"Enabled":false,"DefaultGroupID":"VVVanl4_U0as"}}`
	for _, tc := range []struct {
		key, value string
		wantKey    string
		want       string // the options as JSON afterwards
		err        string
	}{
		{"network.timeout", "30", "Network.Timeout", `"Timeout":30`, ""},
		{"Register.Enabled", "true", "Register.Enabled", `"Enabled":true`, ""},
		{"General.ServerURL", "https://x", "General.ServerURL", `"ServerURL":"https://x"`, ""},
		{"General.GlobalEnvironment", `[{"Key":"A","Value":"1"}]`, "General.GlobalEnvironment", `"GlobalEnvironment":[{"Key":"A","Value":"1"}]`, ""},
		{"Register.DefaultGroupID", "3", "Register.DefaultGroupID", `"DefaultGroupID":"3"`, ""},
		{"Network.MaxParallel", "9007199254740995", "Network.MaxParallel", `"MaxParallel":9007199254740995`, ""},
		{"Network.Timeout", "soon", "", "", "is a number"},
		{"Register.Enabled", "maybe", "", "", "true or false"},
		{"Network", "1", "", "", "is a group of options"},
		{"Network.Nope", "1", "", "", `no option "Network.Nope"; the keys of Network are MaxParallel, Timeout`},
		{"Network.Timeout.X", "1", "", "", "is not a group of options"},
	} {
		o, err := decodeOptions([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		key, err := setOption(o, tc.key, tc.value)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("setOption(%q, %q) = %v, want an error with %q", tc.key, tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || key != tc.wantKey {
			t.Errorf("setOption(%q, %q) = %q, %v; want %q", tc.key, tc.value, key, err, tc.wantKey)
			continue
		}
		b, _ := json.Marshal(o)
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("after setOption(%q, %q): %s, want it to contain %s", tc.key, tc.value, b, tc.want)
		}
		if !strings.Contains(string(b), "9007199254740993") && tc.wantKey != "Network.MaxParallel" {
			t.Errorf("a large number lost precision: %s", b)
		}
	}
}

// TestOptionsSetDefaultGroup checks that Register.DefaultGroupID takes a
// group's name or ID and sends its ID, a string.
func TestOptionsSetDefaultGroup(t *testing.T) {
	f := newFakeAPI(t)
	var sent map[string]any
	f.mux.HandleFunc("GET /api/options", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"Register": map[string]any{"Enabled": true, "DefaultGroupID": "1"}})
	})
	f.mux.HandleFunc("GET /api/groups", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []apitype.Group{{ID: "1", Name: "Otto Clients"}, {ID: "VVVanl4_U0as", Name: "webservers"}})
	})
	f.mux.HandleFunc("POST /api/options", func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&sent)
		reply(w, sent)
	})
	f.use(t)
	for _, arg := range []string{"webservers", "VVVanl4_U0as"} {
		r := ctlRun(t, "", "options", "set", "register.defaultgroupid", arg)
		if r.code != 0 || r.stdout != "Register.DefaultGroupID = VVVanl4_U0as\n" {
			t.Errorf("options set Register.DefaultGroupID %s = %+v", arg, r)
		}
		if got := sent["Register"].(map[string]any)["DefaultGroupID"]; got != "VVVanl4_U0as" {
			t.Errorf("options set Register.DefaultGroupID %s sent %v, want the group's ID", arg, got)
		}
	}
	if r := ctlRun(t, "", "options", "set", "Register.DefaultGroupID", "nosuch"); r.code != ExitError || !strings.Contains(r.stderr, `no group with the name or ID "nosuch"`) {
		t.Errorf("options set Register.DefaultGroupID nosuch = %+v", r)
	}
}
