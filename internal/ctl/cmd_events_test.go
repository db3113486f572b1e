package ctl

import (
	"bytes"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenEvents(t *testing.T) {
	var b bytes.Buffer
	events := []apitype.Event{{ID: "9", Time: t0, Type: "HostAdded", User: "admin", Details: map[string]string{"Name": "web 1", "ID": "1"}},
		{ID: "8", Time: t0.Add(-time.Minute), Type: "ServerStarted", Details: map[string]string{"Version": "dev"}}}
	must(t, renderEvents(&b, events, gu))
	golden(t, "events.golden", b.String())
}
