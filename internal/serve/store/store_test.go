package store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/store"
	"github.com/otto-automation/otto/internal/serve/storetest"
	bolt "go.etcd.io/bbolt"
)

// crashChildEnv, when set to a directory, makes the test binary the child
// of TestCrashKeepsAcknowledged instead of running tests.
const crashChildEnv = "OTTO_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) domain.Store { return storetest.Open(t) })
}

// crashChild puts hosts until it is killed, printing each host's ID once
// Update has returned: from then on the host must survive anything.
func crashChild(dir string) {
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	payload := strings.Repeat("x", 2000) // spill onto new pages often
	for i := 0; ; i++ {
		h := domain.Host{Name: fmt.Sprint("host", i), PSK: payload}
		err := s.Update(context.Background(), func(tx domain.Tx) error {
			if err := tx.PutHost(&h); err != nil {
				return err
			}
			return tx.AppendEvent(&domain.Event{Type: domain.EventHostAdded})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(h.ID)
	}
}

// TestCrashKeepsAcknowledged kills processes writing to a store with
// SIGKILL, three in turn, and checks that the store opens, is consistent,
// and holds every host whose Update had returned.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	var acked []string
	for range 3 {
		acked = append(acked, killWriter(t, dir, 200)...)
	}

	s, err := store.Open(dir, store.Options{Logger: storetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	err = s.View(t.Context(), func(tx domain.Tx) error {
		for _, id := range acked {
			if _, err := tx.Host(id); err != nil {
				t.Errorf("acknowledged host lost: %v", err)
			}
		}
		hosts, err := tx.Hosts()
		t.Logf("%d hosts acknowledged, %d kept", len(acked), len(hosts))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// killWriter starts crashChild on dir, kills it once it acknowledged n
// hosts, and returns the IDs it acknowledged.
func killWriter(t *testing.T, dir string, n int) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		id := lines.Text()
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			t.Errorf("child printed %q", id)
			continue
		}
		if acked = append(acked, id); len(acked) == n {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		// Acks printed before the child died count too.
	}
	cmd.Wait()
	if len(acked) < n {
		t.Fatalf("child acknowledged only %d hosts", len(acked))
	}
	return acked
}

// TestBackupWhileWriting takes a backup while another goroutine writes
// and checks the backup opens as a consistent store holding at least
// what was committed before it started.
func TestBackupWhileWriting(t *testing.T) {
	s := storetest.Open(t)
	ctx := t.Context()
	put := func(i int) error {
		return s.Update(ctx, func(tx domain.Tx) error {
			return tx.PutHost(&domain.Host{Name: fmt.Sprint("host", i), PSK: strings.Repeat("k", 500)})
		})
	}
	for i := range 200 {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	before := hostCount(t, s)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for i := 200; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if writeErr = put(i); writeErr != nil {
				return
			}
		}
	})
	time.Sleep(20 * time.Millisecond) // let the writer get going
	var backup bytes.Buffer
	n, err := s.Backup(ctx, &backup)
	close(stop)
	wg.Wait()
	if err != nil || writeErr != nil {
		t.Fatalf("backup: %v; writer: %v", err, writeErr)
	}
	if n != int64(backup.Len()) {
		t.Errorf("Backup returned %d, wrote %d bytes", n, backup.Len())
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "otto.db"), backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored, err := store.Open(dir, store.Options{Logger: storetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if err := restored.Check(); err != nil {
		t.Fatal(err)
	}
	got, after := hostCount(t, restored), hostCount(t, s)
	t.Logf("hosts: %d before the backup, %d in it, %d after", before, got, after)
	if got < before || got > after {
		t.Errorf("backup holds %d hosts, want between %d and %d", got, before, after)
	}
}

func hostCount(t *testing.T, s domain.Store) int {
	t.Helper()
	var n int
	err := s.View(t.Context(), func(tx domain.Tx) error {
		hosts, err := tx.Hosts()
		for i, h := range hosts {
			if h.Name != fmt.Sprint("host", i) {
				return fmt.Errorf("host %s is %q, want host%d", h.ID, h.Name, i)
			}
		}
		n = len(hosts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = store.Open(dir, store.Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, domain.ErrInUse) || !strings.Contains(err.Error(), filepath.Join(dir, "otto.db")) {
		t.Errorf("second Open: %v, want ErrInUse naming the file", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %v", d)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, "otto.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 3})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(dir, store.Options{})
	want := fmt.Sprintf("store: %s has schema 3, this otto knows up to 2; upgrade otto", path)
	if err == nil || err.Error() != want {
		t.Errorf("Open: %v\nwant: %s", err, want)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "otto.db"), bytes.Repeat([]byte("not bbolt"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := store.Open(dir, store.Options{}); err == nil {
		s.Close()
		t.Fatal("Open of a file that is not a database: no error")
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, want := range map[string]os.FileMode{
		"":            os.ModeDir | 0o700,
		"otto.db":     0o600,
		"attachments": os.ModeDir | 0o700,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Join(dir, name), fi.Mode(), want)
		}
	}
}

// TestOpenRemovesTempBlobs checks that the leftovers of a blob write cut
// short by a crash go at the next Open, and finished blobs stay.
func TestOpenRemovesTempBlobs(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob(t.Context(), "kept", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	temp := filepath.Join(dir, "attachments", ".tmp-123")
	if err := os.WriteFile(temp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(temp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp blob after Open: %v", err)
	}
	rc, err := s.OpenBlob(t.Context(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}

// TestFailedUpdateResetsIDs checks that a record inserted by an Update
// that did not commit gets its empty ID back, so retrying inserts it, and
// that IDs the caller gave stay.
func TestFailedUpdateResetsIDs(t *testing.T) {
	s := storetest.Open(t)
	h := domain.Host{Name: "h"}
	e := domain.Event{Type: "e"}
	r := domain.Run{HostID: "1"}
	imported := domain.Event{ID: "VVVanl4_U0as", Type: "e"}
	errBoom := errors.New("boom")
	err := s.Update(t.Context(), func(tx domain.Tx) error {
		return errors.Join(tx.PutHost(&h), tx.AppendEvent(&e), tx.PutRun(&r), tx.AppendEvent(&imported), errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	if h.ID != "" || e.ID != "" || r.ID != "" || imported.ID != "VVVanl4_U0as" {
		t.Fatalf("after a failed Update: host ID %q, event IDs %q and %q, run ID %q; want \"\", \"\", VVVanl4_U0as, \"\"",
			h.ID, e.ID, imported.ID, r.ID)
	}
	err = s.Update(t.Context(), func(tx domain.Tx) error { return tx.PutHost(&h) })
	if err != nil || h.ID == "" {
		t.Fatalf("retry: %v, ID %q", err, h.ID)
	}
}

func TestNotFoundNamesTheRecord(t *testing.T) {
	s := storetest.Open(t)
	for _, tc := range []struct {
		get  func(tx domain.Tx) error
		want string
	}{
		{func(tx domain.Tx) error { _, err := tx.Host("7"); return err }, "store: host 7: not found"},
		{func(tx domain.Tx) error { _, err := tx.Host("VVVanl4_U0as"); return err }, `store: host "VVVanl4_U0as": not found`},
		{func(tx domain.Tx) error { _, err := tx.Run("7"); return err }, "store: run 7: not found"},
		{func(tx domain.Tx) error { _, err := tx.Run("07"); return err }, `store: run "07": not found`},
	} {
		if err := s.View(t.Context(), tc.get); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestLongIDs checks the bounds of an ID: up to 255 bytes it is kept,
// beyond that a put fails and a get finds nothing.
func TestLongIDs(t *testing.T) {
	s := storetest.Open(t)
	for _, id := range []string{strings.Repeat("9", 255), strings.Repeat("x", 255)} {
		h := domain.Host{ID: id, Name: id[:1]}
		if err := s.Update(t.Context(), func(tx domain.Tx) error { return tx.PutHost(&h) }); err != nil {
			t.Errorf("PutHost with a %d-byte ID: %v", len(id), err)
		}
	}
	for _, id := range []string{strings.Repeat("9", 256), strings.Repeat("x", 256)} {
		h := domain.Host{ID: id, Name: "long"}
		if err := s.Update(t.Context(), func(tx domain.Tx) error { return tx.PutHost(&h) }); err == nil {
			t.Errorf("PutHost with a %d-byte ID: no error", len(id))
		}
		err := s.View(t.Context(), func(tx domain.Tx) error {
			_, err := tx.Host(id)
			return err
		})
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Host of a %d-byte ID: %v, want ErrNotFound", len(id), err)
		}
	}
	if n := hostCountAny(t, s); n != 2 {
		t.Errorf("%d hosts, want 2", n)
	}
}

func hostCountAny(t *testing.T, s domain.Store) int {
	t.Helper()
	var n int
	err := s.View(t.Context(), func(tx domain.Tx) error {
		hosts, err := tx.Hosts()
		n = len(hosts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUpdateCanceledWhileWaiting checks that an Update whose context ends
// while it waits for another writer does not run.
func TestUpdateCanceledWhileWaiting(t *testing.T) {
	s := storetest.Open(t)
	inside, release := make(chan struct{}), make(chan struct{})
	go s.Update(t.Context(), func(domain.Tx) error {
		close(inside)
		<-release
		return nil
	})
	<-inside
	ctx, cancel := context.WithCancel(t.Context())
	called := false
	result := make(chan error)
	go func() {
		result <- s.Update(ctx, func(domain.Tx) error {
			called = true
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond) // let it queue for the writer lock
	cancel()
	close(release)
	if err := <-result; !errors.Is(err, context.Canceled) || called {
		t.Errorf("Update: %v, fn called: %v; want context.Canceled, not called", err, called)
	}
}

// TestGCBlobsSparesWrites checks that GCBlobs leaves alone a blob still
// being written, which no record can name yet.
func TestGCBlobsSparesWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pr, pw := io.Pipe()
	done := make(chan error)
	go func() {
		_, err := s.PutBlob(t.Context(), "uploading", pr)
		done <- err
	}()
	pw.Write([]byte("first half")) // returns once PutBlob has read it
	err = s.GCBlobs(t.Context(), func(key string) bool {
		t.Errorf("GCBlobs asked about %q", key)
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte(", second half"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenBlob(t.Context(), "uploading")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, _ := io.ReadAll(rc); string(data) != "first half, second half" {
		t.Errorf("blob: %q", data)
	}
}

// TestListMany lists enough hosts to be decoded in parallel.
func TestListMany(t *testing.T) {
	s := storetest.Open(t)
	const n = 2500
	err := s.Update(t.Context(), func(tx domain.Tx) error {
		for i := range n {
			if err := tx.PutHost(&domain.Host{Name: fmt.Sprint("host", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := hostCount(t, s); got != n {
		t.Errorf("%d hosts, want %d", got, n)
	}
}

// TestLargeOutputsSurviveDroppedPages: the store hands the mapped pages of
// large outputs back to the kernel after reading them and after commits of
// outputs, while other transactions read and write. Every read must still
// return exactly what was written, in read-only and writable transactions.
func TestLargeOutputsSurviveDroppedPages(t *testing.T) {
	s := storetest.Open(t)
	ctx := t.Context()
	output := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 200_000+i) }
	check := func(tx domain.Tx, id string, i int) error {
		r, err := tx.Run(id)
		if err != nil {
			return err
		}
		if want := output(i); r.Stdout != want || r.Stderr != "e" {
			return fmt.Errorf("run %s: stdout of %d bytes (starts %q), want %d of %q", id, len(r.Stdout), r.Stdout[:min(8, len(r.Stdout))], len(want), want[:1])
		}
		return nil
	}

	const n = 40
	ids := make([]string, n)
	var written atomic.Int64 // runs committed so far
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	done := make(chan struct{})
	for r := range 4 { // readers of every committed run, while commits go on
		wg.Go(func() {
			for k := r; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				m := int(written.Load())
				if m == 0 {
					continue
				}
				j := k % m
				if err := s.View(ctx, func(tx domain.Tx) error { return check(tx, ids[j], j) }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		err := s.Update(ctx, func(tx domain.Tx) error {
			r := domain.Run{BatchID: "b", State: domain.RunDone, Stdout: output(i), Stderr: "e"}
			if err := tx.PutRun(&r); err != nil {
				return err
			}
			ids[i] = r.ID
			return check(tx, r.ID, i) // a writable transaction's values may be on the heap
		})
		if err != nil {
			t.Fatal(err)
		}
		written.Add(1) // after ids[i]: readers load written first
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
