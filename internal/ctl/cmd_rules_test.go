package ctl

import (
	"bytes"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenRules(t *testing.T) {
	var b bytes.Buffer
	rules := []apitype.RegisterRule{{ID: "1", Name: "debian-web", Order: 10, GroupID: "2", Clauses: []apitype.RegisterClause{
		{Property: "distribution_name", Pattern: "^debian$"}, {Property: "hostname", Pattern: "^web"}}}}
	must(t, renderRules(&b, rules, map[apitype.ID]string{"2": "webservers"}))
	golden(t, "rules.golden", b.String())
}
