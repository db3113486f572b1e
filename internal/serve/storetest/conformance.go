package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// Conformance tests a domain.Store backend for the behaviour the domain
// relies on, through the interface only. open must return a new, empty
// store on each call and close it when t ends, whether or not the test
// closed it first.
func Conformance(t *testing.T, open func(t *testing.T) domain.Store) {
	for _, e := range entities {
		t.Run("Entity/"+e.label(), func(t *testing.T) {
			t.Parallel()
			e.test(t, open(t))
		})
	}
	for _, tc := range []struct {
		name string
		test func(*testing.T, domain.Store)
	}{
		{"Lookups", testLookups},
		{"HostStatus", testHostStatus},
		{"Sessions", testSessions},
		{"Events", testEvents},
		{"RunFilters", testRunFilters},
		{"RunOutput", testRunOutput},
		{"Options", testOptions},
		{"Rollback", testRollback},
		{"ViewCannotWrite", testViewCannotWrite},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"CanceledContext", testCanceledContext},
		{"Blobs", testBlobs},
		{"Backup", testBackup},
		{"Closed", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, open(t))
		})
	}
}

// entity gives the tests one shape for every record type with an ID.
type entity[T any] struct {
	name string
	id   func(*T) *string
	// make returns the i-th test record, every field set (see fill) and
	// its references valid: it inserts in tx the records it refers to.
	make   func(tx domain.Tx, i int) (T, error)
	get    func(domain.Tx, string) (T, error)
	list   func(domain.Tx) ([]T, error) // in list order
	put    func(domain.Tx, *T) error
	delete func(domain.Tx, string) error
	// listed is what list returns of a record; nil means the record.
	listed func(T) T
	// assignedOnly is set for runs, whose IDs only the store assigns:
	// a put with an ID replaces an existing record and never inserts.
	assignedOnly bool
}

type entityTest interface {
	label() string
	test(t *testing.T, s domain.Store)
}

var entities = []entityTest{
	entity[domain.Host]{
		name: "host", id: func(h *domain.Host) *string { return &h.ID }, make: makeHost,
		get: domain.Tx.Host, list: domain.Tx.Hosts, put: domain.Tx.PutHost, delete: domain.Tx.DeleteHost,
	},
	entity[domain.Group]{
		name: "group", id: func(g *domain.Group) *string { return &g.ID }, make: makeGroup,
		get: domain.Tx.Group, list: domain.Tx.Groups, put: domain.Tx.PutGroup, delete: domain.Tx.DeleteGroup,
	},
	entity[domain.Script]{
		name: "script", id: func(s *domain.Script) *string { return &s.ID }, make: makeScript,
		get: domain.Tx.Script, list: domain.Tx.Scripts, put: domain.Tx.PutScript, delete: domain.Tx.DeleteScript,
	},
	entity[domain.Attachment]{
		name: "attachment", id: func(a *domain.Attachment) *string { return &a.ID }, make: makeAttachment,
		get: domain.Tx.Attachment, list: domain.Tx.Attachments, put: domain.Tx.PutAttachment,
		delete: domain.Tx.DeleteAttachment,
	},
	entity[domain.Schedule]{
		name: "schedule", id: func(s *domain.Schedule) *string { return &s.ID }, make: makeSchedule,
		get: domain.Tx.Schedule, list: domain.Tx.Schedules, put: domain.Tx.PutSchedule,
		delete: domain.Tx.DeleteSchedule,
	},
	entity[domain.RegisterRule]{
		name: "register rule", id: func(r *domain.RegisterRule) *string { return &r.ID }, make: makeRule,
		get: domain.Tx.RegisterRule, list: domain.Tx.RegisterRules, put: domain.Tx.PutRegisterRule,
		delete: domain.Tx.DeleteRegisterRule,
	},
	entity[domain.User]{
		name: "user", id: func(u *domain.User) *string { return &u.ID }, make: makeUser,
		get: domain.Tx.User, list: domain.Tx.Users, put: domain.Tx.PutUser, delete: domain.Tx.DeleteUser,
	},
	entity[domain.Run]{
		name: "run", id: func(r *domain.Run) *string { return &r.ID }, make: makeRun,
		get: domain.Tx.Run, put: domain.Tx.PutRun, delete: domain.Tx.DeleteRun,
		list: func(tx domain.Tx) ([]domain.Run, error) {
			runs, err := tx.Runs(domain.RunFilter{})
			slices.Reverse(runs)
			return runs, err
		},
		listed: func(r domain.Run) domain.Run {
			r.Stdout, r.Stderr = "", ""
			return r
		},
		assignedOnly: true,
	},
}

func (e entity[T]) label() string { return e.name }

// importedIDs are IDs as otto 0.x made them (12-character nanoids), kept
// verbatim when its data is imported, and IDs that look almost decimal.
// They sort after every decimal ID, bytewise.
var importedIDs = []string{"VVVanl4_U0as", "-Ab.9_xyzQ12", "01", "1a", "Z"}

// test inserts, reads, replaces, lists and deletes records of the entity.
func (e entity[T]) test(t *testing.T, s domain.Store) {
	var want []T
	write(t, s, func(tx domain.Tx) error {
		want = nil // in case the backend retries fn
		for i := range 3 {
			v, err := add(tx, i, e.make, func(v *T) error { return e.put(tx, v) })
			if err != nil {
				return err
			}
			want = append(want, v)
		}
		return nil
	})
	var last uint64
	for i := range want {
		id := *e.id(&want[i])
		n, ok := decimal(id)
		if !ok || n <= last {
			t.Errorf("insert %d: ID %q, want decimal IDs above 0 and rising", i, id)
		}
		last = n
	}
	for _, v := range want {
		got := read(t, s, func(tx domain.Tx) (T, error) { return e.get(tx, *e.id(&v)) })
		same(t, e.name+" read back", got, v)
	}

	// Replace the second record with new values under its ID.
	write(t, s, func(tx domain.Tx) error {
		v, err := e.make(tx, 3)
		*e.id(&v) = *e.id(&want[1])
		want[1] = v
		return errors.Join(err, e.put(tx, &v))
	})
	same(t, e.name+" replaced", read(t, s, func(tx domain.Tx) (T, error) { return e.get(tx, *e.id(&want[1])) }), want[1])

	// "" is no ID; "001" and "1 " are not "1".
	missing := []string{"1099511627776", "VVVmissing00", "", "00" + *e.id(&want[0]), *e.id(&want[0]) + " "}
	if e.assignedOnly {
		for _, id := range slices.Concat(missing, importedIDs) {
			if id == "" {
				continue // an insert
			}
			err := s.Update(t.Context(), func(tx domain.Tx) error {
				v, err := e.make(tx, 4)
				*e.id(&v) = id
				return errors.Join(err, e.put(tx, &v))
			})
			wantNotFound(t, fmt.Sprintf("put with ID %q, which does not exist", id), err)
		}
	} else {
		want = e.testGivenIDs(t, s, want, last)
	}
	for _, id := range missing {
		wantNotFound(t, fmt.Sprintf("get missing %q", id), s.View(t.Context(), func(tx domain.Tx) error {
			_, err := e.get(tx, id)
			return err
		}))
	}

	write(t, s, func(tx domain.Tx) error { return e.delete(tx, *e.id(&want[1])) })
	wantNotFound(t, "get deleted", s.View(t.Context(), func(tx domain.Tx) error {
		_, err := e.get(tx, *e.id(&want[1]))
		return err
	}))
	wantNotFound(t, "delete deleted", s.Update(t.Context(), func(tx domain.Tx) error {
		return e.delete(tx, *e.id(&want[1]))
	}))
	for _, id := range missing {
		wantNotFound(t, fmt.Sprintf("delete missing %q", id), s.Update(t.Context(), func(tx domain.Tx) error {
			return e.delete(tx, id)
		}))
	}

	want = slices.Delete(want, 1, 2)
	if e.listed != nil {
		for i := range want {
			want[i] = e.listed(want[i])
		}
	}
	slices.SortFunc(want, func(a, b T) int { return domain.CompareIDs(*e.id(&a), *e.id(&b)) })
	same(t, e.name+" list", read(t, s, e.list), want)
}

// testGivenIDs puts records with IDs of their own, as an import does:
// each is inserted under its ID, and a put of it again replaces it. Then
// it checks that IDs assigned later skip the taken ones, and that an ID
// once used is not assigned again once its record is deleted: the run
// history names hosts and scripts that are gone. last is the highest ID
// assigned so far. It returns want with the records it added.
func (e entity[T]) testGivenIDs(t *testing.T, s domain.Store, want []T, last uint64) []T {
	taken, deleted := strconv.FormatUint(last+1, 10), strconv.FormatUint(last+2, 10)
	given := append([]string{taken, deleted}, importedIDs...)
	write(t, s, func(tx domain.Tx) error {
		var errs []error
		for i, id := range given {
			v, err := e.make(tx, 10+i)
			*e.id(&v) = id
			errs = append(errs, err, e.put(tx, &v))
		}
		return errors.Join(errs...)
	})
	for _, id := range given {
		err := s.View(t.Context(), func(tx domain.Tx) error {
			_, err := e.get(tx, id)
			return err
		})
		if err != nil {
			t.Errorf("get of a record put with ID %q: %v", id, err)
		}
	}
	var replaced T
	write(t, s, func(tx domain.Tx) error {
		v, err := e.make(tx, 20)
		*e.id(&v) = importedIDs[0]
		replaced = v
		return errors.Join(err, e.put(tx, &v), e.delete(tx, deleted))
	})
	same(t, fmt.Sprintf("%s %q replaced", e.name, importedIDs[0]),
		read(t, s, func(tx domain.Tx) (T, error) { return e.get(tx, importedIDs[0]) }), replaced)

	var assigned T
	write(t, s, func(tx domain.Tx) error {
		v, err := e.make(tx, 21)
		assigned = v
		return errors.Join(err, e.put(tx, &assigned))
	})
	if id := *e.id(&assigned); id == taken || id == deleted || !isDecimal(id) {
		t.Errorf("insert after puts with IDs %s (kept) and %s (deleted): ID %q, want another decimal ID", taken, deleted, id)
	}

	// The records as they stand: the first given is kept as put, the
	// second deleted, the first imported one replaced.
	var vs []T
	err := s.View(t.Context(), func(tx domain.Tx) error {
		for _, id := range append([]string{taken}, importedIDs[1:]...) {
			v, err := e.get(tx, id)
			if err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(append(want, replaced, assigned), vs...)
}

func makeGroup(tx domain.Tx, i int) (domain.Group, error) {
	g := filled[domain.Group](i)
	g.ID = ""
	return g, nil
}

func makeHost(tx domain.Tx, i int) (domain.Host, error) {
	g, err := add(tx, i, makeGroup, tx.PutGroup)
	h := filled[domain.Host](i)
	h.ID, h.GroupIDs = "", []string{g.ID}
	return h, err
}

func makeAttachment(tx domain.Tx, i int) (domain.Attachment, error) {
	a := filled[domain.Attachment](i)
	a.ID = ""
	return a, nil
}

func makeScript(tx domain.Tx, i int) (domain.Script, error) {
	a, err := add(tx, i, makeAttachment, tx.PutAttachment)
	s := filled[domain.Script](i)
	s.ID, s.AttachmentIDs = "", []string{a.ID}
	return s, err
}

func makeSchedule(tx domain.Tx, i int) (domain.Schedule, error) {
	script, err1 := add(tx, i, makeScript, tx.PutScript)
	h, err2 := add(tx, i, makeHost, tx.PutHost)
	s := filled[domain.Schedule](i)
	s.ID, s.ScriptID = "", script.ID
	s.Scope = domain.Scope{HostIDs: []string{h.ID}, GroupIDs: h.GroupIDs}
	return s, errors.Join(err1, err2)
}

func makeRule(tx domain.Tx, i int) (domain.RegisterRule, error) {
	g, err := add(tx, i, makeGroup, tx.PutGroup)
	r := filled[domain.RegisterRule](i)
	r.ID, r.GroupID = "", g.ID
	return r, err
}

func makeUser(tx domain.Tx, i int) (domain.User, error) {
	u := filled[domain.User](i)
	u.ID = ""
	return u, nil
}

// makeRun refers to a host and script by ID without inserting them: the
// run history outlives both.
func makeRun(tx domain.Tx, i int) (domain.Run, error) {
	r := filled[domain.Run](i)
	r.ID = ""
	return r, nil
}

// add makes the i-th record with mk and inserts it with put.
func add[T any](tx domain.Tx, i int, mk func(domain.Tx, int) (T, error), put func(*T) error) (T, error) {
	v, err := mk(tx, i)
	if err != nil {
		return v, err
	}
	return v, put(&v)
}

func testLookups(t *testing.T, s domain.Store) {
	a, b := domain.Host{Name: "alpha"}, domain.Host{Name: "beta"}
	u := domain.User{Username: "ann"}
	write(t, s, func(tx domain.Tx) error { return errors.Join(tx.PutHost(&a), tx.PutHost(&b), tx.PutUser(&u)) })

	hostID := func(name string) (string, error) {
		var h domain.Host
		err := s.View(t.Context(), func(tx domain.Tx) (err error) {
			h, err = tx.HostByName(name)
			return err
		})
		return h.ID, err
	}
	userID := func(name string) (string, error) {
		var u domain.User
		err := s.View(t.Context(), func(tx domain.Tx) (err error) {
			u, err = tx.UserByName(name)
			return err
		})
		return u.ID, err
	}
	wantID := func(what string, id string, err error, want string) {
		t.Helper()
		if err != nil || id != want {
			t.Errorf("%s: got ID %q, %v; want %q", what, id, err, want)
		}
	}
	id, err := hostID("beta")
	wantID(`HostByName("beta")`, id, err, b.ID)
	for _, name := range []string{"", "al", "alphabet", "Alpha"} {
		_, err := hostID(name)
		wantNotFound(t, fmt.Sprintf("HostByName(%q)", name), err)
	}

	a.Name = "gamma"
	write(t, s, func(tx domain.Tx) error { return errors.Join(tx.PutHost(&a), tx.DeleteHost(b.ID)) })
	id, err = hostID("gamma")
	wantID(`HostByName("gamma") after a rename`, id, err, a.ID)
	_, err = hostID("alpha")
	wantNotFound(t, `HostByName("alpha") after a rename`, err)
	_, err = hostID("beta")
	wantNotFound(t, `HostByName("beta") after a delete`, err)

	id, err = userID("ann")
	wantID(`UserByName("ann")`, id, err, u.ID)
	u.Username = "bob"
	write(t, s, func(tx domain.Tx) error { return tx.PutUser(&u) })
	_, err = userID("ann")
	wantNotFound(t, `UserByName("ann") after a rename`, err)
	id, err = userID("bob")
	wantID(`UserByName("bob")`, id, err, u.ID)
	write(t, s, func(tx domain.Tx) error { return tx.DeleteUser(u.ID) })
	_, err = userID("bob")
	wantNotFound(t, `UserByName("bob") after a delete`, err)
}

func testHostStatus(t *testing.T, s domain.Store) {
	var h1, h2 domain.Host
	st1, st2 := filled[domain.HostStatus](1), filled[domain.HostStatus](2)
	write(t, s, func(tx domain.Tx) error {
		err := errors.Join(tx.PutHost(&h1), tx.PutHost(&h2))
		st1.HostID, st2.HostID = h1.ID, h2.ID
		// Out of order, to see the list sorted.
		return errors.Join(err, tx.PutHostStatus(st2), tx.PutHostStatus(st1))
	})
	status := func(tx domain.Tx) (domain.HostStatus, error) { return tx.HostStatus(h2.ID) }
	same(t, "HostStatus", read(t, s, status), st2)
	same(t, "HostStatuses", read(t, s, domain.Tx.HostStatuses), []domain.HostStatus{st1, st2})

	st2 = filled[domain.HostStatus](3)
	st2.HostID, st2.IsReachable = h2.ID, false
	write(t, s, func(tx domain.Tx) error { return tx.PutHostStatus(st2) })
	same(t, "HostStatus replaced", read(t, s, status), st2)

	wantNotFound(t, "HostStatus of a host never seen", s.View(t.Context(), func(tx domain.Tx) error {
		_, err := tx.HostStatus(h2.ID + "0")
		return err
	}))
	wantNotFound(t, "PutHostStatus of a host that does not exist", s.Update(t.Context(), func(tx domain.Tx) error {
		return tx.PutHostStatus(domain.HostStatus{HostID: h2.ID + "0"})
	}))

	write(t, s, func(tx domain.Tx) error { return tx.DeleteHost(h2.ID) })
	wantNotFound(t, "HostStatus of a deleted host", s.View(t.Context(), func(tx domain.Tx) error {
		_, err := tx.HostStatus(h2.ID)
		return err
	}))
	same(t, "HostStatuses after DeleteHost", read(t, s, domain.Tx.HostStatuses), []domain.HostStatus{st1})
}

func testSessions(t *testing.T, s domain.Store) {
	a, b, c := filled[domain.Session](1), filled[domain.Session](2), filled[domain.Session](3)
	write(t, s, func(tx domain.Tx) error { return errors.Join(tx.PutSession(a), tx.PutSession(b), tx.PutSession(c)) })
	session := func(hash string) (domain.Session, error) {
		var got domain.Session
		err := s.View(t.Context(), func(tx domain.Tx) (err error) {
			got, err = tx.Session(hash)
			return err
		})
		return got, err
	}
	got, err := session(a.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Session", got, a)

	a.Partial, a.UserID = false, "42"
	write(t, s, func(tx domain.Tx) error { return tx.PutSession(a) })
	got, _ = session(a.TokenHash)
	same(t, "Session replaced", got, a)

	write(t, s, func(tx domain.Tx) error { return tx.DeleteSession(b.TokenHash) })
	_, err = session(b.TokenHash)
	wantNotFound(t, "deleted session", err)
	_, err = session("no such hash")
	wantNotFound(t, "missing session", err)
	wantNotFound(t, "DeleteSession of a deleted session", s.Update(t.Context(), func(tx domain.Tx) error {
		return tx.DeleteSession(b.TokenHash)
	}))

	var seen []string
	cutoff := a.Expires.Add(time.Minute) // after a expires, before c does
	write(t, s, func(tx domain.Tx) error {
		seen = nil
		return tx.DeleteSessions(func(sess domain.Session) bool {
			seen = append(seen, sess.TokenHash)
			return sess.Expires.Before(cutoff)
		})
	})
	if slices.Sort(seen); !slices.Equal(seen, []string{a.TokenHash, c.TokenHash}) {
		t.Errorf("DeleteSessions asked about %q, want every session", seen)
	}
	_, err = session(a.TokenHash)
	wantNotFound(t, "session dropped by DeleteSessions", err)
	got, _ = session(c.TokenHash)
	same(t, "session kept by DeleteSessions", got, c)
}

// testEvents appends events, one of them with an ID of its own (an
// imported one), and lists them newest first: in the order they were
// appended, whatever their IDs.
func testEvents(t *testing.T, s domain.Store) {
	var appended []domain.Event
	write(t, s, func(tx domain.Tx) error {
		appended = nil
		for i := range 5 {
			e := filled[domain.Event](i)
			e.ID = ""
			if i == 2 {
				e.ID = importedIDs[0]
			}
			if err := tx.AppendEvent(&e); err != nil {
				return err
			}
			appended = append(appended, e)
		}
		return nil
	})
	var last uint64
	for i, e := range appended {
		if i == 2 {
			if e.ID != importedIDs[0] {
				t.Errorf("event %d: ID %q, want the ID it was appended with, %q", i, e.ID, importedIDs[0])
			}
			continue
		}
		n, ok := decimal(e.ID)
		if !ok || n <= last {
			t.Errorf("event %d: ID %q, want decimal IDs above 0 and rising", i, e.ID)
		}
		last = n
	}
	newestFirst := slices.Clone(appended)
	slices.Reverse(newestFirst)
	for _, tc := range []struct {
		n    int
		want []domain.Event
	}{
		{0, newestFirst}, {-1, newestFirst}, {2, newestFirst[:2]}, {5, newestFirst}, {9, newestFirst},
	} {
		got := read(t, s, func(tx domain.Tx) ([]domain.Event, error) { return tx.Events(tc.n) })
		same(t, fmt.Sprintf("Events(%d)", tc.n), got, tc.want)
	}
}

func testRunFilters(t *testing.T, s domain.Store) {
	var all []domain.Run
	id := func(n int) string { // "" for 0: no schedule
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	write(t, s, func(tx domain.Tx) error {
		all = nil
		for i := range 40 {
			r := domain.Run{
				HostID: id(i%3 + 1), ScriptID: id(i%4 + 1), ScheduleID: id(i % 5),
				BatchID: fmt.Sprint("batch", i/10), State: domain.RunDone,
			}
			if i%7 == 0 {
				r.HostID = importedIDs[0] // a host imported from 0.x
			}
			if err := tx.PutRun(&r); err != nil {
				return err
			}
			all = append(all, r)
		}
		return nil
	})
	var last uint64
	for i, r := range all {
		n, ok := decimal(r.ID)
		if !ok || n <= last {
			t.Fatalf("run %d: ID %q, want decimal IDs above 0 and rising", i, r.ID)
		}
		last = n
	}
	for _, f := range []domain.RunFilter{
		{}, {HostID: "2"}, {ScriptID: "3"}, {ScheduleID: "4"}, {BatchID: "batch1"}, {HostID: "1", ScriptID: "1"},
		{HostID: importedIDs[0]}, {HostID: "99"}, {HostID: "02"}, {BatchID: "none"}, {Limit: 5},
		{HostID: "2", Limit: 3}, {Before: all[20].ID}, {Before: all[20].ID, HostID: "3", Limit: 2},
		{Before: all[0].ID}, {Before: strconv.FormatUint(last+1000, 10)}, {Before: "0"},
		// No run can be older than one that cannot exist.
		{Before: "0" + all[20].ID}, {Before: importedIDs[0]},
	} {
		got := read(t, s, func(tx domain.Tx) ([]domain.Run, error) { return tx.Runs(f) })
		if g, w := runIDs(got), runIDs(filterRuns(all, f)); !slices.Equal(g, w) {
			t.Errorf("Runs(%+v): got IDs %q, want %q", f, g, w)
		}
	}

	// Page through one host's runs.
	var paged []domain.Run
	f := domain.RunFilter{HostID: "1", Limit: 4}
	for range len(all) {
		page := read(t, s, func(tx domain.Tx) ([]domain.Run, error) { return tx.Runs(f) })
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	if g, w := runIDs(paged), runIDs(filterRuns(all, domain.RunFilter{HostID: "1"})); !slices.Equal(g, w) {
		t.Errorf("paging: got IDs %q, want %q", g, w)
	}

	// A run deleted while a client pages still marks its place.
	write(t, s, func(tx domain.Tx) error { return tx.DeleteRun(all[20].ID) })
	f = domain.RunFilter{Before: all[20].ID}
	got := read(t, s, func(tx domain.Tx) ([]domain.Run, error) { return tx.Runs(f) })
	if g, w := runIDs(got), runIDs(filterRuns(all, f)); !slices.Equal(g, w) {
		t.Errorf("Runs(%+v) of a deleted run: got IDs %q, want %q", f, g, w)
	}
}

// filterRuns is what Runs(f) should return from runs, oldest first: the
// newest first that match f. Run IDs are decimal numbers that rise as runs
// are added, so "older" is a lower number; a Before that is not a decimal
// number matches nothing.
func filterRuns(runs []domain.Run, f domain.RunFilter) []domain.Run {
	before, beforeOK := decimal(f.Before)
	var out []domain.Run
	for _, r := range slices.Backward(runs) {
		n, _ := decimal(r.ID)
		if (f.HostID == "" || r.HostID == f.HostID) && (f.ScriptID == "" || r.ScriptID == f.ScriptID) &&
			(f.ScheduleID == "" || r.ScheduleID == f.ScheduleID) && (f.BatchID == "" || r.BatchID == f.BatchID) &&
			(f.Before == "" || beforeOK && n < before) && (f.Limit == 0 || len(out) < f.Limit) {
			out = append(out, r)
		}
	}
	return out
}

func runIDs(runs []domain.Run) []string {
	ids := []string{}
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

// decimal returns the number a decimal ID stands for: digits, without a
// leading zero.
func decimal(id string) (uint64, bool) {
	if !isDecimal(id) {
		return 0, false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil
}

// isDecimal reports whether id is an ID domain.CompareIDs sorts as a
// number.
func isDecimal(id string) bool {
	return id != "" && strings.Trim(id, "0123456789") == "" && (id == "0" || id[0] != '0')
}

// testRunOutput checks that Run returns output byte for byte, whatever
// the bytes, and that Runs lists summaries without it.
func testRunOutput(t *testing.T, s domain.Store) {
	r := domain.Run{HostID: "1", Stdout: "not utf-8: \xff\xfe, NUL: \x00.", Stderr: strings.Repeat("e", 1<<20)}
	write(t, s, func(tx domain.Tx) error { return tx.PutRun(&r) })
	run := func() domain.Run {
		return read(t, s, func(tx domain.Tx) (domain.Run, error) { return tx.Run(r.ID) })
	}
	if got := run(); got.Stdout != r.Stdout || got.Stderr != r.Stderr {
		t.Errorf("Run: output %q and %d bytes of stderr; want %q and %d bytes",
			got.Stdout, len(got.Stderr), r.Stdout, len(r.Stderr))
	}
	list := read(t, s, func(tx domain.Tx) ([]domain.Run, error) { return tx.Runs(domain.RunFilter{}) })
	if len(list) != 1 || list[0].ID != r.ID || list[0].Stdout != "" || list[0].Stderr != "" {
		t.Errorf("Runs: got %q, want run %s without output", runIDs(list), r.ID)
	}
	for _, out := range [][2]string{{"", "only stderr"}, {"only stdout", ""}, {"", ""}} {
		r.Stdout, r.Stderr = out[0], out[1]
		write(t, s, func(tx domain.Tx) error { return tx.PutRun(&r) })
		if got := run(); got.Stdout != r.Stdout || got.Stderr != r.Stderr {
			t.Errorf("Run: output %q, %q; want %q, %q", got.Stdout, got.Stderr, r.Stdout, r.Stderr)
		}
	}
}

func testOptions(t *testing.T, s domain.Store) {
	same(t, "Options before PutOptions", read(t, s, domain.Tx.Options), domain.DefaultOptions())
	o := filled[domain.Options](1)
	write(t, s, func(tx domain.Tx) error { return tx.PutOptions(o) })
	same(t, "Options", read(t, s, domain.Tx.Options), o)
}

// testRollback checks that a failing Update leaves no trace, whatever it
// wrote.
func testRollback(t *testing.T, s domain.Store) {
	h := domain.Host{Name: "kept"}
	var g domain.Group
	write(t, s, func(tx domain.Tx) error {
		err := tx.PutGroup(&g)
		h.GroupIDs = []string{g.ID}
		return errors.Join(err, tx.PutHost(&h))
	})

	errBoom := errors.New("boom")
	err := s.Update(t.Context(), func(tx domain.Tx) error {
		renamed := h
		renamed.Name = "renamed"
		o := domain.DefaultOptions()
		o.General.ServerURL = "https://changed"
		return errors.Join(
			tx.PutHost(&renamed),
			tx.PutHost(&domain.Host{Name: "new"}),
			tx.PutHost(&domain.Host{ID: importedIDs[0], Name: "imported"}),
			tx.PutHostStatus(domain.HostStatus{HostID: h.ID, IsReachable: true}),
			tx.PutGroup(&domain.Group{Name: "new"}),
			tx.DeleteGroup(g.ID), // breaks h's reference, but never commits
			tx.PutUser(&domain.User{Username: "new"}),
			tx.PutSession(domain.Session{TokenHash: "new"}),
			tx.AppendEvent(&domain.Event{Type: "new"}),
			tx.AppendEvent(&domain.Event{ID: importedIDs[0], Type: "imported"}),
			tx.PutRun(&domain.Run{HostID: h.ID, Stdout: "new"}),
			tx.PutOptions(o),
			errBoom,
		)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: got %v, want the error fn returned", err)
	}
	checkUntouched(t, s, h, g)
}

// testViewCannotWrite checks that every write inside View fails and
// leaves nothing behind.
func testViewCannotWrite(t *testing.T, s domain.Store) {
	h := domain.Host{Name: "kept"}
	var g domain.Group
	write(t, s, func(tx domain.Tx) error {
		err := tx.PutGroup(&g)
		h.GroupIDs = []string{g.ID}
		return errors.Join(err, tx.PutHost(&h), tx.PutSession(domain.Session{TokenHash: "kept"}))
	})
	var inserted domain.Host
	err := s.View(t.Context(), func(tx domain.Tx) error {
		renamed := h
		renamed.Name = "renamed"
		for _, w := range []struct {
			name string
			err  error
		}{
			{"PutHost (insert)", tx.PutHost(&inserted)},
			{"PutHost (with an ID)", tx.PutHost(&domain.Host{ID: "VVVanl4_U0as", Name: "imported"})},
			{"PutHost (replace)", tx.PutHost(&renamed)},
			{"DeleteHost", tx.DeleteHost(h.ID)},
			{"PutHostStatus", tx.PutHostStatus(domain.HostStatus{HostID: h.ID})},
			{"PutGroup", tx.PutGroup(&domain.Group{})},
			{"DeleteGroup", tx.DeleteGroup(g.ID)},
			{"PutScript", tx.PutScript(&domain.Script{})},
			{"PutAttachment", tx.PutAttachment(&domain.Attachment{})},
			{"PutSchedule", tx.PutSchedule(&domain.Schedule{})},
			{"PutRegisterRule", tx.PutRegisterRule(&domain.RegisterRule{})},
			{"PutUser", tx.PutUser(&domain.User{Username: "new"})},
			{"PutSession", tx.PutSession(domain.Session{TokenHash: "new"})},
			{"DeleteSession", tx.DeleteSession("kept")},
			{"DeleteSessions", tx.DeleteSessions(func(domain.Session) bool { return true })},
			{"AppendEvent", tx.AppendEvent(&domain.Event{})},
			{"PutRun", tx.PutRun(&domain.Run{})},
			{"PutOptions", tx.PutOptions(domain.Options{})},
		} {
			if w.err == nil {
				t.Errorf("%s inside View: no error", w.name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if inserted.ID != "" {
		t.Errorf("PutHost inside View assigned ID %q", inserted.ID)
	}
	checkUntouched(t, s, h, g)
}

// checkUntouched checks that s holds exactly host h in group g, the
// session "kept" if any, and nothing else.
func checkUntouched(t *testing.T, s domain.Store, h domain.Host, g domain.Group) {
	t.Helper()
	err := s.View(t.Context(), func(tx domain.Tx) error {
		hosts, err1 := tx.Hosts()
		same(t, "hosts", hosts, []domain.Host{h})
		byName, err2 := tx.HostByName("kept")
		same(t, "HostByName", byName, h)
		groups, err3 := tx.Groups()
		same(t, "groups", groups, []domain.Group{g})
		statuses, err4 := tx.HostStatuses()
		users, err5 := tx.Users()
		events, err6 := tx.Events(0)
		runs, err7 := tx.Runs(domain.RunFilter{})
		if len(statuses)+len(users)+len(events)+len(runs) != 0 {
			t.Errorf("found %d statuses, %d users, %d events, %d runs; want none",
				len(statuses), len(users), len(events), len(runs))
		}
		_, err := tx.Session("new")
		wantNotFound(t, "session", err)
		o, err8 := tx.Options()
		same(t, "options", o, domain.DefaultOptions())
		return errors.Join(err1, err2, err3, err4, err5, err6, err7, err8)
	})
	if err != nil {
		t.Error(err)
	}
}

// testConcurrentUpdates checks that Updates from many goroutines all
// land, while a reader sees only committed states.
func testConcurrentUpdates(t *testing.T, s domain.Store) {
	const writers, each = 8, 10
	errs := make(chan error, writers*each+1)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // the reader: the host count never goes down
		defer close(stopped)
		for last := 0; ; {
			var n int
			err := s.View(context.Background(), func(tx domain.Tx) error {
				hosts, err := tx.Hosts()
				n = len(hosts)
				return err
			})
			if err != nil || n < last {
				errs <- fmt.Errorf("reader: %d hosts after %d, %v", n, last, err)
				return
			}
			last = n
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				h := domain.Host{Name: fmt.Sprintf("w%d-%d", w, i)}
				errs <- s.Update(context.Background(), func(tx domain.Tx) error { return tx.PutHost(&h) })
			}
		})
	}
	wg.Wait()
	close(stop)
	<-stopped
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	hosts := read(t, s, domain.Tx.Hosts)
	ids, names := map[string]bool{}, map[string]bool{}
	for _, h := range hosts {
		ids[h.ID], names[h.Name] = true, true
	}
	if len(hosts) != writers*each || len(ids) != len(hosts) || len(names) != len(hosts) {
		t.Errorf("got %d hosts, %d distinct IDs, %d distinct names; want %d of each",
			len(hosts), len(ids), len(names), writers*each)
	}
}

func testCanceledContext(t *testing.T, s domain.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	fn := func(domain.Tx) error {
		called = true
		return nil
	}
	if err := s.View(ctx, fn); !errors.Is(err, context.Canceled) || called {
		t.Errorf("View with a canceled context: %v, fn called: %v", err, called)
	}
	if err := s.Update(ctx, fn); !errors.Is(err, context.Canceled) || called {
		t.Errorf("Update with a canceled context: %v, fn called: %v", err, called)
	}
	if _, err := s.PutBlob(ctx, "k", strings.NewReader("data")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutBlob with a canceled context: %v", err)
	}
	_, err := s.OpenBlob(t.Context(), "k")
	wantNotFound(t, "blob put with a canceled context", err)
	if _, err := s.Backup(ctx, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("Backup with a canceled context: %v", err)
	}
}

func testBlobs(t *testing.T, s domain.Store) {
	ctx := t.Context()
	putBlob := func(key, data string) {
		t.Helper()
		if n, err := s.PutBlob(ctx, key, strings.NewReader(data)); err != nil || n != int64(len(data)) {
			t.Fatalf("PutBlob(%q): %d, %v; want %d", key, n, err, len(data))
		}
	}
	wantBlob := func(key, want string) {
		t.Helper()
		rc, err := s.OpenBlob(ctx, key)
		if err != nil {
			t.Fatalf("OpenBlob(%q): %v", key, err)
		}
		defer rc.Close()
		if got, err := io.ReadAll(rc); err != nil || string(got) != want {
			t.Errorf("blob %q: %d bytes, %v; want %d bytes", key, len(got), err, len(want))
		}
	}
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	putBlob("a-Z_9", big)
	wantBlob("a-Z_9", big)
	putBlob("a-Z_9", "replaced")
	wantBlob("a-Z_9", "replaced")
	putBlob("empty", "")
	wantBlob("empty", "")

	// A failed write leaves the blob as it was.
	failing := io.MultiReader(strings.NewReader(big), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := s.PutBlob(ctx, "a-Z_9", failing); err == nil {
		t.Error("PutBlob from a failing reader: no error")
	}
	wantBlob("a-Z_9", "replaced")
	if _, err := s.PutBlob(ctx, "never", iotest.ErrReader(io.ErrUnexpectedEOF)); err == nil {
		t.Error("PutBlob from a failing reader: no error")
	}
	_, err := s.OpenBlob(ctx, "never")
	wantNotFound(t, "OpenBlob after a failed PutBlob", err)

	if err := s.DeleteBlob(ctx, "a-Z_9"); err != nil {
		t.Fatal(err)
	}
	_, err = s.OpenBlob(ctx, "a-Z_9")
	wantNotFound(t, "OpenBlob of a deleted blob", err)
	wantNotFound(t, "DeleteBlob of a deleted blob", s.DeleteBlob(ctx, "a-Z_9"))

	for _, key := range []string{"", ".", "..", "../x", "a/b", "/etc/passwd", `a\b`, "a\x00b", "a b"} {
		if _, err := s.PutBlob(ctx, key, strings.NewReader("x")); err == nil {
			t.Errorf("PutBlob(%q): no error", key)
		}
		if rc, err := s.OpenBlob(ctx, key); err == nil {
			rc.Close()
			t.Errorf("OpenBlob(%q): no error", key)
		}
		if err := s.DeleteBlob(ctx, key); err == nil {
			t.Errorf("DeleteBlob(%q): no error", key)
		}
	}

	putBlob("k1", "1")
	putBlob("k2", "2")
	putBlob("k3", "3")
	var asked []string
	err = s.GCBlobs(ctx, func(key string) bool {
		asked = append(asked, key)
		return key != "k2"
	})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Sort(asked); !slices.Equal(asked, []string{"empty", "k1", "k2", "k3"}) {
		t.Errorf("GCBlobs asked about %q, want every blob", asked)
	}
	_, err = s.OpenBlob(ctx, "k2")
	wantNotFound(t, "OpenBlob of a collected blob", err)
	wantBlob("k1", "1")
	wantBlob("k3", "3")
}

func testBackup(t *testing.T, s domain.Store) {
	write(t, s, func(tx domain.Tx) error { return tx.PutHost(&domain.Host{Name: "h"}) })
	var buf bytes.Buffer
	n, err := s.Backup(t.Context(), &buf)
	if err != nil || n <= 0 || n != int64(buf.Len()) {
		t.Errorf("Backup: %d, %v; wrote %d bytes", n, err, buf.Len())
	}
}

func testClosed(t *testing.T, s domain.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	nop := func(domain.Tx) error { return nil }
	_, errOpen := s.OpenBlob(ctx, "k")
	_, errPut := s.PutBlob(ctx, "k", strings.NewReader("x"))
	_, errBackup := s.Backup(ctx, io.Discard)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"View", s.View(ctx, nop)},
		{"Update", s.Update(ctx, nop)},
		{"PutBlob", errPut},
		{"OpenBlob", errOpen},
		{"DeleteBlob", s.DeleteBlob(ctx, "k")},
		{"GCBlobs", s.GCBlobs(ctx, func(string) bool { return true })},
		{"Backup", errBackup},
	} {
		if !errors.Is(c.err, domain.ErrStoreClosed) {
			t.Errorf("%s after Close: %v, want ErrStoreClosed", c.name, c.err)
		}
	}
}

// read returns what fn reads in a View, failing the test on an error.
func read[T any](t *testing.T, s domain.Store, fn func(domain.Tx) (T, error)) T {
	t.Helper()
	var v T
	err := s.View(t.Context(), func(tx domain.Tx) (err error) {
		v, err = fn(tx)
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return v
}

// write runs fn in an Update, failing the test on an error.
func write(t *testing.T, s domain.Store, fn func(domain.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("%s: got %v, want ErrNotFound", what, err)
	}
}

// same compares printed values, so that a nil and an empty slice or map,
// which a backend need not tell apart, are the same.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// filled returns a T with every field set, recursively, to a value made
// from the field's path and i: a field a backend drops or mixes up shows.
func filled[T any](i int) T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), reflect.TypeFor[T]().Name(), i)
	return v
}

var timeType = reflect.TypeFor[time.Time]()

func fill(v reflect.Value, path string, i int) {
	n := 100*i + len(path) // differs between fields and between i
	if v.Type() == timeType {
		// Whole seconds in UTC: what every backend keeps exactly.
		v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n) * time.Minute)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", path, i))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path, i)
	case reflect.Struct:
		for j := range v.NumField() {
			if f := v.Type().Field(j); f.IsExported() {
				fill(v.Field(j), path+"."+f.Name, i)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), path+"[0]", i)
	case reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, path+".key", i)
		fill(e, path+".value", i)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	default:
		panic(fmt.Sprintf("storetest: fill: %s is a %s, add it to fill", path, v.Kind()))
	}
}
