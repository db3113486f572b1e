// Package importer turns an otto 0.x server's data directory into a new
// data directory of ours: the 0.x records, read by package legacy, mapped
// to domain records and written through the domain, which checks them as
// it checks any change.
//
// An import is all or nothing: it builds the new directory under a
// temporary name beside the target and renames it into place only when
// everything is written and synced.
package importer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/legacy"
	"github.com/otto-automation/otto/internal/serve/store"
)

var (
	// ErrNotEmpty means the target data directory already holds something.
	ErrNotEmpty = errors.New("the new data directory is not empty: import only into a new, empty directory")
	// ErrProblems means the 0.x data has problems and Options.IgnoreProblems
	// was not set.
	ErrProblems = errors.New("the 0.x data has problems (listed above); fix them in the 0.x server, or import without what they name with --ignore-problems")
)

// Importer is the audit log's name for whoever ran the import.
const Importer = "import"

// Options change how Import works.
type Options struct {
	// IgnoreProblems imports what can be imported when legacy.Read
	// reported problems, leaving out the records they name.
	IgnoreProblems bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives the progress, one line per step (discarded when nil).
	Log *slog.Logger
}

// Check reads the 0.x data directory old without writing anything, for
// `otto server import --check`.
func Check(old string) (*legacy.Data, error) { return legacy.Read(old) }

// Import reads the 0.x data directory old into newDir, which must not
// exist or be empty. On error newDir is as it was.
func Import(ctx context.Context, old, newDir string, o Options) (*legacy.Data, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkTarget(newDir); err != nil {
		return nil, err
	}
	d, err := legacy.Read(old)
	if err != nil {
		return nil, err
	}
	if len(d.Problems) > 0 && !o.IgnoreProblems {
		return d, ErrProblems
	}
	log.Info("read the 0.x data", "dir", d.Dir, "counts", d.Counts().String())

	abs, err := filepath.Abs(newDir)
	if err != nil {
		return d, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return d, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".import-*")
	if err != nil {
		return d, err
	}
	defer os.RemoveAll(tmp) // after the rename there is nothing left to remove
	if err := os.Chmod(tmp, 0o700); err != nil {
		return d, err
	}
	if err := write(ctx, d, tmp, now().UTC(), log); err != nil {
		return d, err
	}
	// An empty target directory is replaced; checkTarget made sure it is.
	if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return d, err
	}
	if err := os.Rename(tmp, abs); err != nil {
		return d, err
	}
	log.Info("import done", "dir", abs)
	return d, syncDir(filepath.Dir(abs))
}

// checkTarget accepts a directory that does not exist or is empty.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// write builds a whole data directory in dir from d.
func write(ctx context.Context, d *legacy.Data, dir string, now time.Time, log *slog.Logger) error {
	st, err := store.Open(dir, store.Options{Logger: log})
	if err != nil {
		return err
	}
	svc := &domain.Service{Store: st, Now: func() time.Time { return now }, Log: log}
	in, err := mapData(ctx, d, st, now, log)
	if err == nil {
		log.Info("copied the attachments", "count", len(in.Attachments))
		err = svc.Import(ctx, Importer, in)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

// mapData maps d to domain records, copying attachment bytes into st.
// What d's problems name is left out: an attachment whose bytes cannot be
// read, and every reference to a record that is not there.
func mapData(ctx context.Context, d *legacy.Data, st domain.Store, now time.Time, log *slog.Logger) (domain.Import, error) {
	opts := mapOptions(d.Options)
	in := domain.Import{Options: opts}
	known := map[string]bool{}
	for _, a := range d.Attachments {
		da, err := copyAttachment(ctx, d, st, a)
		if err != nil && len(d.Problems) > 0 {
			log.Warn("left out an attachment", "id", a.ID, "err", err)
			continue
		}
		if err != nil {
			return in, err
		}
		in.Attachments = append(in.Attachments, da)
		known["attachment "+a.ID] = true
	}
	for _, s := range d.Scripts {
		known["script "+s.ID] = true
	}
	for _, g := range d.Groups {
		known["group "+g.ID] = true
	}
	for _, h := range d.Hosts {
		known["host "+h.ID] = true
	}
	keep := func(what string, ids []string) []string {
		var out []string
		for _, id := range ids {
			if known[what+" "+id] {
				out = append(out, id)
			}
		}
		return out
	}
	if !known["group "+opts.Register.DefaultGroupID] {
		in.Options.Register.DefaultGroupID = ""
	}
	for _, s := range d.Scripts {
		in.Scripts = append(in.Scripts, domain.Script{
			ID: s.ID, Name: s.Name, Executable: s.Executable, Script: s.Script,
			Environment: env(s.Environment), RunAs: domain.RunAs(s.RunAs),
			WorkingDirectory: s.WorkingDirectory, AfterExecution: s.AfterExecution,
			AttachmentIDs: keep("attachment", s.AttachmentIDs), Enabled: s.Enabled,
		})
	}
	for _, g := range d.Groups {
		in.Groups = append(in.Groups, domain.Group{ID: g.ID, Name: g.Name, ScriptIDs: keep("script", g.ScriptIDs), Environment: env(g.Environment)})
	}
	for _, h := range d.Hosts {
		in.Hosts = append(in.Hosts, domain.Host{
			ID: h.ID, Name: h.Name, Address: h.Address, Port: h.Port, PSK: string(h.PSK),
			LastPSKRotate: lastRotate(h.LastPSKRotate, opts.Security.RotatePSK, now),
			GroupIDs:      keep("group", h.GroupIDs), Environment: env(h.Environment), Enabled: h.Enabled, Created: now,
		})
	}
	scripts := map[string]string{}
	for _, s := range d.Scripts {
		scripts[s.ID] = s.Name
	}
	schedules := map[string]legacy.Schedule{}
	for _, s := range d.Schedules {
		if !known["script "+s.ScriptID] {
			continue
		}
		schedules[s.ID] = s
		in.Schedules = append(in.Schedules, domain.Schedule{
			ID: s.ID, Name: s.Name, ScriptID: s.ScriptID, Pattern: s.Pattern, Enabled: s.Enabled, LastRun: s.LastRunTime,
			Scope: domain.Scope{HostIDs: keep("host", s.Scope.HostIDs), GroupIDs: keep("group", s.Scope.GroupIDs)},
		})
	}
	for i, r := range d.RegisterRules {
		if !known["group "+r.GroupID] {
			continue
		}
		dr := domain.RegisterRule{ID: r.ID, Name: r.Name, GroupID: r.GroupID, Order: i}
		for _, c := range r.Clauses {
			dr.Clauses = append(dr.Clauses, domain.RegisterClause{Property: c.Property, Pattern: c.Pattern})
		}
		in.RegisterRules = append(in.RegisterRules, dr)
	}
	for _, u := range d.Users {
		// 0.x had no roles: every user could do everything.
		du := domain.User{Username: u.Username, Email: u.Email, Role: domain.RoleAdmin,
			CanLogIn: u.CanLogIn, MustChangePassword: u.MustChangePassword, Created: now}
		if h := d.Passwords[u.Username]; h != "" {
			du.PasswordHash = legacy.HashPrefix + h
		}
		if h := d.APIKeys[u.Username]; h != "" {
			du.APIKeyHash = legacy.HashPrefix + h
		}
		in.Users = append(in.Users, du)
	}
	for _, e := range d.Events {
		in.Events = append(in.Events, domain.Event{ID: e.ID, Time: e.Time, Type: e.Event, User: eventUser(e.Details), Details: e.Details})
	}
	hosts := map[string]string{}
	for _, h := range d.Hosts {
		hosts[h.ID] = h.Name
	}
	for _, r := range d.ScheduleReports {
		if s, ok := schedules[r.ScheduleID]; ok {
			r.HostIDs = keep("host", r.HostIDs)
			in.Runs = append(in.Runs, reportRuns(r, s, scripts, hosts)...)
		}
	}
	return in, nil
}

// mapOptions lays the 0.x options over our defaults: the same names mean
// the same; what 0.x did not have keeps its default.
func mapOptions(o *legacy.Options) domain.Options {
	opts := domain.DefaultOptions()
	if o == nil {
		return opts
	}
	opts.General.ServerURL = o.General.ServerURL
	opts.General.GlobalEnvironment = env(o.General.GlobalEnvironment)
	opts.Authentication.MaxAgeMinutes = o.Authentication.MaxAgeMinutes
	opts.Authentication.SecureOnly = o.Authentication.SecureOnly
	opts.Network.ForceIPVersion = o.Network.ForceIPVersion
	opts.Network.Timeout = o.Network.Timeout
	opts.Network.HeartbeatFrequency = o.Network.HeartbeatFrequency
	opts.Register = domain.RegisterOptions{
		Enabled: o.Register.Enabled, Key: string(o.Register.Key),
		DefaultGroupID: o.Register.DefaultGroupID, RunScriptsOnRegister: o.Register.RunScriptsOnRegister,
	}
	opts.Security.IncludePSKEnv = o.Security.IncludePSKEnv
	opts.Security.RotatePSK = domain.RotatePSKOptions(o.Security.RotatePSK)
	return opts
}

// lastRotate is the LastPSKRotate an imported host gets: its own, unless a
// rotation would then be due at once, which would change every overdue
// host's PSK in the first minutes after an upgrade; those count from the
// import.
func lastRotate(last time.Time, r domain.RotatePSKOptions, now time.Time) time.Time {
	if r.Enabled && !last.AddDate(0, 0, r.FrequencyDays).After(now) {
		return now
	}
	return last
}

func env(vs []legacy.Variable) domain.Environment {
	var e domain.Environment
	for _, v := range vs {
		e = append(e, domain.Variable(v))
	}
	return e
}

// eventUser is who caused a 0.x event: 0.x kept it as a detail such as
// "added_by" or "modified_by".
func eventUser(details map[string]string) string {
	for k, v := range details {
		if strings.HasSuffix(k, "_by") {
			return v
		}
	}
	return ""
}

// copyAttachment stores the bytes of a in st under a fresh blob key.
func copyAttachment(ctx context.Context, d *legacy.Data, st domain.Store, a legacy.Attachment) (domain.Attachment, error) {
	mode, err := strconv.ParseUint(strconv.FormatUint(uint64(a.Mode), 10), 8, 32)
	if err != nil {
		return domain.Attachment{}, fmt.Errorf("attachment %q (ID %s): mode %d is not octal digits", a.Name, a.ID, a.Mode)
	}
	f, err := d.OpenAttachment(a.ID)
	if err != nil {
		return domain.Attachment{}, err
	}
	defer f.Close()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	sum := sha256.New()
	n, err := st.PutBlob(ctx, hex.EncodeToString(key), io.TeeReader(f, sum))
	if err != nil {
		return domain.Attachment{}, fmt.Errorf("attachment %q (ID %s): %w", a.Name, a.ID, err)
	}
	return domain.Attachment{
		ID: a.ID, Name: a.Name, Path: a.Path, Owner: domain.RunAs(a.Owner), Mode: uint32(mode), MimeType: a.MimeType,
		Size: n, Checksum: hex.EncodeToString(sum.Sum(nil)), BlobKey: hex.EncodeToString(key),
		Created: a.Created, Modified: a.Modified,
	}, nil
}

// reportRuns turns a 0.x schedule report into one finished run per host.
// 0.x kept only a result code per host, no output.
func reportRuns(r legacy.ScheduleReport, s legacy.Schedule, scripts, hosts map[string]string) []domain.Run {
	var runs []domain.Run
	for _, hid := range r.HostIDs {
		code, ok := r.HostResult[hid]
		run := domain.Run{
			BatchID: "import-" + r.ID, ScriptID: s.ScriptID, ScriptName: scripts[s.ScriptID],
			HostID: hid, HostName: hosts[hid], StartedBy: "schedule:" + r.ScheduleID, ScheduleID: r.ScheduleID,
			State: domain.RunDone, Started: r.Time.Start, Finished: r.Time.Finished,
			Duration: time.Duration(r.Time.ElapsedSeconds * float64(time.Second)), ExitCode: code, Success: ok && code == 0,
		}
		if !ok {
			run.State, run.Error = domain.RunFailed, "0.x kept no result for this host"
		}
		runs = append(runs, run)
	}
	return runs
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
