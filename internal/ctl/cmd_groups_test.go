package ctl

import (
	"bytes"
	"testing"
)

func TestGoldenGroups(t *testing.T) {
	var b bytes.Buffer
	groups := []Group{{ID: 1, Name: "Otto Clients"}, {ID: 2, Name: "webservers", ScriptIDs: []int64{3, 4}}}
	scripts := map[int64]string{3: "uptime", 4: "deploy"}
	if err := renderGroups(&b, groups, map[string][]int64{"1": {1, 2, 3}, "2": {1}}, scripts); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := renderGroup(&b, groups[1], []Host{{Name: "web2"}, {Name: "web1"}}, scripts); err != nil {
		t.Fatal(err)
	}
	golden(t, "groups.golden", b.String())
}
