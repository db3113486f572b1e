// Package apitype is the REST API's contract: the JSON shapes of
// docs/api.md, the envelope every answer comes in, and the route list. The
// server, ottoctl, the web UI, the tests and the benchmarks all read and
// write these types, so a field is named in one place. It imports nothing
// of ours.
//
// The JSON names are the Go field names, as in otto 0.x: existing API
// scripts parse them. Fields that 0.x answered keep their name and JSON
// type; fields this release added come beside them.
package apitype

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
)

// ID names a record. IDs are opaque strings, as in 0.x (whose IDs are
// 12-character nanoids, kept verbatim by an import); new ones are short
// decimal numbers. A request may also send an ID as a JSON number, as this
// release's first clients did; answers always send strings.
type ID string

// UnmarshalJSON accepts a string, a whole number, or null (the empty ID).
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 63)
	if err != nil {
		// A type error, so that encoding/json adds the field's name.
		v := string(b)
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return &json.UnmarshalTypeError{Value: v, Type: reflect.TypeFor[ID]()}
	}
	if n == 0 {
		*id = "" // 0 was this release's "no ID"
		return nil
	}
	*id = ID(strconv.FormatUint(n, 10))
	return nil
}

// Envelope is every /api answer: {"code", "error", "data"}. On success
// Error is {} and Data the answer; on failure Error says what went wrong
// and Data is left out.
type Envelope[T any] struct {
	Code  int   `json:"code"`
	Error Error `json:"error"`
	Data  T     `json:"data,omitempty"`
}

// Error is the error of an Envelope: {} on success.
type Error struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Variable is one environment variable. A secret's value is never sent
// back ("" instead); an edit that sends "" for a secret keeps its value.
type Variable struct {
	Key    string
	Value  string
	Secret bool
}

// RunAs says which user a script runs as, or owns an attachment.
type RunAs struct {
	Inherit bool
	UID     uint32
	GID     uint32
}

// Host is a machine running the otto client.
type Host struct {
	ID            ID
	Name          string
	Address       string
	Port          uint32
	PSK           string // admins only; "" for others
	LastPSKRotate time.Time
	// RotateOnContact: the host gets a new PSK at its next contact.
	RotateOnContact bool
	GroupIDs        []ID
	Environment     []Variable
	Enabled         bool
	Created         time.Time
}

// HostRequest is the body of a host create or edit. The read-only fields
// of Host are accepted and ignored, so a client may send back what it read.
type HostRequest struct {
	ID          ID
	Name        string
	Address     string
	Port        uint32
	PSK         string // "" on an edit keeps the stored one
	GroupIDs    []ID
	Environment []Variable
	Enabled     *bool `json:",omitempty"`

	LastPSKRotate   json.RawMessage `json:",omitempty"`
	Created         json.RawMessage `json:",omitempty"`
	RotateOnContact json.RawMessage `json:",omitempty"`
}

// Heartbeat is a host's last known reachability.
type Heartbeat struct {
	HostID      ID
	Address     string
	IsReachable bool
	LastAttempt time.Time
	LastReply   time.Time
	// Error says why the last attempt failed ("" when it worked).
	Error      string
	Version    string
	Properties map[string]string
}

// HostScript is one script a host can run, and the group it comes from.
type HostScript struct {
	ScriptID   ID
	ScriptName string
	GroupID    ID
	GroupName  string
}

// Group is a named set of hosts and the scripts they may run.
type Group struct {
	ID          ID
	Name        string
	ScriptIDs   []ID
	Environment []Variable
}

// GroupRequest is the body of a group create or edit.
type GroupRequest struct {
	ID          ID
	Name        string
	ScriptIDs   []ID
	Environment []Variable
}

// GroupHostsRequest sets a group's member hosts (0.x's field name).
type GroupHostsRequest struct {
	Hosts []ID
}

// Script is something to run on hosts.
type Script struct {
	ID               ID
	Name             string
	Enabled          bool
	Executable       string
	Script           string
	Environment      []Variable
	RunAs            RunAs
	WorkingDirectory string
	// AfterExecution is done on the host after the script: "", "reboot",
	// "shutdown", "exit_client" or "update_psk".
	AfterExecution string
	AttachmentIDs  []ID
}

// ScriptRequest is the body of a script create or edit.
type ScriptRequest struct {
	ID               ID
	Name             string
	Executable       string
	Script           string
	Environment      []Variable
	RunAs            RunAs
	WorkingDirectory string
	AfterExecution   string
	AttachmentIDs    []ID
	Enabled          *bool `json:",omitempty"`
}

// ScriptGroupsRequest sets the groups a script is in (0.x's field name).
type ScriptGroupsRequest struct {
	Groups []ID
}

// Attachment is a file placed on the host before a script runs.
type Attachment struct {
	ID       ID
	Path     string
	Name     string
	MimeType string
	Owner    RunAs
	Created  time.Time
	Modified time.Time
	// Mode is the permission bits written as the decimal digits of the
	// octal mode, as 0.x and protocol 2 do: 644 is 0644.
	Mode     uint32
	Size     int64
	Checksum string // hex SHA-256 of the data
}

// AttachmentRequest is the JSON body of an attachment metadata edit; nil
// fields stay as they are.
type AttachmentRequest struct {
	ID    ID
	Name  *string `json:",omitempty"`
	Path  *string `json:",omitempty"`
	Owner *RunAs  `json:",omitempty"`
	Mode  *uint32 `json:",omitempty"` // as in Attachment

	MimeType json.RawMessage `json:",omitempty"`
	Size     json.RawMessage `json:",omitempty"`
	Checksum json.RawMessage `json:",omitempty"`
	Created  json.RawMessage `json:",omitempty"`
	Modified json.RawMessage `json:",omitempty"`
}

// Scope names hosts directly and through groups.
type Scope struct {
	HostIDs  []ID
	GroupIDs []ID
}

// Schedule runs a script on a cron pattern (UTC).
type Schedule struct {
	ID          ID
	Name        string
	ScriptID    ID
	Scope       Scope
	Pattern     string
	Enabled     bool
	LastRunTime time.Time
}

// ScheduleRequest is the body of a schedule create or edit.
type ScheduleRequest struct {
	ID       ID
	Name     string
	ScriptID ID
	Scope    Scope
	Pattern  string
	Enabled  *bool `json:",omitempty"`

	LastRunTime json.RawMessage `json:",omitempty"`
}

// RegisterRule puts a registering host into GroupID when every clause
// matches.
type RegisterRule struct {
	ID      ID
	Name    string
	Clauses []RegisterClause
	GroupID ID
	// Order decides which rule is tried first (lower first, then ID).
	Order int
}

// RegisterClause matches one host property with a regular expression.
type RegisterClause struct {
	Property string
	Pattern  string
}

// Roles of a user. Users of 0.x had none; an imported one is an admin.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// User is someone who signs in or calls the API.
type User struct {
	ID                 ID
	Username           string
	Email              string
	Role               string
	CanLogIn           bool
	MustChangePassword bool
	Created            time.Time
	LastLogin          time.Time
}

// UserRequest is a user create or edit; on an edit, nil fields and an
// empty Password or Role stay as they are.
type UserRequest struct {
	ID                 ID      `json:",omitempty"`
	Username           string  `json:",omitempty"`
	Email              *string `json:",omitempty"`
	Password           string  `json:",omitempty"`
	Role               string  `json:",omitempty"`
	CanLogIn           *bool   `json:",omitempty"`
	MustChangePassword *bool   `json:",omitempty"`

	Created   json.RawMessage `json:",omitempty"`
	LastLogin json.RawMessage `json:",omitempty"`
}

// LoginRequest is the body of POST /api/login.
type LoginRequest struct {
	Username string
	Password string
}

// ResetPasswordRequest is the body of POST /api/users/reset_password.
type ResetPasswordRequest struct {
	OldPassword string
	NewPassword string
}

// Event is one entry of the audit log. Event is its type, as in 0.x;
// Type carries the same. User is who did it ("" for the server itself).
type Event struct {
	ID      ID
	Event   string
	Type    string
	Time    time.Time
	User    string
	Details map[string]string
}

// Run states.
const (
	RunPending  = "pending"
	RunRunning  = "running"
	RunDone     = "done"     // the script ran: see ExitCode and Success
	RunFailed   = "failed"   // it could not run: see Error
	RunCanceled = "canceled" // a user canceled it
)

// Run is one script run on one host, kept in the run history.
type Run struct {
	ID         ID
	BatchID    string
	ScriptID   ID
	ScriptName string
	HostID     ID
	HostName   string
	// StartedBy is a username, "schedule:<id>" or "register".
	StartedBy  string
	ScheduleID ID
	State      string
	Started    time.Time
	Finished   time.Time
	Duration   time.Duration // nanoseconds
	ExitCode   int
	Success    bool
	Error      string
	Stdout     string
	Stderr     string
	Truncated  bool
}

// Done reports whether the run reached a final state.
func (r Run) Done() bool {
	switch r.State {
	case RunDone, RunFailed, RunCanceled:
		return true
	}
	return false
}

// RunsRequest is the body of POST /api/runs.
type RunsRequest struct {
	ScriptID ID
	HostIDs  []ID `json:",omitempty"`
	GroupIDs []ID `json:",omitempty"`
}

// Batch is the answer of POST /api/runs and GET /api/runs/batch/{batch}.
type Batch struct {
	BatchID string
	Runs    []Run
}

// Output is the data of a server-sent "output" event: new text of a run.
type Output struct {
	RunID    ID
	HostID   ID
	HostName string
	Stream   string // "stdout" or "stderr"
	Data     string
}

// Server-sent event names of the run streams (GET /api/runs/run/{id}/stream,
// GET /api/runs/batch/{batch}/stream, PUT /api/action/async).
const (
	EventState  = "state"  // data: Run without output, first as it is, then at each change of state
	EventOutput = "output" // data: Output, the output new since the last event
	EventDone   = "done"   // data: Run without output, once the run ended
	EventEnd    = "end"    // data: {}; every run followed has ended, the stream closes
)

// Actions of PUT /api/action/sync, 0.x's names.
const (
	ActionPing       = "ping"
	ActionRunScript  = "run_script"
	ActionExitClient = "exit_client"
	ActionReboot     = "reboot"
	ActionShutdown   = "shutdown"
	ActionUpdatePSK  = "update_psk"
)

// ActionRequest is the body of PUT /api/action/sync.
type ActionRequest struct {
	HostID   ID
	Action   string
	ScriptID ID // for run_script
}

// ScriptResult is a client's result of a script: the seed's JSON names.
type ScriptResult struct {
	Success   bool          `json:"success"`
	ExecError string        `json:"exec_error"`
	Code      int           `json:"code"`
	Stdout    string        `json:"stdout"`
	Stderr    string        `json:"stderr"`
	Elapsed   time.Duration `json:"elapsed"`
}

// RunScriptResult is the data of a run_script action, in 0.x's shape.
type RunScriptResult struct {
	ScriptID ID
	Duration time.Duration
	// Environment is the merged environment, secret values "".
	Environment map[string]string
	Result      ScriptResult
	// RunError says why the script could not run ("" when the client
	// answered, even if the script failed).
	RunError string
	RunID    ID // its record in the run history
}

// SearchRequest is the body of POST /api/search/system.
type SearchRequest struct {
	Query string
}

// SearchResult is one hit of POST /api/search/system.
type SearchResult struct {
	Type string // "host", "group", "script" or "schedule"
	ID   ID
	Name string
}

// SweepResult is the answer of POST /api/heartbeat: one sweep of every
// enabled host.
type SweepResult struct {
	Hosts     int // hosts contacted
	Reachable int // hosts that answered
	Rotated   int // PSKs rotated on the way
	Duration  time.Duration
}

// Runtime says what server answers.
type Runtime struct {
	ServerFQDN string
	Version    string
	Config     string // "<goos>_<goarch>"
}

// State is the answer of GET /api/state: what the web UI needs at start.
type State struct {
	Runtime  Runtime
	User     User
	Enums    map[string][]string
	Warnings []string
	Options  Options
}

// Options are the server options, in 0.x's groups plus Runs.
type Options struct {
	General        GeneralOptions
	Authentication AuthenticationOptions
	Network        NetworkOptions
	Register       RegisterOptions
	Security       SecurityOptions
	Runs           RunOptions
}

type GeneralOptions struct {
	ServerURL         string
	GlobalEnvironment []Variable
}

type AuthenticationOptions struct {
	MaxAgeMinutes int
	SecureOnly    bool
}

type NetworkOptions struct {
	ForceIPVersion     string // "auto", "ipv4", "ipv6"
	Timeout            int    // seconds
	HeartbeatFrequency int    // minutes
	MaxParallel        int
}

type RegisterOptions struct {
	Enabled              bool
	Key                  string // admins only
	DefaultGroupID       ID
	RunScriptsOnRegister bool
}

type SecurityOptions struct {
	IncludePSKEnv bool
	RotatePSK     RotatePSKOptions
}

type RotatePSKOptions struct {
	Enabled       bool
	FrequencyDays int
}

type RunOptions struct {
	OutputMaxBytes int
	HistoryMax     int
	HistoryDays    int
}
