package ctl

import (
	"encoding/json"
	"time"
)

// The shapes of the REST API, as ottoctl reads and writes them. The JSON
// field names are the API's (the Go field names of otto 0.x), and they are
// also what --json prints: a script that parses ottoctl's JSON parses the
// API's. Fields the API adds later are dropped until they are added here,
// so --json output only changes when ottoctl does.

// Variable is one environment variable. A secret's value is never sent by
// the server; sending it back empty keeps the stored value.
type Variable struct {
	Key    string
	Value  string
	Secret bool
}

// Host is a machine running the otto client.
type Host struct {
	ID            int64
	Name          string
	Address       string
	Port          uint32
	PSK           string // shown to admins only
	LastPSKRotate time.Time
	GroupIDs      []int64
	Environment   []Variable
	Enabled       bool
	Created       time.Time
}

// hostRequest is the body of a host create or edit.
type hostRequest struct {
	Name        string
	Address     string
	Port        uint32
	PSK         string
	GroupIDs    []int64
	Environment []Variable
	Enabled     *bool `json:",omitempty"`
}

// HostStatus is a host's reachability, the answer of a heartbeat.
type HostStatus struct {
	HostID      int64
	Address     string
	IsReachable bool
	LastAttempt time.Time
	LastReply   time.Time
	Error       string
	Version     string
	Properties  map[string]string
}

// Group is a named set of hosts and the scripts they may run.
type Group struct {
	ID          int64
	Name        string
	ScriptIDs   []int64
	Environment []Variable
}

type groupRequest struct {
	Name        string
	ScriptIDs   []int64
	Environment []Variable
}

// RunAs says which user a script runs as, or owns an attachment.
type RunAs struct {
	Inherit bool
	UID     uint32
	GID     uint32
}

// Script is something to run on hosts.
type Script struct {
	ID               int64
	Name             string
	Executable       string
	Script           string
	Environment      []Variable
	RunAs            RunAs
	WorkingDirectory string
	AfterExecution   string
	AttachmentIDs    []int64
	Enabled          bool
}

type scriptRequest struct {
	Name             string
	Executable       string
	Script           string
	Environment      []Variable
	RunAs            RunAs
	WorkingDirectory string
	AfterExecution   string
	AttachmentIDs    []int64
	Enabled          *bool `json:",omitempty"`
}

// Attachment is a file placed on the host before a script runs.
type Attachment struct {
	ID       int64
	Name     string
	Path     string
	Owner    RunAs
	Mode     uint32 // permission bits: 420 is 0644
	Size     int64
	Checksum string // hex SHA-256 of the data
	Created  time.Time
	Modified time.Time
}

// Schedule runs a script on a cron pattern.
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

type scheduleRequest struct {
	Name     string
	ScriptID int64
	Scope    Scope
	Pattern  string
	Enabled  *bool `json:",omitempty"`
}

// Rule is a registration rule: a registering host whose properties match
// every clause goes into GroupID.
type Rule struct {
	ID      int64
	Name    string
	Clauses []Clause
	GroupID int64
	Order   int
}

// Clause matches one host property with a regular expression.
type Clause struct {
	Property string
	Pattern  string
}

type ruleRequest struct {
	Name    string
	Clauses []Clause
	GroupID int64
	Order   int
}

// User is someone who signs in or calls the API.
type User struct {
	ID                 int64
	Username           string
	Email              string
	Role               string
	CanLogIn           bool
	MustChangePassword bool
	Created            time.Time
	LastLogin          time.Time
}

// userRequest is a user create or edit; on an edit, nil fields and an
// empty Password or Role stay as they are.
type userRequest struct {
	Username           string  `json:",omitempty"`
	Email              *string `json:",omitempty"`
	Password           string  `json:",omitempty"`
	Role               string  `json:",omitempty"`
	CanLogIn           *bool   `json:",omitempty"`
	MustChangePassword *bool   `json:",omitempty"`
}

// APIKey is a newly issued API key, shown once.
type APIKey struct {
	Username string
	APIKey   string
}

// Event is one entry of the audit log.
type Event struct {
	ID      int64
	Time    time.Time
	Type    string
	User    string
	Details map[string]string
}

// Run states.
const (
	statePending  = "pending"
	stateRunning  = "running"
	stateDone     = "done"     // the script ran: see ExitCode and Success
	stateFailed   = "failed"   // it could not run: see Error
	stateCanceled = "canceled" // a user canceled it
)

// Run is one script run on one host.
type Run struct {
	ID         int64
	BatchID    string
	ScriptID   int64
	ScriptName string
	HostID     int64
	HostName   string
	StartedBy  string
	ScheduleID int64
	State      string
	Started    time.Time
	Finished   time.Time
	Duration   time.Duration // nanoseconds in JSON
	ExitCode   int
	Success    bool
	Error      string
	Stdout     string
	Stderr     string
	Truncated  bool
}

// finished reports whether the run reached a final state.
func (r Run) finished() bool {
	switch r.State {
	case stateDone, stateFailed, stateCanceled:
		return true
	}
	return false
}

// Batch is the answer of POST /api/runs: the runs of one request.
type Batch struct {
	BatchID string
	Runs    []Run
}

type runRequest struct {
	ScriptID int64
	HostIDs  []int64 `json:",omitempty"`
	GroupIDs []int64 `json:",omitempty"`
}

// outputEvent is the data of an SSE "output" event: new text of one run.
type outputEvent struct {
	RunID    int64
	HostID   int64
	HostName string
	Stream   string // "stdout" or "stderr"
	Data     string
}

type loginRequest struct {
	Username string
	Password string
}

// options is the server options object, kept as generic JSON so that
// "options set" can change keys this version of ottoctl does not know.
type options = map[string]any

// rawJSON is an answer kept as it came.
type rawJSON = json.RawMessage
