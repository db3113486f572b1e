package exec

import (
	"errors"
	"testing"
)

func TestCheckCredential(t *testing.T) {
	tests := []struct {
		cred       Credential
		euid, egid int
		want       string // "" for allowed
	}{
		{Credential{Inherit: true}, 1000, 1000, ""},
		{Credential{Inherit: true, UID: 5}, 1000, 1000, ""},
		{Credential{UID: 1000, GID: 1000}, 1000, 1000, ""},
		{Credential{UID: 1000, GID: 1000}, 0, 0, ""},
		{Credential{UID: 0, GID: 0}, 0, 0, ""},
		{Credential{UID: 1000, GID: 1000}, 1001, 1000, "exec: running as uid 1000 requires the client to run as root (it runs as uid 1001)"},
		{Credential{UID: 1000, GID: 50}, 1000, 1000, "exec: running as gid 50 requires the client to run as root (it runs as gid 1000)"},
		{Credential{}, 1000, 1000, "exec: running as uid 0 requires the client to run as root (it runs as uid 1000)"},
	}
	for _, tt := range tests {
		err := checkCredential(tt.cred, "running as", tt.euid, tt.egid)
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrNeedRoot) {
				t.Errorf("checkCredential(%+v, %d, %d) = %v, not ErrNeedRoot", tt.cred, tt.euid, tt.egid, err)
			}
		}
		if got != tt.want {
			t.Errorf("checkCredential(%+v, %d, %d) = %q, want %q", tt.cred, tt.euid, tt.egid, got, tt.want)
		}
	}
}

func TestSysCredential(t *testing.T) {
	if c := sysCredential(Credential{Inherit: true}, 0); c != nil {
		t.Errorf("sysCredential(inherit, root) = %+v, want nil", c)
	}
	if c := sysCredential(Credential{UID: 1000, GID: 1000}, 1000); c != nil {
		t.Errorf("sysCredential(own ids, non-root) = %+v, want nil (a non-root process cannot setgroups)", c)
	}
	c := sysCredential(Credential{UID: 7, GID: 8}, 0)
	if c == nil || c.Uid != 7 || c.Gid != 8 || c.Groups == nil || len(c.Groups) != 0 || c.NoSetGroups {
		t.Errorf("sysCredential(7:8, root) = %+v, want uid 7, gid 8, empty non-nil Groups", c)
	}
}
