package store_test

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/store"
	"github.com/otto-automation/otto/internal/serve/storetest"
)

// openTestdata copies the gzipped database name of testdata into a new
// data directory and returns the directory.
func openTestdata(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := os.OpenFile(filepath.Join(dir, "otto.db"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMigrateSchema1 opens testdata/schema1.db.gz, a database written by
// the otto before string IDs (schema 1: int64 IDs, keys of 8 bytes
// big-endian) holding a record of every kind, some deleted, and checks
// that every record is there under its ID as a string, that references
// and the name indexes followed, and that no ID is assigned twice.
//
// The file was made by the store of commit 525bbee: groups web (1), db (2)
// and gone (3, deleted); attachment motd (1); scripts deploy (1, with the
// attachment) and noop (2); hosts web1 (1), db1 (2) and gone1 (3,
// deleted) with a status each; schedule nightly (1); rule dbs (1); users
// alice (1) and bob (2); alice's session; three events; runs 1 and 2 (3
// deleted); options naming group 2 as the default group.
func TestMigrateSchema1(t *testing.T) {
	dir := openTestdata(t, "schema1.db.gz")
	opts := store.Options{Logger: storetest.Logger(t)}
	s, err := store.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()

	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	wantGroups := []domain.Group{
		{ID: "1", Name: "web", ScriptIDs: []string{"1", "2"}, Environment: domain.Environment{{Key: "TIER", Value: "front"}}},
		{ID: "2", Name: "db"},
	}
	wantAttachments := []domain.Attachment{{ID: "1", Name: "motd", Path: "/etc/motd", Owner: domain.RunAs{UID: 1000, GID: 1000},
		Mode: 0o644, Size: 5, Checksum: "abc123", BlobKey: "blob-1", Created: at, Modified: at}}
	wantScripts := []domain.Script{
		{ID: "1", Name: "deploy", Executable: "/bin/sh", Script: "echo hi", AttachmentIDs: []string{"1"}, Enabled: true},
		{ID: "2", Name: "noop", Executable: "/bin/sh", Script: "true"},
	}
	wantHosts := []domain.Host{
		{ID: "1", Name: "web1", Address: "10.0.0.1", Port: 12444, PSK: "psk-web1", LastPSKRotate: at,
			GroupIDs: []string{"1", "2"}, Environment: domain.Environment{{Key: "ROLE", Value: "web", Secret: true}},
			Enabled: true, Created: at},
		{ID: "2", Name: "db1", Address: "10.0.0.2", Port: 12444, PSK: "psk-db1", GroupIDs: []string{"2"}, Created: at},
	}
	wantStatuses := []domain.HostStatus{
		{HostID: "1", Address: "10.0.0.1", IsReachable: true, LastAttempt: at, LastReply: at, Version: "1.0.0",
			Properties: map[string]string{"hostname": "web1"}},
		{HostID: "2", Address: "10.0.0.2", LastAttempt: at},
	}
	wantSchedules := []domain.Schedule{{ID: "1", Name: "nightly", ScriptID: "1",
		Scope: domain.Scope{HostIDs: []string{"2"}, GroupIDs: []string{"1"}}, Pattern: "0 3 * * *", Enabled: true, LastRun: at}}
	wantRules := []domain.RegisterRule{{ID: "1", Name: "dbs",
		Clauses: []domain.RegisterClause{{Property: "hostname", Pattern: "^db"}}, GroupID: "2", Order: 1}}
	wantUsers := []domain.User{
		{ID: "1", Username: "alice", Email: "alice@example.com", Role: "admin", PasswordHash: "hash-alice",
			APIKeyHash: "key-alice", CanLogIn: true, Created: at, LastLogin: at},
		{ID: "2", Username: "bob", Role: "viewer", PasswordHash: "hash-bob", Created: at},
	}
	wantSession := domain.Session{TokenHash: "token-hash", UserID: "1", Created: at, Expires: at.Add(time.Hour)}
	wantEvents := []domain.Event{
		{ID: "3", Time: at.Add(2 * time.Minute), Type: domain.EventHostModified, User: "schedule:1"},
		{ID: "2", Time: at.Add(time.Minute), Type: domain.EventHostAdded, User: "alice", Details: map[string]string{"host": "db1"}},
		{ID: "1", Time: at, Type: domain.EventHostAdded, User: "alice", Details: map[string]string{"host": "web1"}},
	}
	run1 := domain.Run{ID: "1", BatchID: "batch-1", ScriptID: "1", ScriptName: "deploy", HostID: "1", HostName: "web1",
		StartedBy: "schedule:1", ScheduleID: "1", State: domain.RunDone, Started: at, Finished: at.Add(time.Second),
		Duration: time.Second, Success: true}
	run2 := domain.Run{ID: "2", BatchID: "batch-2", ScriptID: "2", ScriptName: "noop", HostID: "2", HostName: "db1",
		StartedBy: "alice", State: domain.RunFailed, Started: at, Error: "unreachable"}
	wantOptions := domain.DefaultOptions()
	wantOptions.General.ServerURL = "https://otto.example.com"
	wantOptions.Register.Enabled, wantOptions.Register.Key, wantOptions.Register.DefaultGroupID = true, "register-key", "2"

	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s after the migration:\n got %+v\nwant %+v", what, got, want)
		}
	}
	err = s.View(t.Context(), func(tx domain.Tx) error {
		groups, err := tx.Groups()
		check("Groups()", groups, wantGroups, err)
		attachments, err := tx.Attachments()
		check("Attachments()", attachments, wantAttachments, err)
		scripts, err := tx.Scripts()
		check("Scripts()", scripts, wantScripts, err)
		hosts, err := tx.Hosts()
		check("Hosts()", hosts, wantHosts, err)
		statuses, err := tx.HostStatuses()
		check("HostStatuses()", statuses, wantStatuses, err)
		schedules, err := tx.Schedules()
		check("Schedules()", schedules, wantSchedules, err)
		rules, err := tx.RegisterRules()
		check("RegisterRules()", rules, wantRules, err)
		users, err := tx.Users()
		check("Users()", users, wantUsers, err)
		session, err := tx.Session("token-hash")
		check(`Session("token-hash")`, session, wantSession, err)
		events, err := tx.Events(0)
		check("Events(0)", events, wantEvents, err)
		runs, err := tx.Runs(domain.RunFilter{})
		check("Runs({})", runs, []domain.Run{run2, run1}, err)
		o, err := tx.Options()
		check("Options()", o, wantOptions, err)

		// Lookups by ID, by name, and the run filters.
		h, err := tx.Host("2")
		check(`Host("2")`, h, wantHosts[1], err)
		h, err = tx.HostByName("web1")
		check(`HostByName("web1")`, h, wantHosts[0], err)
		u, err := tx.UserByName("bob")
		check(`UserByName("bob")`, u, wantUsers[1], err)
		st, err := tx.HostStatus("1")
		check(`HostStatus("1")`, st, wantStatuses[0], err)
		r, err := tx.Run("1")
		withOutput := run1
		withOutput.Stdout, withOutput.Stderr = "hi\n", "warn\n"
		check(`Run("1")`, r, withOutput, err)
		for _, f := range []domain.RunFilter{{HostID: "1"}, {ScriptID: "1"}, {ScheduleID: "1"}, {BatchID: "batch-1"}, {Before: "2"}} {
			runs, err := tx.Runs(f)
			check(fmt.Sprintf("Runs(%+v)", f), runs, []domain.Run{run1}, err)
		}
		for _, get := range []func() error{
			func() error { _, err := tx.Group("3"); return err },
			func() error { _, err := tx.Host("3"); return err },
			func() error { _, err := tx.HostStatus("3"); return err },
			func() error { _, err := tx.Run("3"); return err },
			func() error { _, err := tx.HostByName("gone1"); return err },
		} {
			if err := get(); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("a record deleted before the migration: %v, want ErrNotFound", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := storetest.CheckInvariants(t.Context(), s); err != nil {
		t.Error(err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}

	// The sequences carried over: deleted IDs are not assigned again.
	g, h, u, r, e := domain.Group{Name: "new"}, domain.Host{Name: "new"}, domain.User{Username: "new"}, domain.Run{}, domain.Event{}
	err = s.Update(t.Context(), func(tx domain.Tx) error {
		return errors.Join(tx.PutGroup(&g), tx.PutHost(&h), tx.PutUser(&u), tx.PutRun(&r), tx.AppendEvent(&e))
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != "4" || h.ID != "4" || u.ID != "3" || r.ID != "4" || e.ID != "4" {
		t.Errorf("new IDs: group %q, host %q, user %q, run %q, event %q; want 4, 4, 3, 4, 4", g.ID, h.ID, u.ID, r.ID, e.ID)
	}

	// A second Open finds schema 2 and migrates nothing.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = store.Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	err = s.View(t.Context(), func(tx domain.Tx) error {
		hosts, err := tx.Hosts()
		check("Hosts() after reopening", hosts, append(wantHosts, h), err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
