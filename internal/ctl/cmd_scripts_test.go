package ctl

import (
	"bytes"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenScripts(t *testing.T) {
	var b bytes.Buffer
	groups := []apitype.Group{{ID: "2", Name: "webservers"}}
	ss := []apitype.Script{
		{ID: "3", Name: "uptime", Executable: "/bin/sh", RunAs: apitype.RunAs{Inherit: true}, Enabled: true, Script: "uptime"},
		{ID: "4", Name: "deploy", Executable: "/bin/bash", RunAs: apitype.RunAs{UID: 0, GID: 0}, AfterExecution: "reboot",
			WorkingDirectory: "/srv", AttachmentIDs: []apitype.ID{"5"}, Script: "#!/bin/bash\nset -e\n./deploy.sh\n"},
	}
	if err := renderScripts(&b, ss); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := renderScript(&b, ss[1], groups, map[apitype.ID]string{"5": "app.conf"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scripts.golden", b.String())
}
