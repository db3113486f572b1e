package ctl

import (
	"bytes"
	"testing"
)

func TestGoldenRules(t *testing.T) {
	var b bytes.Buffer
	rules := []Rule{{ID: 1, Name: "debian-web", Order: 10, GroupID: 2, Clauses: []Clause{
		{Property: "distribution_name", Pattern: "^debian$"}, {Property: "hostname", Pattern: "^web"}}}}
	must(t, renderRules(&b, rules, map[int64]string{2: "webservers"}))
	golden(t, "rules.golden", b.String())
}
