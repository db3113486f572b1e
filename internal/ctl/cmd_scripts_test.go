package ctl

import (
	"bytes"
	"testing"
)

func TestGoldenScripts(t *testing.T) {
	var b bytes.Buffer
	groups := []Group{{ID: 2, Name: "webservers"}}
	ss := []Script{
		{ID: 3, Name: "uptime", Executable: "/bin/sh", RunAs: RunAs{Inherit: true}, Enabled: true, Script: "uptime"},
		{ID: 4, Name: "deploy", Executable: "/bin/bash", RunAs: RunAs{UID: 0, GID: 0}, AfterExecution: "reboot",
			WorkingDirectory: "/srv", AttachmentIDs: []int64{5}, Script: "#!/bin/bash\nset -e\n./deploy.sh\n"},
	}
	if err := renderScripts(&b, ss); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := renderScript(&b, ss[1], groups, map[int64]string{5: "app.conf"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scripts.golden", b.String())
}
