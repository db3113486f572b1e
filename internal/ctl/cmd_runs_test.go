package ctl

import (
	"bytes"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenRuns(t *testing.T) {
	var b bytes.Buffer
	runs := []apitype.Run{
		{ID: "12", BatchID: "b1", ScriptID: "7", ScriptName: "uptime", HostID: "VVVanl4_U0as", HostName: "web1", StartedBy: "admin", State: apitype.RunDone, Success: true,
			Started: t0, Finished: t0.Add(1234 * time.Millisecond), Duration: 1234 * time.Millisecond, Stdout: "up\n"},
		{ID: "13", BatchID: "b1", ScriptName: "uptime", HostName: "web2", StartedBy: "schedule:1", State: apitype.RunDone, ExitCode: 2,
			Started: t0, Duration: 3 * time.Minute, Truncated: true},
		{ID: "14", BatchID: "b1", ScriptName: "uptime", HostName: "web3", StartedBy: "admin", State: apitype.RunFailed,
			Error: "dial tcp: connection refused", Started: t0},
		{ID: "15", BatchID: "b1", ScriptName: "uptime", HostName: "web4", State: apitype.RunRunning, Started: t0},
	}
	must(t, renderRuns(&b, runs, gu))
	b.WriteString("\n")
	r := runs[0]
	r.Stderr = "warning: no tty"
	must(t, renderRun(&b, r, gu))
	b.WriteString("\n")
	must(t, renderSummary(&b, runs))
	golden(t, "runs.golden", b.String())
}
