package exec

import (
	"fmt"
	"syscall"
)

// Credential says which user a script runs as, or which user owns a placed
// file.
type Credential struct {
	// Inherit means the client's own user and group: no setuid, no chown.
	// When set, UID and GID are ignored.
	Inherit bool
	// UID and GID are numeric ids, used when Inherit is false. Running as
	// them drops every supplementary group.
	UID, GID uint32
}

// checkCredential reports whether a process with effective ids euid/egid can
// act as c. what names the act for the message ("running as", "giving
// /etc/x to").
//
// Root can take any ids. Anyone else only their own: the setuid (or chown)
// would fail anyway, but failing here gives a message that says what to do
// and guarantees nothing ever runs as the wrong user.
func checkCredential(c Credential, what string, euid, egid int) error {
	if c.Inherit || euid == 0 {
		return nil
	}
	switch {
	case int64(c.UID) != int64(euid):
		return &wrapError{
			msg:      fmt.Sprintf("exec: %s uid %d requires the client to run as root (it runs as uid %d)", what, c.UID, euid),
			sentinel: ErrNeedRoot,
		}
	case int64(c.GID) != int64(egid):
		return &wrapError{
			msg:      fmt.Sprintf("exec: %s gid %d requires the client to run as root (it runs as gid %d)", what, c.GID, egid),
			sentinel: ErrNeedRoot,
		}
	}
	return nil
}

// sysCredential returns the credential to put in SysProcAttr, or nil to run
// as the client's own user. A non-root client asked for its own ids gets nil:
// it may not call setgroups, so it cannot drop its supplementary groups, and
// there is nothing else to change. Call checkCredential first.
func sysCredential(c Credential, euid int) *syscall.Credential {
	if c.Inherit || euid != 0 {
		return nil
	}
	// An empty, non-nil Groups makes the child call setgroups(0, NULL): no
	// supplementary groups are carried over from the client.
	return &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{}}
}
