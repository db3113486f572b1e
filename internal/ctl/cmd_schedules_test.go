package ctl

import (
	"bytes"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenSchedules(t *testing.T) {
	var b bytes.Buffer
	n := names{scripts: map[apitype.ID]string{"3": "backup"}, hosts: map[apitype.ID]string{"1": "db1"}, groups: map[apitype.ID]string{"2": "dbservers"}}
	scheds := []apitype.Schedule{
		{ID: "1", Name: "nightly", ScriptID: "3", Pattern: "0 3 * * *", Scope: apitype.Scope{HostIDs: []apitype.ID{"1"}, GroupIDs: []apitype.ID{"2"}}, Enabled: true, LastRunTime: t0},
		{ID: "2", Name: "never", ScriptID: "99", Pattern: "@yearly"},
	}
	must(t, renderSchedules(&b, scheds, n, gu))
	golden(t, "schedules.golden", b.String())
}
