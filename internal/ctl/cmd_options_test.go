package ctl

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
	raw := `{"General":{"ServerURL":"","GlobalEnvironment":null},"Network":{"Timeout":10},"Register":{"Enabled":false,"DefaultGroupID":9007199254740993}}`
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
		{"Register.DefaultGroupID", "9007199254740995", "Register.DefaultGroupID", `"DefaultGroupID":9007199254740995`, ""},
		{"Network.Timeout", "soon", "", "", "is a number"},
		{"Register.Enabled", "maybe", "", "", "true or false"},
		{"Network", "1", "", "", "is a group of options"},
		{"Network.Nope", "1", "", "", `no option "Network.Nope"; the keys of Network are Timeout`},
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
		if !strings.Contains(string(b), "9007199254740993") && tc.wantKey != "Register.DefaultGroupID" {
			t.Errorf("a large number lost precision: %s", b)
		}
	}
}
