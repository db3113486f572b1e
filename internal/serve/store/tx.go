package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/otto-automation/otto/internal/serve/domain"
	bolt "go.etcd.io/bbolt"
)

// tx implements domain.Tx on one bbolt transaction.
type tx struct {
	b *bolt.Tx
	// assigned are the ID fields filled in by inserts; Update empties
	// them again if the transaction does not commit.
	assigned []*string
	// cache is the store's decoded host list; nil disables it.
	cache *hostCache
	// outputBytes counts the run output written, so that Update can let go
	// of the mapped pages such a commit touches (see Store.dropMapped).
	outputBytes int
}

var _ domain.Tx = (*tx)(nil)

// errReadOnly is what every write inside View returns.
var errReadOnly = errors.New("store: write in a read-only transaction (View)")

// table says how the records of one entity are kept.
type table[T any] struct {
	name   string // in errors: "store: host 7: not found"
	bucket []byte
	// id points at the record's ID. nil for sessions, whose key is a
	// token hash that errors must not show.
	id func(*T) *string
	// seq is set for runs and events, keyed by a sequence number (see
	// seqKey) rather than by ID (see idKey).
	seq bool
	// index, if set, is a bucket of nameKey(indexKey(record), key) -> nil.
	index    []byte
	indexKey func(*T) string
	// encode and decode replace plain JSON where the domain type hides
	// fields from the API's JSON (json:"-") that the store must keep.
	encode func(*T) ([]byte, error)
	decode func([]byte, *T) error
}

var (
	hosts = &table[domain.Host]{
		name: "host", bucket: hostsBucket, id: func(h *domain.Host) *string { return &h.ID },
		index: hostNamesBucket, indexKey: func(h *domain.Host) string { return h.Name },
	}
	hostStatuses = &table[domain.HostStatus]{
		name: "host status", bucket: hostStatusBucket, id: func(s *domain.HostStatus) *string { return &s.HostID },
	}
	groups = &table[domain.Group]{
		name: "group", bucket: groupsBucket, id: func(g *domain.Group) *string { return &g.ID },
	}
	scripts = &table[domain.Script]{
		name: "script", bucket: scriptsBucket, id: func(s *domain.Script) *string { return &s.ID },
	}
	attachments = &table[domain.Attachment]{
		name: "attachment", bucket: attachmentsBucket, id: func(a *domain.Attachment) *string { return &a.ID },
		encode: func(a *domain.Attachment) ([]byte, error) {
			return json.Marshal(attachmentRecord{*a, a.BlobKey})
		},
		decode: func(data []byte, a *domain.Attachment) error {
			var r attachmentRecord
			err := json.Unmarshal(data, &r)
			*a = r.Attachment
			a.BlobKey = r.BlobKey
			return err
		},
	}
	schedules = &table[domain.Schedule]{
		name: "schedule", bucket: schedulesBucket, id: func(s *domain.Schedule) *string { return &s.ID },
	}
	rules = &table[domain.RegisterRule]{
		name: "register rule", bucket: rulesBucket, id: func(r *domain.RegisterRule) *string { return &r.ID },
	}
	users = &table[domain.User]{
		name: "user", bucket: usersBucket, id: func(u *domain.User) *string { return &u.ID },
		index: userNamesBucket, indexKey: func(u *domain.User) string { return u.Username },
		encode: func(u *domain.User) ([]byte, error) {
			return json.Marshal(userRecord{*u, u.PasswordHash, u.APIKeyHash})
		},
		decode: func(data []byte, u *domain.User) error {
			var r userRecord
			err := json.Unmarshal(data, &r)
			*u = r.User
			u.PasswordHash, u.APIKeyHash = r.PasswordHash, r.APIKeyHash
			return err
		},
	}
	sessions = &table[domain.Session]{name: "session", bucket: sessionsBucket}
	events   = &table[domain.Event]{
		name: "event", bucket: eventsBucket, id: func(e *domain.Event) *string { return &e.ID }, seq: true,
	}
	runs = &table[domain.Run]{
		name: "run", bucket: runsBucket, id: func(r *domain.Run) *string { return &r.ID }, seq: true,
		encode: encodeRun, decode: decodeRun,
	}
	options = &table[domain.Options]{name: "options", bucket: optionsBucket}
)

// userRecord and attachmentRecord are how users and attachments are
// stored: the outer fields carry what the domain type's JSON leaves out.
type (
	userRecord struct {
		domain.User
		PasswordHash string
		APIKeyHash   string
	}
	attachmentRecord struct {
		domain.Attachment
		BlobKey string
	}
)

func (t *tx) Host(id string) (domain.Host, error)         { return byID(t, hosts, id) }
func (t *tx) Hosts() ([]domain.Host, error)               { return t.cachedHosts() }
func (t *tx) HostByName(name string) (domain.Host, error) { return lookup(t, hosts, name) }
func (t *tx) PutHost(h *domain.Host) error                { return put(t, hosts, h) }

// DeleteHost deletes the host and its status, which has no delete of its own.
func (t *tx) DeleteHost(id string) error {
	if err := delByID(t, hosts, id); err != nil {
		return err
	}
	return t.b.Bucket(hostStatusBucket).Delete(idKey(id))
}

func (t *tx) HostStatus(hostID string) (domain.HostStatus, error) {
	return byID(t, hostStatuses, hostID)
}
func (t *tx) HostStatuses() ([]domain.HostStatus, error) { return list(t, hostStatuses) }

// PutHostStatus returns ErrNotFound if the host is gone (deleted during a
// sweep, say): a batch can skip that error and go on.
func (t *tx) PutHostStatus(s domain.HostStatus) error {
	key := idKey(s.HostID)
	if key == nil || t.b.Bucket(hostsBucket).Get(key) == nil {
		return hosts.notFound(s.HostID)
	}
	return set(t, hostStatuses, key, &s)
}

func (t *tx) Group(id string) (domain.Group, error) { return byID(t, groups, id) }
func (t *tx) Groups() ([]domain.Group, error)       { return list(t, groups) }
func (t *tx) PutGroup(g *domain.Group) error        { return put(t, groups, g) }
func (t *tx) DeleteGroup(id string) error           { return delByID(t, groups, id) }

func (t *tx) Script(id string) (domain.Script, error) { return byID(t, scripts, id) }
func (t *tx) Scripts() ([]domain.Script, error)       { return list(t, scripts) }
func (t *tx) PutScript(s *domain.Script) error        { return put(t, scripts, s) }
func (t *tx) DeleteScript(id string) error            { return delByID(t, scripts, id) }

func (t *tx) Attachment(id string) (domain.Attachment, error) { return byID(t, attachments, id) }
func (t *tx) Attachments() ([]domain.Attachment, error)       { return list(t, attachments) }
func (t *tx) PutAttachment(a *domain.Attachment) error        { return put(t, attachments, a) }
func (t *tx) DeleteAttachment(id string) error                { return delByID(t, attachments, id) }

func (t *tx) Schedule(id string) (domain.Schedule, error) { return byID(t, schedules, id) }
func (t *tx) Schedules() ([]domain.Schedule, error)       { return list(t, schedules) }
func (t *tx) PutSchedule(s *domain.Schedule) error        { return put(t, schedules, s) }
func (t *tx) DeleteSchedule(id string) error              { return delByID(t, schedules, id) }

func (t *tx) RegisterRule(id string) (domain.RegisterRule, error) { return byID(t, rules, id) }
func (t *tx) RegisterRules() ([]domain.RegisterRule, error)       { return list(t, rules) }
func (t *tx) PutRegisterRule(r *domain.RegisterRule) error        { return put(t, rules, r) }
func (t *tx) DeleteRegisterRule(id string) error                  { return delByID(t, rules, id) }

func (t *tx) User(id string) (domain.User, error)             { return byID(t, users, id) }
func (t *tx) UserByName(username string) (domain.User, error) { return lookup(t, users, username) }
func (t *tx) Users() ([]domain.User, error)                   { return list(t, users) }
func (t *tx) PutUser(u *domain.User) error                    { return put(t, users, u) }
func (t *tx) DeleteUser(id string) error                      { return delByID(t, users, id) }

func (t *tx) Session(tokenHash string) (domain.Session, error) {
	return get(t, sessions, []byte(tokenHash))
}
func (t *tx) PutSession(s domain.Session) error    { return set(t, sessions, []byte(s.TokenHash), &s) }
func (t *tx) DeleteSession(tokenHash string) error { return del(t, sessions, []byte(tokenHash)) }

func (t *tx) DeleteSessions(drop func(domain.Session) bool) error {
	if !t.b.Writable() {
		return errReadOnly
	}
	// Collect first: bbolt cursors must not see deletes mid-walk.
	all, err := list(t, sessions)
	if err != nil {
		return err
	}
	for _, s := range all {
		if drop(s) {
			if err := t.b.Bucket(sessionsBucket).Delete([]byte(s.TokenHash)); err != nil {
				return fmt.Errorf("store: session: %w", err)
			}
		}
	}
	return nil
}

// AppendEvent stores e under the next sequence number, which is also its
// ID unless e brings one (an imported event). A kept ID is not checked
// for uniqueness: nothing looks events up by ID.
func (t *tx) AppendEvent(e *domain.Event) (err error) {
	if !t.b.Writable() {
		return errReadOnly
	}
	b := t.b.Bucket(eventsBucket)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("store: event: %w", err)
	}
	if e.ID == "" {
		e.ID = strconv.FormatUint(seq, 10)
		t.assigned = append(t.assigned, &e.ID)
		defer func() {
			if err != nil {
				e.ID = ""
			}
		}()
	}
	return write(t, events, seqKey(seq), nil, e)
}

func (t *tx) Events(n int) ([]domain.Event, error) { return newest(t, events, nil, n, nil) }

// Run returns the run with its output.
func (t *tx) Run(id string) (domain.Run, error) {
	r, err := byID(t, runs, id)
	if err != nil {
		return r, err
	}
	key := runs.key(id)
	data := t.b.Bucket(runOutputBucket).Get(key)
	r.Stdout, r.Stderr, err = decodeOutput(data) // copies
	dropValue(t.b, data)
	if err != nil {
		return r, runs.errorf(key, err)
	}
	return r, nil
}

// Runs returns summaries: runs without Stdout and Stderr (see Run). A
// Before that is not a run ID (a decimal number) selects no run: no run
// can be older than one that cannot exist, and a client paging on such a
// value stops instead of reading the first page again.
func (t *tx) Runs(f domain.RunFilter) ([]domain.Run, error) {
	var before []byte
	if f.Before != "" {
		if before = runs.key(f.Before); before == nil {
			return nil, nil
		}
	}
	return newest(t, runs, before, f.Limit, func(data []byte) bool {
		h, _, err := splitRun(data)
		return err == nil && !h.matches(f) // a malformed run is decoded, to report it
	})
}

// PutRun inserts r under the next sequence number if its ID is "", and
// otherwise replaces the run with its ID, which must exist.
func (t *tx) PutRun(r *domain.Run) (err error) {
	if !t.b.Writable() {
		return errReadOnly
	}
	b := t.b.Bucket(runsBucket)
	var key, old []byte
	if r.ID == "" {
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("store: run: %w", err)
		}
		key, r.ID = seqKey(seq), strconv.FormatUint(seq, 10)
		t.assigned = append(t.assigned, &r.ID)
		defer func() {
			if err != nil {
				r.ID = ""
			}
		}()
	} else if key = runs.key(r.ID); key == nil {
		return runs.notFound(r.ID)
	} else if old = b.Get(key); old == nil {
		return runs.notFound(r.ID)
	}
	if err := write(t, runs, key, old, r); err != nil {
		return err
	}
	out := t.b.Bucket(runOutputBucket)
	if r.Stdout == "" && r.Stderr == "" {
		return out.Delete(key)
	}
	t.outputBytes += len(r.Stdout) + len(r.Stderr)
	return out.Put(key, encodeOutput(r.Stdout, r.Stderr))
}

func (t *tx) DeleteRun(id string) error {
	if err := delByID(t, runs, id); err != nil {
		return err
	}
	return t.b.Bucket(runOutputBucket).Delete(runs.key(id))
}

// Options returns domain.DefaultOptions until options are first put.
func (t *tx) Options() (domain.Options, error) {
	// Decoding onto the defaults gives options added to otto after the
	// record was written their default rather than a zero value.
	o := domain.DefaultOptions()
	if data := t.b.Bucket(optionsBucket).Get(optionsKey); data != nil {
		if err := json.Unmarshal(data, &o); err != nil {
			return o, fmt.Errorf("store: options: %w", err)
		}
	}
	return o, nil
}

func (t *tx) PutOptions(o domain.Options) error { return set(t, options, optionsKey, &o) }

// byID returns the record with ID id.
func byID[T any](t *tx, e *table[T], id string) (T, error) {
	key := e.key(id)
	if key == nil {
		var zero T
		return zero, e.notFound(id)
	}
	return get(t, e, key)
}

// get returns the record stored under key.
func get[T any](t *tx, e *table[T], key []byte) (T, error) {
	var v T
	data := t.b.Bucket(e.bucket).Get(key)
	if data == nil {
		return v, e.errorf(key, domain.ErrNotFound)
	}
	if err := e.unmarshal(data, &v); err != nil {
		return v, e.errorf(key, err)
	}
	return v, nil
}

// list returns every record in key order.
func list[T any](t *tx, e *table[T]) ([]T, error) {
	var keys, values [][]byte // valid until the transaction ends
	t.b.Bucket(e.bucket).ForEach(func(key, data []byte) error {
		keys, values = append(keys, key), append(values, data)
		return nil
	})
	vs := make([]T, len(values))
	err := parallel(len(values), func(i int) error {
		if err := e.unmarshal(values[i], &vs[i]); err != nil {
			return e.errorf(keys[i], err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return vs, nil
}

// parallel calls fn(0) to fn(n-1), spread over the CPUs when n is large:
// decoding JSON is nearly all the cost of listing thousands of hosts.
func parallel(n int, fn func(i int) error) error {
	part := func(w, workers int) error {
		for i := n * w / workers; i < n*(w+1)/workers; i++ {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), n/parallelMin)
	if workers <= 1 {
		return part(0, 1)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { errs[w] = part(w, workers) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// parallelMin is the fewest records worth another goroutine.
const parallelMin = 500

// newest returns the records of a sequence-keyed table with a key below
// before (nil: all), newest first, at most limit of them (<= 0: all),
// passing over those whose stored data skip (if set) reports true.
func newest[T any](t *tx, e *table[T], before []byte, limit int, skip func(data []byte) bool) ([]T, error) {
	var vs []T
	c := t.b.Bucket(e.bucket).Cursor()
	key, data := c.Last()
	if before != nil {
		if key, data = c.Seek(before); key == nil {
			key, data = c.Last()
		} else {
			key, data = c.Prev()
		}
	}
	for ; key != nil && (limit <= 0 || len(vs) < limit); key, data = c.Prev() {
		if skip != nil && skip(data) {
			continue
		}
		var v T
		if err := e.unmarshal(data, &v); err != nil {
			return nil, e.errorf(key, err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// lookup returns the record whose index key is name, the first in list
// order if several share it.
func lookup[T any](t *tx, e *table[T], name string) (T, error) {
	prefix := nameKey(name, nil)
	key, _ := t.b.Bucket(e.index).Cursor().Seek(prefix)
	if !bytes.HasPrefix(key, prefix) {
		var zero T
		return zero, fmt.Errorf("store: %s %q: %w", e.name, name, domain.ErrNotFound)
	}
	return get(t, e, key[len(prefix):])
}

// put inserts v under the next free ID if its ID is "", and otherwise
// writes it under its ID, replacing any record there. A decimal ID above
// the bucket's sequence raises the sequence to it (up to maxRaisedSeq), so
// that no ID is ever assigned twice, even once its record is deleted: the
// run history names hosts and scripts that are gone.
func put[T any](t *tx, e *table[T], v *T) (err error) {
	if !t.b.Writable() {
		return errReadOnly
	}
	b := t.b.Bucket(e.bucket)
	id := e.id(v)
	if *id == "" {
		key, err := nextKey(b)
		if err != nil {
			return fmt.Errorf("store: %s: %w", e.name, err)
		}
		*id = keyID(key)
		t.assigned = append(t.assigned, id)
		defer func() {
			if err != nil {
				*id = ""
			}
		}()
		return write(t, e, key, nil, v)
	}
	key := idKey(*id)
	if key == nil {
		return fmt.Errorf("store: %s: ID of %d bytes, want at most %d", e.name, len(*id), maxIDLen)
	}
	if n, ok := parseSeq(*id); ok && n > b.Sequence() && n <= maxRaisedSeq {
		if err := b.SetSequence(n); err != nil {
			return e.errorf(key, err)
		}
	}
	return write(t, e, key, b.Get(key), v)
}

// maxRaisedSeq bounds the IDs that raise a bucket's sequence (see put):
// one near the top of uint64 would make the sequence wrap around.
const maxRaisedSeq = 1<<63 - 1

// nextKey takes the bucket's next sequence number that is not already an
// ID there (one put with its ID), and returns it as a key.
func nextKey(b *bolt.Bucket) ([]byte, error) {
	for {
		seq, err := b.NextSequence()
		if err != nil {
			return nil, err
		}
		if key := idKey(strconv.FormatUint(seq, 10)); b.Get(key) == nil {
			return key, nil
		}
	}
}

// set stores v under key whether or not a record is there.
func set[T any](t *tx, e *table[T], key []byte, v *T) error {
	if !t.b.Writable() {
		return errReadOnly
	}
	return write(t, e, key, t.b.Bucket(e.bucket).Get(key), v)
}

// write stores v under key in place of old (nil if none), keeping the
// index in step.
func write[T any](t *tx, e *table[T], key, old []byte, v *T) error {
	data, err := e.marshal(v)
	if err != nil {
		return e.errorf(key, err)
	}
	if e.index != nil {
		if err := reindex(t, e, key, old, nameKey(e.indexKey(v), key)); err != nil {
			return err
		}
	}
	if err := t.b.Bucket(e.bucket).Put(key, data); err != nil {
		return e.errorf(key, err)
	}
	return t.changed(e)
}

// delByID deletes the record with ID id, which must exist.
func delByID[T any](t *tx, e *table[T], id string) error {
	if !t.b.Writable() {
		return errReadOnly
	}
	key := e.key(id)
	if key == nil {
		return e.notFound(id)
	}
	return del(t, e, key)
}

// del deletes the record under key, which must exist.
func del[T any](t *tx, e *table[T], key []byte) error {
	if !t.b.Writable() {
		return errReadOnly
	}
	b := t.b.Bucket(e.bucket)
	old := b.Get(key)
	if old == nil {
		return e.errorf(key, domain.ErrNotFound)
	}
	if e.index != nil {
		if err := reindex(t, e, key, old, nil); err != nil {
			return err
		}
	}
	if err := b.Delete(key); err != nil {
		return e.errorf(key, err)
	}
	return t.changed(e)
}

// changed notes a write to e's bucket where a cache depends on it.
func (t *tx) changed(e any) error {
	if e == any(hosts) {
		return t.bumpHostsGen()
	}
	return nil
}

// reindex replaces the index entry of the record old (nil if none) with
// entry (nil for none).
func reindex[T any](t *tx, e *table[T], key, old, entry []byte) error {
	ix := t.b.Bucket(e.index)
	if old != nil {
		var prev T
		if err := e.unmarshal(old, &prev); err != nil {
			return e.errorf(key, err)
		}
		prevEntry := nameKey(e.indexKey(&prev), key)
		if bytes.Equal(prevEntry, entry) {
			return nil
		}
		if err := ix.Delete(prevEntry); err != nil {
			return e.errorf(key, err)
		}
	}
	if entry == nil {
		return nil
	}
	if err := ix.Put(entry, nil); err != nil {
		return e.errorf(key, err)
	}
	return nil
}

func (e *table[T]) marshal(v *T) ([]byte, error) {
	if e.encode != nil {
		return e.encode(v)
	}
	return json.Marshal(v)
}

func (e *table[T]) unmarshal(data []byte, v *T) error {
	if e.decode != nil {
		return e.decode(data, v)
	}
	return json.Unmarshal(data, v)
}

// key is the key of the record with ID id, nil if no record can have it.
func (e *table[T]) key(id string) []byte {
	if e.seq {
		n, ok := parseSeq(id)
		if !ok {
			return nil
		}
		return seqKey(n)
	}
	return idKey(id)
}

// errorf wraps err with the entity and the ID of the record under key.
func (e *table[T]) errorf(key []byte, err error) error {
	switch {
	case e.id == nil:
		return fmt.Errorf("store: %s: %w", e.name, err)
	case e.seq:
		return e.idErrorf(strconv.FormatUint(seqOf(key), 10), err)
	}
	return e.idErrorf(keyID(key), err)
}

// notFound is the error for a missing record with ID id.
func (e *table[T]) notFound(id string) error { return e.idErrorf(id, domain.ErrNotFound) }

// idErrorf wraps err with the entity and the ID: decimal IDs as they are
// ("store: host 7: not found"), others quoted.
func (e *table[T]) idErrorf(id string, err error) error {
	if isDecimal(id) {
		return fmt.Errorf("store: %s %s: %w", e.name, id, err)
	}
	return fmt.Errorf("store: %s %q: %w", e.name, id, err)
}

// Records with an ID are keyed so that bbolt's byte order of the keys is
// domain.CompareIDs's order of the IDs, and a cursor walks them in list
// order:
//
//	decimal ID      0x00, the number of digits (one byte), the digits
//	any other ID    0x01, the ID's bytes
//
// A decimal ID is one domain.CompareIDs sorts as a number: digits, no
// leading zero. IDs are 1 to maxIDLen bytes.
const (
	keyDecimal = 0x00
	keyOther   = 0x01
	maxIDLen   = 255
)

// idKey is the key of ID id, nil for an ID no record can have ("" or
// longer than maxIDLen).
func idKey(id string) []byte {
	if id == "" || len(id) > maxIDLen {
		return nil
	}
	if isDecimal(id) {
		return append([]byte{keyDecimal, byte(len(id))}, id...)
	}
	return append([]byte{keyOther}, id...)
}

// keyID is the ID whose key is key.
func keyID(key []byte) string {
	switch {
	case len(key) >= 2 && key[0] == keyDecimal:
		return string(key[2:])
	case len(key) >= 1 && key[0] == keyOther:
		return string(key[1:])
	}
	return fmt.Sprintf("%x", key) // not a key of ours
}

// isDecimal reports whether id is a decimal number without leading zeros,
// as domain.CompareIDs decides.
func isDecimal(id string) bool {
	if id == "" || len(id) > 1 && id[0] == '0' {
		return false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// Runs and events are keyed by a sequence number, 8 bytes big-endian, so
// that a cursor walks them in the order they were added; a run's ID is its
// number in decimal.
func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func seqOf(key []byte) uint64 {
	if len(key) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(key)
}

// parseSeq returns the number a decimal ID stands for, if it is one that
// fits a sequence number.
func parseSeq(id string) (uint64, bool) {
	if !isDecimal(id) {
		return 0, false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil
}

// nameKey is an index entry: the name's length, the name, then the
// record's key. The length prefix makes every entry for one name share a
// prefix no other name has, and sorts them in list order.
func nameKey(name string, key []byte) []byte {
	k := binary.AppendUvarint(nil, uint64(len(name)))
	k = append(k, name...)
	return append(k, key...)
}

// A run is stored as a header of the fields RunFilter matches, then the
// JSON of the run without its output (which has a bucket of its own):
// Runs reads the headers and decodes only the runs it returns.
//
//	host ID, script ID, schedule ID, batch ID   each a uvarint length, bytes
//	the run                                     JSON, Stdout and Stderr empty
type runHeader struct {
	hostID, scriptID, scheduleID, batchID []byte
}

func (h runHeader) matches(f domain.RunFilter) bool {
	return (f.HostID == "" || string(h.hostID) == f.HostID) &&
		(f.ScriptID == "" || string(h.scriptID) == f.ScriptID) &&
		(f.ScheduleID == "" || string(h.scheduleID) == f.ScheduleID) &&
		(f.BatchID == "" || string(h.batchID) == f.BatchID)
}

func encodeRun(r *domain.Run) ([]byte, error) {
	summary := *r
	summary.Stdout, summary.Stderr = "", ""
	js, err := json.Marshal(&summary)
	return appendRunHeader(nil, r.HostID, r.ScriptID, r.ScheduleID, r.BatchID, js), err
}

// appendRunHeader appends a run record: the header of the given fields,
// then js.
func appendRunHeader(b []byte, hostID, scriptID, scheduleID, batchID string, js []byte) []byte {
	fields := [...]string{hostID, scriptID, scheduleID, batchID}
	n := len(js)
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b = slices.Grow(b, n)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return append(b, js...)
}

func decodeRun(data []byte, r *domain.Run) error {
	_, js, err := splitRun(data)
	if err != nil {
		return err
	}
	return json.Unmarshal(js, r)
}

func splitRun(data []byte) (runHeader, []byte, error) {
	var h runHeader
	for _, f := range []*[]byte{&h.hostID, &h.scriptID, &h.scheduleID, &h.batchID} {
		n, size := binary.Uvarint(data)
		if size <= 0 || n > uint64(len(data)-size) {
			return h, nil, errors.New("malformed run record")
		}
		*f, data = data[size:size+int(n)], data[size+int(n):]
	}
	return h, data, nil
}

// encodeOutput packs a run's output: uvarint len(stdout), stdout, stderr.
// Raw bytes rather than JSON, which would mangle output that is not UTF-8.
func encodeOutput(stdout, stderr string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(stdout)+len(stderr))
	b = binary.AppendUvarint(b, uint64(len(stdout)))
	return append(append(b, stdout...), stderr...)
}

func decodeOutput(data []byte) (stdout, stderr string, err error) {
	if data == nil {
		return "", "", nil
	}
	n, size := binary.Uvarint(data)
	if size <= 0 || n > uint64(len(data)-size) {
		return "", "", errors.New("malformed output record")
	}
	data = data[size:]
	return string(data[:n]), string(data[n:]), nil
}
