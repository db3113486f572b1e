package ctl

import (
	"bytes"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenUsers(t *testing.T) {
	var b bytes.Buffer
	users := []apitype.User{{ID: "1", Username: "admin", Role: "admin", CanLogIn: true, LastLogin: t0},
		{ID: "2", Username: "bob", Role: "viewer", Email: "bob@example.com"}}
	must(t, renderUsers(&b, users, gu))
	golden(t, "users.golden", b.String())
}
