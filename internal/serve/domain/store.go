package domain

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors a Store returns. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound means no record has the given ID or key.
	ErrNotFound = errors.New("not found")
	// ErrStoreClosed means the store was closed.
	ErrStoreClosed = errors.New("store closed")
	// ErrInUse means the data directory is locked by another server.
	ErrInUse = errors.New("data dir in use by another otto server")
)

// Store keeps everything the server knows. Every change happens in one
// transaction: Update commits fn's writes all together or not at all, and
// returns only once they are durable. View gives a consistent read-only
// snapshot. fn must not keep tx after it returns.
type Store interface {
	View(ctx context.Context, fn func(tx Tx) error) error
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Blobs keep attachment data outside the transactional records. A blob
	// is written under a fresh key before the record naming it is stored, so
	// a crash leaves at worst an unreferenced blob (see GCBlobs).
	PutBlob(ctx context.Context, key string, r io.Reader) (size int64, err error)
	OpenBlob(ctx context.Context, key string) (io.ReadCloser, error)
	DeleteBlob(ctx context.Context, key string) error
	// GCBlobs removes blobs whose key keep reports false.
	GCBlobs(ctx context.Context, keep func(key string) bool) error

	// Backup writes a consistent copy of the records (not the blobs) while
	// the store stays in use.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	Close() error
}

// Tx reads and writes records inside one transaction. IDs are opaque
// strings: those this server assigns are decimal numbers, imported 0.x ones
// are kept as they were. Put methods insert when the record's ID is ""
// (assigning the next free decimal ID into it) and otherwise write the
// record under its ID, replacing any record there. Runs and events are
// different: their IDs are always assigned by the store, and PutRun of an
// ID that does not exist is ErrNotFound. Lists are ordered by CompareIDs.
// Writes through a Tx from View fail.
type Tx interface {
	Host(id string) (Host, error)
	Hosts() ([]Host, error)
	HostByName(name string) (Host, error)
	PutHost(h *Host) error
	DeleteHost(id string) error

	// HostStatus is the last heartbeat result of a host, kept apart from
	// the host so a sweep writes small records in one batch.
	HostStatus(hostID string) (HostStatus, error)
	HostStatuses() ([]HostStatus, error)
	PutHostStatus(s HostStatus) error

	Group(id string) (Group, error)
	Groups() ([]Group, error)
	PutGroup(g *Group) error
	DeleteGroup(id string) error

	Script(id string) (Script, error)
	Scripts() ([]Script, error)
	PutScript(s *Script) error
	DeleteScript(id string) error

	Attachment(id string) (Attachment, error)
	Attachments() ([]Attachment, error)
	PutAttachment(a *Attachment) error
	DeleteAttachment(id string) error

	Schedule(id string) (Schedule, error)
	Schedules() ([]Schedule, error)
	PutSchedule(s *Schedule) error
	DeleteSchedule(id string) error

	RegisterRule(id string) (RegisterRule, error)
	RegisterRules() ([]RegisterRule, error)
	PutRegisterRule(r *RegisterRule) error
	DeleteRegisterRule(id string) error

	User(id string) (User, error)
	UserByName(username string) (User, error)
	Users() ([]User, error)
	PutUser(u *User) error
	DeleteUser(id string) error

	// Sessions are keyed by the hash of their token.
	Session(tokenHash string) (Session, error)
	PutSession(s Session) error
	DeleteSession(tokenHash string) error
	// DeleteSessions removes the sessions for which drop reports true.
	DeleteSessions(drop func(Session) bool) error

	// Events is the audit log: appended, listed newest first, at most n
	// (n <= 0 means all). AppendEvent assigns e.ID when it is "" and keeps
	// it otherwise (imported events keep their 0.x IDs).
	AppendEvent(e *Event) error
	Events(n int) ([]Event, error)

	// Runs is the run history.
	Run(id string) (Run, error)
	// Runs lists runs newest first that match f.
	Runs(f RunFilter) ([]Run, error)
	PutRun(r *Run) error
	DeleteRun(id string) error

	Options() (Options, error)
	PutOptions(o Options) error
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	HostID     string
	ScriptID   string
	ScheduleID string
	BatchID    string
	// Before lists only runs older than the run with this ID (paging).
	Before string
	// Limit caps the result; 0 means no limit.
	Limit int
}

// now is how the domain reads the clock; a field of the services that use it.
type Clock func() time.Time
