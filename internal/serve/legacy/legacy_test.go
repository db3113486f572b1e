package legacy

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/otto-automation/otto/internal/serve/legacy/legacytest"
)

func fixture(testing.TB) string { return legacytest.Dir() }

func fixtureCopy(t *testing.T) string { return legacytest.Copy(t) }

func mustRead(t testing.TB, dir string) *Data {
	t.Helper()
	d, err := Read(dir)
	if err != nil {
		t.Fatalf("Read(%s) = %v, want no error", dir, err)
	}
	return d
}

// expected decodes the data of one of the fixture's expected/*.json, the
// 0.x API's answer, into v: 0.x's JSON uses the struct's field names.
func expected(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixture(t), "expected", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// sameRecords compares got with want regardless of order, as JSON: it
// shows what Secret hides, and time.Time values that are Equal but carry
// their zone differently compare equal.
func sameRecords[T any](t *testing.T, what string, got, want []T, id func(T) string) {
	t.Helper()
	byID := func(a, b T) int { return strings.Compare(id(a), id(b)) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(g, w) {
		t.Errorf("Read %s =\n%s\nwant (0.x API)\n%s", what, g, w)
	}
}

func TestReadFixture(t *testing.T) {
	root := fixture(t)
	for _, dir := range []string{root, filepath.Join(root, "data")} {
		t.Run(dir, func(t *testing.T) {
			d := mustRead(t, dir)
			if len(d.Problems) != 0 {
				t.Errorf("Read Problems = %q, want none", d.Problems)
			}
			if d.Dir != filepath.Join(root, "data") {
				t.Errorf("Read Dir = %s, want %s", d.Dir, filepath.Join(root, "data"))
			}
			if d.TableVersion != KnownTableVersion {
				t.Errorf("Read TableVersion = %d, want %d", d.TableVersion, KnownTableVersion)
			}

			var hosts []Host
			expected(t, "hosts.json", &hosts)
			sameRecords(t, "hosts", d.Hosts, hosts, func(h Host) string { return h.ID })
			var groups []Group
			expected(t, "groups.json", &groups)
			sameRecords(t, "groups", d.Groups, groups, func(g Group) string { return g.ID })
			var scripts []Script
			expected(t, "scripts.json", &scripts)
			sameRecords(t, "scripts", d.Scripts, scripts, func(s Script) string { return s.ID })
			var attachments []Attachment
			expected(t, "attachments.json", &attachments)
			sameRecords(t, "attachments", d.Attachments, attachments, func(a Attachment) string { return a.ID })
			var schedules []Schedule
			expected(t, "schedules.json", &schedules)
			sameRecords(t, "schedules", d.Schedules, schedules, func(s Schedule) string { return s.ID })
			var rules []RegisterRule
			expected(t, "rules.json", &rules)
			sameRecords(t, "registration rules", d.RegisterRules, rules, func(r RegisterRule) string { return r.ID })
			var users []User
			expected(t, "users.json", &users)
			sameRecords(t, "users", d.Users, users, func(u User) string { return u.Username })
			var events []Event
			expected(t, "events.json", &events)
			sameRecords(t, "events", d.Events, events, func(e Event) string { return e.ID })
			var opts Options
			expected(t, "options.json", &opts)
			if d.Options == nil || !reflect.DeepEqual(*d.Options, opts) {
				t.Errorf("Read Options = %+v, want %+v", d.Options, opts)
			}

			// The same, spelled out for what an importer most relies on.
			if !slices.IsSortedFunc(d.Events, func(a, b Event) int { return a.Time.Compare(b.Time) }) {
				t.Errorf("Read Events are not oldest first")
			}
			want := Counts{Hosts: 3, Groups: 2, Scripts: 2, Attachments: 1, Schedules: 2, RegisterRules: 1,
				Users: 2, Events: 18, Passwords: 2, APIKeys: 1}
			if got := d.Counts(); got != want {
				t.Errorf("Counts() = %v, want %v", got, want)
			}
			if _, ok := d.APIKeys["alice"]; !ok {
				t.Errorf("Read APIKeys = %v, want alice's", d.APIKeys)
			}
			f, err := d.OpenAttachment("At7Lc6r27Aaw")
			if err != nil {
				t.Fatalf("OpenAttachment(At7Lc6r27Aaw) = %v", err)
			}
			defer f.Close()
			if b, _ := io.ReadAll(f); string(b) != "hello from an attachment\n" {
				t.Errorf("attachment bytes = %q, want %q", b, "hello from an attachment\n")
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	h := Host{ID: "h1", PSK: "psk-sekrit", Environment: []Variable{{Key: "K", Value: "v-sekrit", Secret: true}}}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("host", "psk", h.PSK, "env", h.Environment[0])
	for _, s := range []string{fmt.Sprintf("%v", h), fmt.Sprintf("%+v", &h), fmt.Sprintf("%#v", h), logged.String()} {
		if strings.Contains(s, "sekrit") {
			t.Errorf("formatted host = %s, want its secrets redacted", s)
		}
	}
	// JSON keeps them: that is how an importer copies them on.
	if b, _ := json.Marshal(h); !bytes.Contains(b, []byte("psk-sekrit")) {
		t.Errorf("json.Marshal(host) = %s, want the PSK in it", b)
	}
}

// snapshot maps every file under dir to its mode, mtime and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		m[p] = fi.Mode().String() + " " + fi.ModTime().String() + " " + sum
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadWritesNothing(t *testing.T) {
	root := fixture(t)
	before := snapshot(t, root)
	mustRead(t, root)
	if after := snapshot(t, root); !reflect.DeepEqual(after, before) {
		for p := range after {
			if after[p] != before[p] {
				t.Errorf("Read changed %s", p)
			}
		}
		t.Errorf("Read changed the directory it read")
	}
}

func gobBytes(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// update changes table in the data dir copy dir, as a 0.x server would.
func update(t *testing.T, dir, table string, fn func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, table+".db"), 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("data"))
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadCorruptRecord(t *testing.T) {
	const id = "fYxpKIYR1wzJ"
	for name, corrupt := range map[string]func([]byte) []byte{
		"truncated": func(v []byte) []byte { return v[:len(v)/2] },
		"length flipped": func(v []byte) []byte {
			v = slices.Clone(v)
			v[0] ^= 0x40
			return v
		},
		"garbage": func([]byte) []byte { return []byte{0xff, 0xff, 0xff, 0xff, 0x7f, 0x00} },
		"empty":   func([]byte) []byte { return []byte{} },
		"wrong kind": func([]byte) []byte {
			type Host struct{ ID, Port int }
			return gobBytes(t, Host{ID: 1, Port: 2})
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := fixtureCopy(t)
			update(t, dir, "host", func(b *bolt.Bucket) error {
				k := gobBytes(t, id)
				return b.Put(k, corrupt(b.Get(k)))
			})
			d := mustRead(t, dir)
			t.Logf("Problems: %q", d.Problems)
			if !slices.ContainsFunc(d.Problems, func(p string) bool { return strings.HasPrefix(p, "host "+id+":") }) {
				t.Errorf("Read Problems = %q, want one about host %s", d.Problems, id)
			}
			// The other hosts are still there.
			if len(d.Hosts) < 2 {
				t.Errorf("Read Hosts = %d hosts, want at least the 2 intact ones", len(d.Hosts))
			}
		})
	}
}

func TestReadProblems(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string // a substring of one Problem
	}{
		{"host in unknown group", func(t *testing.T, dir string) {
			update(t, dir, "host", func(b *bolt.Bucket) error {
				return b.Put(gobBytes(t, "h1"), gobBytes(t, Host{ID: "h1", Name: "x", GroupIDs: []string{"nogroup"}}))
			})
		}, "host h1: names unknown group nogroup"},
		{"script with unknown attachment", func(t *testing.T, dir string) {
			update(t, dir, "script", func(b *bolt.Bucket) error {
				return b.Put(gobBytes(t, "s1"), gobBytes(t, Script{ID: "s1", AttachmentIDs: []string{"noatt"}}))
			})
		}, "script s1: names unknown attachment noatt"},
		{"report of unknown schedule", func(t *testing.T, dir string) {
			update(t, dir, "schedulereport", func(b *bolt.Bucket) error {
				return b.Put(gobBytes(t, "r1"), gobBytes(t, ScheduleReport{ID: "r1", ScheduleID: "nosched", HostResult: map[string]int{}}))
			})
		}, "schedule report r1: names unknown schedule nosched"},
		{"key and ID differ", func(t *testing.T, dir string) {
			update(t, dir, "group", func(b *bolt.Bucket) error {
				return b.Put(gobBytes(t, "g1"), gobBytes(t, Group{ID: "g2"}))
			})
		}, `group g1: the record says its ID is "g2"`},
		{"undecodable key", func(t *testing.T, dir string) {
			update(t, dir, "user", func(b *bolt.Bucket) error { return b.Put([]byte("raw"), gobBytes(t, User{})) })
		}, `user with key "raw": decoding the key`},
		{"attachment bytes missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "attachments", "At7Lc6r27Aaw"))
		}, "attachment At7Lc6r27Aaw: its bytes attachments/At7Lc6r27Aaw: no such file"},
		{"attachment size differs", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "attachments", "At7Lc6r27Aaw"), []byte("short"), 0o644)
		}, "attachment At7Lc6r27Aaw: attachments/At7Lc6r27Aaw has 5 bytes, the record says 25"},
		{"attachment with a path as ID", func(t *testing.T, dir string) {
			update(t, dir, "attachment", func(b *bolt.Bucket) error {
				return b.Put(gobBytes(t, "../host.db"), gobBytes(t, Attachment{ID: "../host.db"}))
			})
		}, `attachment "../host.db": its ID is not a file name`},
		{"orphan attachment bytes", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "attachments", "orphan"), nil, 0o644)
		}, "attachments/orphan: no attachment record owns it"},
		{"options missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "otto_server.conf"))
		}, "otto_server.conf: no such file or directory: no options read"},
		{"options with an unknown key", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "otto_server.conf"), []byte(`{"General":{"ServerURL":"x"},"Extra":1}`), 0o644)
		}, `otto_server.conf: json: unknown field "Extra": not read`},
		{"optional table missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "event.db"))
		}, "event.db is missing"},
		{"unknown table", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "other.db"), []byte("x"), 0o644)
		}, "other.db is not an otto 0.10 table"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixtureCopy(t)
			tt.change(t, dir)
			d := mustRead(t, dir)
			t.Logf("Problems: %q", d.Problems)
			if !slices.ContainsFunc(d.Problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("Read Problems = %q, want one containing %q", d.Problems, tt.want)
			}
		})
	}
}

func TestReadErrLocked(t *testing.T) {
	dir := fixtureCopy(t)
	// Hold host.db the way a running 0.x server does.
	db, err := bolt.Open(filepath.Join(dir, "host.db"), 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Read(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Read(locked) = %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Read(locked) took %v, want a few seconds at most", took)
	}
	if !strings.Contains(err.Error(), "stop the 0.x server first") {
		t.Errorf("Read(locked) = %q, want it to say to stop the 0.x server", err)
	}
}

func TestReadErrNotDataDir(t *testing.T) {
	random := func(t *testing.T, dir string, names ...string) {
		for i, n := range names {
			b := bytes.Repeat([]byte{byte(i*37 + 1), 0x5a, 0xc3}, 4096)
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		name string
		make func(t *testing.T, dir string) string
	}{
		{"empty dir", func(t *testing.T, dir string) string { return dir }},
		{"random files", func(t *testing.T, dir string) string {
			random(t, dir, "a.bin", "b", "notes.txt")
			return dir
		}},
		{"random tables", func(t *testing.T, dir string) string {
			random(t, dir, "host.db", "group.db", "script.db", "user.db", "shadow.db", "state.db")
			return dir
		}},
		{"empty tables", func(t *testing.T, dir string) string {
			for _, n := range requiredTables {
				os.WriteFile(filepath.Join(dir, n+".db"), nil, 0o644)
			}
			return dir
		}},
		{"a file", func(t *testing.T, dir string) string {
			random(t, dir, "f")
			return filepath.Join(dir, "f")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.make(t, t.TempDir())
			before := snapshot(t, filepath.Dir(dir))
			_, err := Read(dir)
			t.Logf("Read: %v", err)
			if !errors.Is(err, ErrNotDataDir) {
				t.Fatalf("Read(%s) = %v, want ErrNotDataDir", tt.name, err)
			}
			if after := snapshot(t, filepath.Dir(dir)); !reflect.DeepEqual(after, before) {
				t.Errorf("Read(%s) changed the directory", tt.name)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	t0 := time.Date(2026, 11, 25, 11, 41, 48, 0, time.UTC)
	for _, v := range []any{
		"fYxpKIYR1wzJ",
		Host{ID: "h", Port: 12444, PSK: "p", GroupIDs: []string{"g"}, Environment: []Variable{{"K", "V", true}}, LastPSKRotate: t0},
		Script{ID: "s", RunAs: RunAs{UID: 1}, AttachmentIDs: []string{"a"}},
		Attachment{ID: "a", Mode: 644, Size: 25, Created: t0},
		Schedule{ID: "s", Scope: ScheduleScope{HostIDs: []string{"h"}}},
		ScheduleReport{ID: "r", HostResult: map[string]int{"h": 1}, Time: ScheduleReportTime{Start: t0}},
		Event{ID: "e", Details: map[string]string{"a": "b"}},
	} {
		f.Add(gobBytes(f, v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decode := func(v any) {
			if err := decodeGob(b, v); err == nil {
				// What decodes must survive a round trip unchanged.
				again := reflect.New(reflect.TypeOf(v).Elem()).Interface()
				if err := decodeGob(gobBytes(t, v), again); err != nil {
					t.Fatalf("decodeGob(encoding of %+v) = %v", v, err)
				}
			}
		}
		decode(new(string))
		decode(new(Host))
		decode(new(Group))
		decode(new(Script))
		decode(new(Attachment))
		decode(new(Schedule))
		decode(new(ScheduleReport))
		decode(new(RegisterRule))
		decode(new(User))
		decode(new(Event))
		decode(new(dsConfig))
	})
}
