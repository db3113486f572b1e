package domain

import "time"

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
	ID      int64
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
	GroupIDs        []int64
	Environment     Environment
	Enabled         bool
	Created         time.Time
}

// HostStatus is the last known reachability of a host.
type HostStatus struct {
	HostID      int64
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
	ID          int64
	Name        string
	ScriptIDs   []int64
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
	ID               int64
	Name             string
	Executable       string
	Script           string
	Environment      Environment
	RunAs            RunAs
	WorkingDirectory string
	AfterExecution   string
	AttachmentIDs    []int64
	Enabled          bool
}

// Attachment is a file placed on the host before a script runs. Its data
// is the blob BlobKey in the store.
type Attachment struct {
	ID       int64
	Name     string
	Path     string
	Owner    RunAs
	Mode     uint32 // permission bits, e.g. 0o644
	Size     int64
	Checksum string // hex SHA-256 of the data
	BlobKey  string `json:"-"`
	Created  time.Time
	Modified time.Time
}

// Schedule runs a script on a cron pattern (UTC).
type Schedule struct {
	ID       int64
	Name     string
	ScriptID int64
	Scope    Scope
	Pattern  string
	Enabled  bool
	LastRun  time.Time
}

// Scope names hosts directly and through groups.
type Scope struct {
	HostIDs  []int64
	GroupIDs []int64
}

// Properties a registration rule can match.
var RegisterProperties = []string{"hostname", "kernel_name", "kernel_version", "distribution_name", "distribution_version"}

// RegisterRule puts a registering host into GroupID when every clause matches.
type RegisterRule struct {
	ID      int64
	Name    string
	Clauses []RegisterClause
	GroupID int64
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
	ID                 int64
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
	UserID    int64
	Created   time.Time
	Expires   time.Time
	// Partial sessions may only change the password or log out.
	Partial bool
}

// Event is one entry of the audit log.
type Event struct {
	ID      int64
	Time    time.Time
	Type    string
	User    string // who did it ("" for the system, "schedule:N" for schedules)
	Details map[string]string
}

// Run is one script run on one host, kept in the run history.
type Run struct {
	ID         int64
	BatchID    string
	ScriptID   int64
	ScriptName string
	HostID     int64
	HostName   string
	// Who started it: a username, or "schedule:<id>", or "register".
	StartedBy  string
	ScheduleID int64
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
