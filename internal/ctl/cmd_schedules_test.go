package ctl

import (
	"bytes"
	"testing"
)

func TestGoldenSchedules(t *testing.T) {
	var b bytes.Buffer
	n := names{scripts: map[int64]string{3: "backup"}, hosts: map[int64]string{1: "db1"}, groups: map[int64]string{2: "dbservers"}}
	scheds := []Schedule{
		{ID: 1, Name: "nightly", ScriptID: 3, Pattern: "0 3 * * *", Scope: Scope{HostIDs: []int64{1}, GroupIDs: []int64{2}}, Enabled: true, LastRun: t0},
		{ID: 2, Name: "never", ScriptID: 99, Pattern: "@yearly"},
	}
	must(t, renderSchedules(&b, scheds, n, gu))
	golden(t, "schedules.golden", b.String())
}
