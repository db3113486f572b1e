// Package legacy reads what an otto 0.x server left behind: its data
// directory and its password hashes.
//
// Read opens every table of a 0.x data directory read-only and returns its
// records as the 0.x structs, with a list of Problems (records that do not
// decode, missing attachment bytes, references to unknown IDs) instead of
// dropping anything silently. CheckHash verifies a password or API key
// against a 0.x hash. The package never writes to the directory.
package legacy

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrLocked means a table is locked by the process that has it open
	// read-write: an otto 0.x server still runs on the directory.
	ErrLocked = errors.New("legacy: an otto 0.x server still runs on the data directory; stop the 0.x server first")
	// ErrNotDataDir means the directory is not an otto 0.x data directory:
	// a table is missing or is not a bbolt file.
	ErrNotDataDir = errors.New("legacy: not an otto 0.x data directory")
)

// Facts of the 0.x layout, fixed by otto 0.10.6.
const (
	dataBucket    = "data"   // the records of an entity table
	configBucket  = "config" // its bookkeeping, with the list of the 0.x struct's fields
	shadowBucket  = "shadow"
	apiKeyPrefix  = "api_" // shadow key prefix of an API-key hash
	stateBucket   = "state"
	tableVersion  = "TableVersion"
	optionsFile   = "otto_server.conf"
	attachmentDir = "attachments"
	// KnownTableVersion is the TableVersion of otto 0.10.6, whose layout
	// this package reads.
	KnownTableVersion = 11
)

// lockTimeout is how long Read waits for a table's lock: a running 0.x
// server holds it for good, so waiting longer only delays the error.
const lockTimeout = time.Second

var (
	// requiredTables are in every 0.x data directory: without them, dir is
	// not one.
	requiredTables = []string{"host", "group", "script", "user", "shadow", "state"}
	// optionalTables are created by 0.10 too, but without one only its
	// records are lost, so a missing one is a Problem, not an error.
	optionalTables = []string{"attachment", "schedule", "schedulereport", "registerrule", "event"}
)

// Data is everything Read found in a 0.x data directory.
type Data struct {
	Dir             string // the data/ folder that was read
	TableVersion    int    // 0.x's schema version, KnownTableVersion for 0.10.6
	Hosts           []Host
	Groups          []Group
	Scripts         []Script
	Attachments     []Attachment
	Schedules       []Schedule
	ScheduleReports []ScheduleReport
	RegisterRules   []RegisterRule
	Users           []User
	Events          []Event           // oldest first; the other slices are in key order
	Passwords       map[string]string // username to password hash, for CheckHash
	APIKeys         map[string]string // username to API-key hash, for CheckHash
	Options         *Options          // nil if otto_server.conf is missing or unreadable
	// Problems are what Read could not take as it is, one sentence each
	// naming the record: nothing is dropped without one.
	Problems []string
}

// Counts says how many of each thing d holds.
func (d *Data) Counts() Counts {
	return Counts{
		Hosts: len(d.Hosts), Groups: len(d.Groups), Scripts: len(d.Scripts),
		Attachments: len(d.Attachments), Schedules: len(d.Schedules),
		ScheduleReports: len(d.ScheduleReports), RegisterRules: len(d.RegisterRules),
		Users: len(d.Users), Events: len(d.Events), Passwords: len(d.Passwords),
		APIKeys: len(d.APIKeys), Problems: len(d.Problems),
	}
}

// AttachmentPath returns the file holding the bytes of attachment id. It
// refuses an ID that is not a plain file name, so a crafted table cannot
// point outside attachments/.
func (d *Data) AttachmentPath(id string) (string, error) {
	if id == "" || id == "." || id == ".." || id != filepath.Base(id) || strings.ContainsAny(id, `/\`) {
		return "", fmt.Errorf("legacy: attachment ID %q is not a file name", id)
	}
	return filepath.Join(d.Dir, attachmentDir, id), nil
}

// OpenAttachment opens the bytes of attachment id for reading. It refuses
// anything but a regular file (a symlink could point anywhere).
func (d *Data) OpenAttachment(id string) (*os.File, error) {
	p, err := d.AttachmentPath(id)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(p); err != nil {
		return nil, fmt.Errorf("legacy: attachment %s: %w", id, err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("legacy: attachment %s: %s is not a regular file", id, p)
	}
	return os.Open(p)
}

func (d *Data) problem(format string, args ...any) {
	d.Problems = append(d.Problems, fmt.Sprintf(format, args...))
}

// Read reads the 0.x data directory dir: the folder holding data/, or
// data/ itself. It holds a shared lock on every table while it reads, so a
// 0.x server cannot start writing halfway. Problems in the records go into
// Data.Problems; an error means there is nothing sensible to import.
func Read(dir string) (*Data, error) {
	dataDir, err := findDataDir(dir)
	if err != nil {
		return nil, err
	}
	d := &Data{Dir: dataDir, Passwords: map[string]string{}, APIKeys: map[string]string{}}
	dbs, err := d.openTables()
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	if err != nil {
		return nil, err
	}

	d.Hosts = readTable(d, dbs["host"], "host", func(h *Host) string { return h.ID })
	d.Groups = readTable(d, dbs["group"], "group", func(g *Group) string { return g.ID })
	d.Scripts = readTable(d, dbs["script"], "script", func(s *Script) string { return s.ID })
	d.Attachments = readTable(d, dbs["attachment"], "attachment", func(a *Attachment) string { return a.ID })
	d.Schedules = readTable(d, dbs["schedule"], "schedule", func(s *Schedule) string { return s.ID })
	d.ScheduleReports = readTable(d, dbs["schedulereport"], "schedulereport", func(r *ScheduleReport) string { return r.ID })
	d.RegisterRules = readTable(d, dbs["registerrule"], "registerrule", func(r *RegisterRule) string { return r.ID })
	d.Users = readTable(d, dbs["user"], "user", func(u *User) string { return u.Username })
	d.Events = readTable(d, dbs["event"], "event", func(e *Event) string { return e.ID })
	slices.SortStableFunc(d.Events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	d.readShadow(dbs["shadow"])
	d.readState(dbs["state"])
	d.readOptions()
	d.checkAttachments()
	d.checkReferences()
	return d, nil
}

func findDataDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("legacy: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%w: %s is not a directory", ErrNotDataDir, dir)
	}
	if fi, err := os.Stat(filepath.Join(dir, "data")); err == nil && fi.IsDir() {
		return filepath.Join(dir, "data"), nil
	}
	return dir, nil
}

// openTables opens every known table read-only. It returns the tables it
// opened even with an error, for the caller to close.
func (d *Data) openTables() (map[string]*bolt.DB, error) {
	dbs := map[string]*bolt.DB{}
	for _, name := range requiredTables {
		if _, err := os.Stat(filepath.Join(d.Dir, name+".db")); errors.Is(err, fs.ErrNotExist) {
			return dbs, fmt.Errorf("%w: %s has no %s.db (want the folder holding data/, or data/ itself, with %s.db)",
				ErrNotDataDir, d.Dir, name, strings.Join(requiredTables, ".db, "))
		}
	}
	for _, name := range slices.Concat(requiredTables, optionalTables) {
		p := filepath.Join(d.Dir, name+".db")
		db, err := openTable(p)
		if errors.Is(err, fs.ErrNotExist) && slices.Contains(optionalTables, name) {
			d.problem("%s.db is missing: no %s records read", name, name)
			continue
		}
		if err != nil {
			return dbs, err
		}
		dbs[name] = db
	}
	others, _ := filepath.Glob(filepath.Join(d.Dir, "*.db"))
	for _, p := range others {
		if _, ok := dbs[strings.TrimSuffix(filepath.Base(p), ".db")]; !ok {
			d.problem("%s is not an otto 0.10 table: not read", filepath.Base(p))
		}
	}
	return dbs, nil
}

func openTable(path string) (*bolt.DB, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("legacy: %w", err)
	}
	// bbolt initialises an empty file, which is a write: refuse it first.
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil, fmt.Errorf("%w: %s is not a bbolt file", ErrNotDataDir, path)
	}
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w (%s is locked)", ErrLocked, path)
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("legacy: %w", err)
	case err != nil:
		return nil, fmt.Errorf("%w: %s is not a bbolt file: %v", ErrNotDataDir, path, err)
	}
	return db, nil
}

// view runs fn in a read transaction, turning a panic into an error: bbolt
// panics on some corrupt pages.
func view(db *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return db.View(fn)
}

// decodeGob decodes one self-contained gob stream (each 0.x key and value
// is one). gob re-panics runtime errors it hits on hostile input instead of
// returning them, so a panic is turned into an error too.
func decodeGob(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gob panic: %v", r)
		}
	}()
	return gob.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// readTable decodes the records of one entity table; id returns a record's
// primary key, which must match the key it is stored under.
func readTable[T any](d *Data, db *bolt.DB, table string, id func(*T) string) []T {
	if db == nil {
		return nil
	}
	var out []T
	err := view(db, func(tx *bolt.Tx) error {
		d.checkFields(tx, table, reflect.TypeFor[T]())
		b := tx.Bucket([]byte(dataBucket))
		if b == nil {
			d.problem("%s.db has no bucket %q: no %s records read", table, dataBucket, table)
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var key string
			if err := decodeGob(k, &key); err != nil {
				d.problem("%s with key %q: decoding the key: %v", table, k, err)
				return nil
			}
			var rec T
			if err := decodeGob(v, &rec); err != nil {
				d.problem("%s %s: decoding the record: %v", table, key, err)
				return nil
			}
			if got := id(&rec); got != key {
				d.problem("%s %s: the record says its ID is %q; kept", table, key, got)
			}
			out = append(out, rec)
			return nil
		})
	})
	if err != nil {
		d.problem("%s.db: reading: %v", table, err)
	}
	return out
}

// dsConfig is the part of a table's bookkeeping (0.x's ds.Config) that
// lists the fields of the struct it stores.
type dsConfig struct {
	Fields []struct{ Name string }
}

// checkFields reports a field the 0.x struct has and T does not: gob would
// drop it silently, which only happens if dir comes from another 0.x
// version than the one these types mirror.
func (d *Data) checkFields(tx *bolt.Tx, table string, t reflect.Type) {
	b := tx.Bucket([]byte(configBucket))
	if b == nil {
		return
	}
	raw := b.Get([]byte("config"))
	if raw == nil {
		return
	}
	var c dsConfig
	if err := decodeGob(raw, &c); err != nil {
		d.problem("%s.db: decoding its field list: %v", table, err)
		return
	}
	for _, f := range c.Fields {
		if _, ok := t.FieldByName(f.Name); !ok {
			d.problem("%s.db: field %s of 0.x records is not read", table, f.Name)
		}
	}
}

// readShadow splits shadow.db into password and API-key hashes. 0.x keys
// both by name, so a user named "api_bob" clashes with bob's API key.
func (d *Data) readShadow(db *bolt.DB) {
	users := map[string]bool{}
	for _, u := range d.Users {
		users[u.Username] = true
	}
	err := view(db, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(shadowBucket))
		if b == nil {
			d.problem("shadow.db has no bucket %q: no password hashes read", shadowBucket)
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			key, hash := string(k), string(v)
			owner, isAPI := strings.CutPrefix(key, apiKeyPrefix)
			switch {
			case users[key] && isAPI && users[owner]:
				d.problem("shadow %s: both user %s's password and user %s's API key; taken as the password", key, key, owner)
				d.Passwords[key] = hash
			case users[key]:
				d.Passwords[key] = hash
			case isAPI:
				if !users[owner] {
					d.problem("shadow %s: API key of unknown user %s", key, owner)
				}
				d.APIKeys[owner] = hash
			default:
				d.problem("shadow %s: password of unknown user %s", key, key)
				d.Passwords[key] = hash
			}
			return nil
		})
	})
	if err != nil {
		d.problem("shadow.db: reading: %v", err)
	}
	for _, u := range d.Users {
		if _, ok := d.Passwords[u.Username]; !ok && u.CanLogIn {
			d.problem("user %s: can log in but has no password hash", u.Username)
		}
	}
}

func (d *Data) readState(db *bolt.DB) {
	err := view(db, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(stateBucket))
		if b == nil {
			d.problem("state.db has no bucket %q: table version unknown", stateBucket)
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if string(k) != tableVersion {
				d.problem("state %q: not read", k)
				return nil
			}
			if err := decodeGob(v, &d.TableVersion); err != nil {
				d.problem("state %s: decoding: %v", tableVersion, err)
			}
			return nil
		})
	})
	if err != nil {
		d.problem("state.db: reading: %v", err)
	}
	if d.TableVersion != KnownTableVersion {
		d.problem("state %s is %d, not %d (otto 0.10.6): run otto 0.10.6 on it once so it migrates its tables, then import",
			tableVersion, d.TableVersion, KnownTableVersion)
	}
}

// readOptions reads otto_server.conf. A key Options lacks is a Problem, and
// the rest is still read.
func (d *Data) readOptions() {
	raw, err := os.ReadFile(filepath.Join(d.Dir, optionsFile))
	if pathErr := (*fs.PathError)(nil); errors.As(err, &pathErr) {
		err = pathErr.Err // the path is d.Dir's
	}
	if err != nil {
		d.problem("%s: %v: no options read", optionsFile, err)
		return
	}
	var o Options
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		o = Options{}
		if err2 := json.Unmarshal(raw, &o); err2 != nil {
			d.problem("%s: %v: no options read", optionsFile, err2)
			return
		}
		d.problem("%s: %v: not read", optionsFile, err)
	}
	d.Options = &o
}

// checkAttachments compares each attachment with its bytes on disk, and
// reports bytes no attachment owns.
func (d *Data) checkAttachments() {
	owned := map[string]bool{}
	for _, a := range d.Attachments {
		p, err := d.AttachmentPath(a.ID)
		if err != nil {
			d.problem("attachment %q: its ID is not a file name, so its bytes cannot be found", a.ID)
			continue
		}
		owned[a.ID] = true
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			d.problem("attachment %s: its bytes %s/%s: %v", a.ID, attachmentDir, a.ID, errors.Unwrap(err))
		case !fi.Mode().IsRegular():
			d.problem("attachment %s: %s/%s is not a regular file", a.ID, attachmentDir, a.ID)
		case uint64(fi.Size()) != a.Size:
			d.problem("attachment %s: %s/%s has %d bytes, the record says %d", a.ID, attachmentDir, a.ID, fi.Size(), a.Size)
		}
	}
	entries, err := os.ReadDir(filepath.Join(d.Dir, attachmentDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.problem("%s: %v", attachmentDir, err)
	}
	for _, e := range entries {
		if !owned[e.Name()] {
			d.problem("%s/%s: no attachment record owns it: not read", attachmentDir, e.Name())
		}
	}
}

// checkReferences reports every ID a record names that no record has.
func (d *Data) checkReferences() {
	ids := func(n int, id func(int) string) map[string]bool {
		m := make(map[string]bool, n)
		for i := range n {
			m[id(i)] = true
		}
		return m
	}
	hosts := ids(len(d.Hosts), func(i int) string { return d.Hosts[i].ID })
	groups := ids(len(d.Groups), func(i int) string { return d.Groups[i].ID })
	scripts := ids(len(d.Scripts), func(i int) string { return d.Scripts[i].ID })
	attachments := ids(len(d.Attachments), func(i int) string { return d.Attachments[i].ID })
	schedules := ids(len(d.Schedules), func(i int) string { return d.Schedules[i].ID })
	check := func(known map[string]bool, what, owner string, refs ...string) {
		for _, r := range refs {
			if !known[r] {
				d.problem("%s: names unknown %s %s", owner, what, r)
			}
		}
	}
	for _, h := range d.Hosts {
		check(groups, "group", "host "+h.ID, h.GroupIDs...)
	}
	for _, g := range d.Groups {
		check(scripts, "script", "group "+g.ID, g.ScriptIDs...)
	}
	for _, s := range d.Scripts {
		check(attachments, "attachment", "script "+s.ID, s.AttachmentIDs...)
	}
	for _, s := range d.Schedules {
		check(scripts, "script", "schedule "+s.ID, s.ScriptID)
		check(hosts, "host", "schedule "+s.ID, s.Scope.HostIDs...)
		check(groups, "group", "schedule "+s.ID, s.Scope.GroupIDs...)
	}
	for _, r := range d.ScheduleReports {
		check(schedules, "schedule", "schedule report "+r.ID, r.ScheduleID)
		check(hosts, "host", "schedule report "+r.ID, r.HostIDs...)
	}
	for _, r := range d.RegisterRules {
		check(groups, "group", "registration rule "+r.ID, r.GroupID)
	}
	if o := d.Options; o != nil && o.Register.DefaultGroupID != "" {
		check(groups, "group", optionsFile+" Register.DefaultGroupID", o.Register.DefaultGroupID)
	}
}
