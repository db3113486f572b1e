package ctl

import (
	"bytes"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenGroups(t *testing.T) {
	var b bytes.Buffer
	groups := []apitype.Group{{ID: "1", Name: "Otto Clients"}, {ID: "2", Name: "webservers", ScriptIDs: []apitype.ID{"3", "4"}}}
	scripts := map[apitype.ID]string{"3": "uptime", "4": "deploy"}
	if err := renderGroups(&b, groups, map[string][]apitype.ID{"1": {"1", "2", "3"}, "2": {"1"}}, scripts); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := renderGroup(&b, groups[1], []apitype.Host{{Name: "web2"}, {Name: "web1"}}, scripts); err != nil {
		t.Fatal(err)
	}
	golden(t, "groups.golden", b.String())
}
