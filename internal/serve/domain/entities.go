package domain

import (
	"cmp"
	"strings"
	"time"
)

// The JSON names of these types are their Go field names, as in otto 0.x, so
// existing API users keep parsing them. Fields marked "never sent" are
// cleared by the API before a value leaves the server.

// Variable is one environment variable. A secret's value is never sent back.
type Variable struct {
	Key    string
	Value  string
	Secret bool
}

// Environment is an ordered list of variables; later keys override earlier.
type Environment []Variable

// Host is a machine running the otto client.
type Host struct {
	ID      string
	Name    string
	Address string
	Port    uint32
	// PSK is the key the client currently accepts. Shown to admins only.
	PSK string
	// PendingPSK is a key sent to the client whose acknowledgement was not
	// seen yet; the next contact tries PSK, then PendingPSK, and keeps the
	// one that works. Never sent.
	PendingPSK string `json:",omitempty"`
	// PendingSince is when PendingPSK was sent. Never sent.
	PendingSince  *time.Time `json:",omitempty"`
	LastPSKRotate time.Time
	// RotateOnContact asks for a rotation at the next successful contact
	// (set for hosts a user added by hand, whose PSK a person has seen).
	RotateOnContact bool `json:",omitempty"`
	GroupIDs        []string
	Environment     Environment
	Enabled         bool
	Created         time.Time
}

// HostStatus is the last known reachability of a host.
type HostStatus struct {
	HostID      string
	Address     string
	IsReachable bool
	LastAttempt time.Time
	LastReply   time.Time
	// Error says why the last attempt failed ("" when it worked).
	Error      string
	Version    string
	Properties map[string]string
}

// Group is a named set of hosts and the scripts they may run.
type Group struct {
	ID          string
	Name        string
	ScriptIDs   []string
	Environment Environment
}

// RunAs says which user a script runs as on the host.
type RunAs struct {
	Inherit bool
	UID     uint32
	GID     uint32
}

// After-run actions of a script (Script.AfterExecution).
const (
	AfterNone       = ""
	AfterReboot     = "reboot"
	AfterShutdown   = "shutdown"
	AfterExitClient = "exit_client"
	AfterUpdatePSK  = "update_psk"
)

// Script is something to run on hosts.
type Script struct {
	ID               string
	Name             string
	Executable       string
	Script           string
	Environment      Environment
	RunAs            RunAs
	WorkingDirectory string
	AfterExecution   string
	AttachmentIDs    []string
	Enabled          bool
}

// Attachment is a file placed on the host before a script runs. Its data
// is the blob BlobKey in the store.
type Attachment struct {
	ID       string
	Name     string
	Path     string
	Owner    RunAs
	Mode     uint32 // permission bits, e.g. 0o644
	MimeType string // the data's media type, as the uploader gave it
	Size     int64
	Checksum string // hex SHA-256 of the data
	BlobKey  string `json:"-"`
	Created  time.Time
	Modified time.Time
}

// Schedule runs a script on a cron pattern (UTC).
type Schedule struct {
	ID       string
	Name     string
	ScriptID string
	Scope    Scope
	Pattern  string
	Enabled  bool
	LastRun  time.Time
}

// Scope names hosts directly and through groups.
type Scope struct {
	HostIDs  []string
	GroupIDs []string
}

// Properties a registration rule can match.
var RegisterProperties = []string{"hostname", "kernel_name", "kernel_version", "distribution_name", "distribution_version"}

// RegisterRule puts a registering host into GroupID when every clause matches.
type RegisterRule struct {
	ID      string
	Name    string
	Clauses []RegisterClause
	GroupID string
	// Order decides which rule is tried first (lower first, then ID).
	Order int
}

// RegisterClause matches one property with a regular expression.
type RegisterClause struct {
	Property string
	Pattern  string
}

// Roles of a user.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// User is someone who signs in to the web UI or calls the API.
type User struct {
	ID                 string
	Username           string
	Email              string
	Role               string
	PasswordHash       string `json:"-"`
	APIKeyHash         string `json:"-"`
	CanLogIn           bool
	MustChangePassword bool
	Created            time.Time
	LastLogin          time.Time
}

// Session is a signed-in browser. Only the hash of its token is kept.
type Session struct {
	TokenHash string
	UserID    string
	Created   time.Time
	Expires   time.Time
	// Partial sessions may only change the password or log out.
	Partial bool
}

// Event is one entry of the audit log.
type Event struct {
	ID      string
	Time    time.Time
	Type    string
	User    string // who did it ("" for the system, "schedule:N" for schedules)
	Details map[string]string
}

// Run is one script run on one host, kept in the run history.
type Run struct {
	ID         string
	BatchID    string
	ScriptID   string
	ScriptName string
	HostID     string
	HostName   string
	// Who started it: a username, or "schedule:<id>", or "register".
	StartedBy  string
	ScheduleID string
	State      string // RunPending, RunRunning, RunDone, RunFailed, RunCanceled
	Started    time.Time
	Finished   time.Time
	Duration   time.Duration
	ExitCode   int
	Success    bool
	// Error is why the run could not happen or finish (unreachable host, ...).
	Error  string
	Stdout string
	Stderr string
	// Truncated reports output cut at the configured cap.
	Truncated bool
}

// Run states.
const (
	RunPending  = "pending"
	RunRunning  = "running"
	RunDone     = "done"     // the script ran; see ExitCode and Success
	RunFailed   = "failed"   // it could not run (see Error)
	RunCanceled = "canceled" // a user canceled it
)

// CompareIDs orders IDs as lists are ordered: IDs that are decimal numbers
// (the ones this server assigns) first, by value, then the others (such as
// imported 0.x IDs) bytewise. It returns -1, 0 or +1, for slices.SortFunc.
func CompareIDs(a, b string) int {
	da, db := isDecimal(a), isDecimal(b)
	switch {
	case da && db:
		if c := cmp.Compare(len(a), len(b)); c != 0 {
			return c
		}
	case da:
		return -1
	case db:
		return +1
	}
	return strings.Compare(a, b)
}

// isDecimal reports whether id is a decimal number without leading zeros.
func isDecimal(id string) bool {
	if id == "" || len(id) > 1 && id[0] == '0' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
