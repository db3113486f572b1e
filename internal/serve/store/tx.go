package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/otto-automation/otto/internal/serve/domain"
	bolt "go.etcd.io/bbolt"
)

// tx implements domain.Tx on one bbolt transaction.
type tx struct {
	b *bolt.Tx
	// assigned are the ID fields filled in by inserts; Update zeroes them
	// again if the transaction does not commit.
	assigned []*int64
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
	id func(*T) *int64
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
		name: "host", bucket: hostsBucket, id: func(h *domain.Host) *int64 { return &h.ID },
		index: hostNamesBucket, indexKey: func(h *domain.Host) string { return h.Name },
	}
	hostStatuses = &table[domain.HostStatus]{
		name: "host status", bucket: hostStatusBucket, id: func(s *domain.HostStatus) *int64 { return &s.HostID },
	}
	groups = &table[domain.Group]{
		name: "group", bucket: groupsBucket, id: func(g *domain.Group) *int64 { return &g.ID },
	}
	scripts = &table[domain.Script]{
		name: "script", bucket: scriptsBucket, id: func(s *domain.Script) *int64 { return &s.ID },
	}
	attachments = &table[domain.Attachment]{
		name: "attachment", bucket: attachmentsBucket, id: func(a *domain.Attachment) *int64 { return &a.ID },
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
		name: "schedule", bucket: schedulesBucket, id: func(s *domain.Schedule) *int64 { return &s.ID },
	}
	rules = &table[domain.RegisterRule]{
		name: "register rule", bucket: rulesBucket, id: func(r *domain.RegisterRule) *int64 { return &r.ID },
	}
	users = &table[domain.User]{
		name: "user", bucket: usersBucket, id: func(u *domain.User) *int64 { return &u.ID },
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
		name: "event", bucket: eventsBucket, id: func(e *domain.Event) *int64 { return &e.ID },
	}
	runs = &table[domain.Run]{
		name: "run", bucket: runsBucket, id: func(r *domain.Run) *int64 { return &r.ID },
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

func (t *tx) Host(id int64) (domain.Host, error)          { return get(t, hosts, itob(id)) }
func (t *tx) Hosts() ([]domain.Host, error)               { return t.cachedHosts() }
func (t *tx) HostByName(name string) (domain.Host, error) { return lookup(t, hosts, name) }
func (t *tx) PutHost(h *domain.Host) error                { return put(t, hosts, h) }

// DeleteHost deletes the host and its status, which has no delete of its own.
func (t *tx) DeleteHost(id int64) error {
	if err := del(t, hosts, itob(id)); err != nil {
		return err
	}
	return t.b.Bucket(hostStatusBucket).Delete(itob(id))
}

func (t *tx) HostStatus(hostID int64) (domain.HostStatus, error) {
	return get(t, hostStatuses, itob(hostID))
}
func (t *tx) HostStatuses() ([]domain.HostStatus, error) { return list(t, hostStatuses) }

// PutHostStatus returns ErrNotFound if the host is gone (deleted during a
// sweep, say): a batch can skip that error and go on.
func (t *tx) PutHostStatus(s domain.HostStatus) error {
	key := itob(s.HostID)
	if t.b.Bucket(hostsBucket).Get(key) == nil {
		return hosts.errorf(key, domain.ErrNotFound)
	}
	return set(t, hostStatuses, key, &s)
}

func (t *tx) Group(id int64) (domain.Group, error) { return get(t, groups, itob(id)) }
func (t *tx) Groups() ([]domain.Group, error)      { return list(t, groups) }
func (t *tx) PutGroup(g *domain.Group) error       { return put(t, groups, g) }
func (t *tx) DeleteGroup(id int64) error           { return del(t, groups, itob(id)) }

func (t *tx) Script(id int64) (domain.Script, error) { return get(t, scripts, itob(id)) }
func (t *tx) Scripts() ([]domain.Script, error)      { return list(t, scripts) }
func (t *tx) PutScript(s *domain.Script) error       { return put(t, scripts, s) }
func (t *tx) DeleteScript(id int64) error            { return del(t, scripts, itob(id)) }

func (t *tx) Attachment(id int64) (domain.Attachment, error) { return get(t, attachments, itob(id)) }
func (t *tx) Attachments() ([]domain.Attachment, error)      { return list(t, attachments) }
func (t *tx) PutAttachment(a *domain.Attachment) error       { return put(t, attachments, a) }
func (t *tx) DeleteAttachment(id int64) error                { return del(t, attachments, itob(id)) }

func (t *tx) Schedule(id int64) (domain.Schedule, error) { return get(t, schedules, itob(id)) }
func (t *tx) Schedules() ([]domain.Schedule, error)      { return list(t, schedules) }
func (t *tx) PutSchedule(s *domain.Schedule) error       { return put(t, schedules, s) }
func (t *tx) DeleteSchedule(id int64) error              { return del(t, schedules, itob(id)) }

func (t *tx) RegisterRule(id int64) (domain.RegisterRule, error) { return get(t, rules, itob(id)) }
func (t *tx) RegisterRules() ([]domain.RegisterRule, error)      { return list(t, rules) }
func (t *tx) PutRegisterRule(r *domain.RegisterRule) error       { return put(t, rules, r) }
func (t *tx) DeleteRegisterRule(id int64) error                  { return del(t, rules, itob(id)) }

func (t *tx) User(id int64) (domain.User, error)              { return get(t, users, itob(id)) }
func (t *tx) UserByName(username string) (domain.User, error) { return lookup(t, users, username) }
func (t *tx) Users() ([]domain.User, error)                   { return list(t, users) }
func (t *tx) PutUser(u *domain.User) error                    { return put(t, users, u) }
func (t *tx) DeleteUser(id int64) error                       { return del(t, users, itob(id)) }

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

// AppendEvent always assigns e a new ID, whatever it held.
func (t *tx) AppendEvent(e *domain.Event) error {
	e.ID = 0
	return put(t, events, e)
}

func (t *tx) Events(n int) ([]domain.Event, error) { return newest(t, events, 0, n, nil) }

// Run returns the run with its output.
func (t *tx) Run(id int64) (domain.Run, error) {
	r, err := get(t, runs, itob(id))
	if err != nil {
		return r, err
	}
	data := t.b.Bucket(runOutputBucket).Get(itob(id))
	r.Stdout, r.Stderr, err = decodeOutput(data) // copies
	dropValue(t.b, data)
	if err != nil {
		return r, runs.errorf(itob(id), err)
	}
	return r, nil
}

// Runs returns summaries: runs without Stdout and Stderr (see Run).
func (t *tx) Runs(f domain.RunFilter) ([]domain.Run, error) {
	return newest(t, runs, f.Before, f.Limit, func(data []byte) bool {
		h, _, err := splitRun(data)
		return err == nil && !h.matches(f) // a malformed run is decoded, to report it
	})
}

func (t *tx) PutRun(r *domain.Run) error {
	if err := put(t, runs, r); err != nil {
		return err
	}
	key, out := itob(r.ID), t.b.Bucket(runOutputBucket)
	if r.Stdout == "" && r.Stderr == "" {
		return out.Delete(key)
	}
	t.outputBytes += len(r.Stdout) + len(r.Stderr)
	return out.Put(key, encodeOutput(r.Stdout, r.Stderr))
}

func (t *tx) DeleteRun(id int64) error {
	if err := del(t, runs, itob(id)); err != nil {
		return err
	}
	return t.b.Bucket(runOutputBucket).Delete(itob(id))
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

// newest returns the records with an ID below before (0: all), highest
// ID first, at most limit of them (<= 0: all), passing over those whose
// stored data skip (if set) reports true.
func newest[T any](t *tx, e *table[T], before int64, limit int, skip func(data []byte) bool) ([]T, error) {
	var vs []T
	c := t.b.Bucket(e.bucket).Cursor()
	key, data := c.Last()
	if before > 0 {
		if key, data = c.Seek(itob(before)); key == nil {
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

// lookup returns the record whose index key is name, the lowest ID if
// several share it.
func lookup[T any](t *tx, e *table[T], name string) (T, error) {
	prefix := nameKey(name, nil)
	key, _ := t.b.Bucket(e.index).Cursor().Seek(prefix)
	if !bytes.HasPrefix(key, prefix) {
		var zero T
		return zero, fmt.Errorf("store: %s %q: %w", e.name, name, domain.ErrNotFound)
	}
	return get(t, e, key[len(prefix):])
}

// put inserts v under a new ID if its ID is zero, and otherwise replaces
// the record with its ID, which must exist.
func put[T any](t *tx, e *table[T], v *T) (err error) {
	if !t.b.Writable() {
		return errReadOnly
	}
	b := t.b.Bucket(e.bucket)
	id := e.id(v)
	var old []byte
	if *id == 0 {
		seq, serr := b.NextSequence()
		if serr != nil {
			return fmt.Errorf("store: %s: %w", e.name, serr)
		}
		*id = int64(seq)
		t.assigned = append(t.assigned, id)
		defer func() {
			if err != nil {
				*id = 0
			}
		}()
	} else if old = b.Get(itob(*id)); old == nil {
		return e.errorf(itob(*id), domain.ErrNotFound)
	}
	return write(t, e, itob(*id), old, v)
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

// errorf wraps err with the entity and the record's ID.
func (e *table[T]) errorf(key []byte, err error) error {
	if e.id == nil {
		return fmt.Errorf("store: %s: %w", e.name, err)
	}
	return fmt.Errorf("store: %s %d: %w", e.name, btoi(key), err)
}

// itob is the key of ID id: 8 bytes big-endian, so keys sort as IDs do.
func itob(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func btoi(key []byte) int64 {
	if len(key) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(key))
}

// nameKey is an index entry: the name's length, the name, then the
// record's key. The length prefix makes every entry for one name share a
// prefix no other name has, and sorts them by ID.
func nameKey(name string, key []byte) []byte {
	k := binary.AppendUvarint(nil, uint64(len(name)))
	k = append(k, name...)
	return append(k, key...)
}

// A run is stored as a header of the fields RunFilter matches, then the
// JSON of the run without its output (which has a bucket of its own):
// Runs reads the headers and decodes only the runs it returns.
//
//	host ID, script ID, schedule ID   8 bytes big-endian each
//	batch ID                          uvarint length, bytes
//	the run                           JSON, Stdout and Stderr empty
type runHeader struct {
	hostID, scriptID, scheduleID int64
	batchID                      []byte
}

const runHeaderFixed = 3 * 8

func (h runHeader) matches(f domain.RunFilter) bool {
	return (f.HostID == 0 || h.hostID == f.HostID) &&
		(f.ScriptID == 0 || h.scriptID == f.ScriptID) &&
		(f.ScheduleID == 0 || h.scheduleID == f.ScheduleID) &&
		(f.BatchID == "" || string(h.batchID) == f.BatchID)
}

func encodeRun(r *domain.Run) ([]byte, error) {
	summary := *r
	summary.Stdout, summary.Stderr = "", ""
	js, err := json.Marshal(&summary)
	b := make([]byte, 0, runHeaderFixed+binary.MaxVarintLen64+len(r.BatchID)+len(js))
	b = binary.BigEndian.AppendUint64(b, uint64(r.HostID))
	b = binary.BigEndian.AppendUint64(b, uint64(r.ScriptID))
	b = binary.BigEndian.AppendUint64(b, uint64(r.ScheduleID))
	b = binary.AppendUvarint(b, uint64(len(r.BatchID)))
	b = append(b, r.BatchID...)
	return append(b, js...), err
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
	if len(data) < runHeaderFixed {
		return h, nil, errors.New("malformed run record")
	}
	h.hostID = int64(binary.BigEndian.Uint64(data))
	h.scriptID = int64(binary.BigEndian.Uint64(data[8:]))
	h.scheduleID = int64(binary.BigEndian.Uint64(data[16:]))
	data = data[runHeaderFixed:]
	n, size := binary.Uvarint(data)
	if size <= 0 || n > uint64(len(data)-size) {
		return h, nil, errors.New("malformed run record")
	}
	h.batchID = data[size : size+int(n)]
	return h, data[size+int(n):], nil
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
