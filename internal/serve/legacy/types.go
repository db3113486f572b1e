package legacy

import (
	"fmt"
	"log/slog"
	"time"
)

// The types below mirror the structs otto 0.10.6 gob-encoded into its
// tables (and, for Options, wrote as JSON). gob matches fields by name and
// kind, so names and kinds are fixed by 0.x: they were read off the wire
// type definitions in the fixture's records, and the JSON names are the
// same. Every field 0.x has is kept, even those an importer may ignore.

// Secret is a string 0.x kept in clear (a PSK, the registration key) that
// must not end up in a log: it formats and logs as "REDACTED". Use
// string(s) for the value.
type Secret string

func (Secret) String() string       { return "REDACTED" }
func (Secret) GoString() string     { return `"REDACTED"` }
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Variable is an environment variable (0.x environ.Variable). Value is
// secret when Secret is set, so String and LogValue redact it then.
type Variable struct {
	Key    string
	Value  string
	Secret bool
}

func (v Variable) String() string {
	if v.Secret {
		return v.Key + "=REDACTED"
	}
	return v.Key + "=" + v.Value
}

func (v Variable) LogValue() slog.Value { return slog.StringValue(v.String()) }

func (v Variable) GoString() string {
	if v.Secret {
		v.Value = "REDACTED"
	}
	return fmt.Sprintf("legacy.Variable{Key:%q, Value:%q, Secret:%t}", v.Key, v.Value, v.Secret)
}

// RunAs says which user a script runs as, or an attachment belongs to.
// Inherit means the client's own user, and then UID and GID are unused.
type RunAs struct {
	Inherit bool
	UID     uint32
	GID     uint32
}

// Host is a 0.x host (table host).
type Host struct {
	ID            string
	Name          string
	Address       string // an IPv4 or IPv6 address, or a host name
	Port          uint32
	PSK           Secret
	LastPSKRotate time.Time // zero if never rotated
	Enabled       bool
	GroupIDs      []string
	Environment   []Variable
}

// Group is a 0.x group (table group).
type Group struct {
	ID          string
	Name        string
	ScriptIDs   []string
	Environment []Variable
}

// Script is a 0.x script (table script).
type Script struct {
	ID               string
	Name             string
	Enabled          bool
	Executable       string
	Script           string
	Environment      []Variable
	RunAs            RunAs
	WorkingDirectory string
	AfterExecution   string // "", "reboot" or "shutdown"
	AttachmentIDs    []string
}

// Attachment is a 0.x attachment (table attachment); its bytes are the file
// attachments/<ID> (see Data.AttachmentPath).
type Attachment struct {
	ID       string
	Path     string // where the client writes it
	Name     string
	MimeType string
	Owner    RunAs
	Created  time.Time
	Modified time.Time
	// Mode is the file mode as 0.x kept it: the octal digits read as a
	// decimal number (644 for rw-r--r--), not os.FileMode bits.
	Mode uint32
	Size uint64
}

// Schedule is a 0.x schedule (table schedule).
type Schedule struct {
	ID          string
	Name        string
	ScriptID    string
	Scope       ScheduleScope
	Pattern     string // a cron expression
	Enabled     bool
	LastRunTime time.Time // zero if it never ran
}

// ScheduleScope is what a schedule runs on: these hosts and every host of
// these groups.
type ScheduleScope struct {
	HostIDs  []string
	GroupIDs []string
}

// ScheduleReport is the outcome of one run of a schedule (table
// schedulereport). The fixture has none, so only its top-level fields are
// checked, against the table's own field list (ID, ScheduleID, HostIDs,
// Time of type ScheduleReportTime, Result int, HostResult); the kinds of
// HostIDs and HostResult and the fields of ScheduleReportTime are as
// remembered from 0.x's source. A report whose kinds differ fails to decode
// and becomes a Problem; a ScheduleReportTime field named otherwise would
// be dropped, which no record could show.
type ScheduleReport struct {
	ID         string
	ScheduleID string
	HostIDs    []string
	Time       ScheduleReportTime
	Result     int
	HostResult map[string]int // host ID to that host's result
}

// ScheduleReportTime is when a schedule run started and finished.
type ScheduleReportTime struct {
	Start          time.Time
	Finished       time.Time
	ElapsedSeconds float64
}

// RegisterRule puts a registering host whose properties match every
// clause into GroupID (table registerrule).
type RegisterRule struct {
	ID      string
	Name    string
	Clauses []RegisterRuleClause
	GroupID string
}

// RegisterRuleClause matches one host property against a regular
// expression.
type RegisterRuleClause struct {
	Property string // "hostname", "distribution_name", ...
	Pattern  string
}

// User is a 0.x user (table user); the primary key is Username. Password
// and API-key hashes are in Data.Passwords and Data.APIKeys.
type User struct {
	Username           string
	Email              string
	CanLogIn           bool
	MustChangePassword bool
}

// Event is one audit event (table event).
type Event struct {
	ID      string
	Event   string // "HostAdded", "UserLoggedIn", ...
	Time    time.Time
	Details map[string]string
}

// Options are the server options 0.x kept as JSON in otto_server.conf.
type Options struct {
	General        GeneralOptions
	Authentication AuthenticationOptions
	Network        NetworkOptions
	Register       RegisterOptions
	Security       SecurityOptions
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
	ForceIPVersion     string // "auto", "ipv4" or "ipv6"
	Timeout            int    // seconds
	HeartbeatFrequency int    // minutes
}

type RegisterOptions struct {
	Enabled              bool
	Key                  Secret
	DefaultGroupID       string
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

// Counts is how many of each thing Read found, for an importer's --check.
type Counts struct {
	Hosts, Groups, Scripts, Attachments, Schedules, ScheduleReports int
	RegisterRules, Users, Events, Passwords, APIKeys, Problems      int
}

func (c Counts) String() string {
	return fmt.Sprintf("%d hosts, %d groups, %d scripts, %d attachments, %d schedules, %d schedule reports, "+
		"%d registration rules, %d users, %d events, %d passwords, %d API keys, %d problems",
		c.Hosts, c.Groups, c.Scripts, c.Attachments, c.Schedules, c.ScheduleReports,
		c.RegisterRules, c.Users, c.Events, c.Passwords, c.APIKeys, c.Problems)
}
