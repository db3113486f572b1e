// Package store keeps the server's records in one embedded bbolt file and
// attachment data in files beside it. It is the default backend of
// domain.Store; nothing of bbolt is visible outside this package.
//
// A data directory holds:
//
//	otto.db        the bbolt file: every record, one bucket per entity
//	attachments/   one file per blob, named by its key
//
// Records are JSON, keyed by their ID encoded so that a cursor walks them
// in the order of domain.CompareIDs (see idKey). IDs the store assigns come
// from the bucket's sequence, and a record put with a decimal ID of its own
// raises the sequence past it, so no ID is assigned twice, even after its
// record is deleted. Runs and events are keyed by a sequence number
// instead, in the order they were added; a run's ID is its number. Host
// and user names have index buckets. A run's output is kept apart from its
// summary, as raw bytes, so listing runs reads only the summaries: Tx.Runs
// returns runs without Stdout and Stderr, Tx.Run returns them whole. The
// bucket layout has a version, migrated forward by Open; a database of a
// newer schema than this binary knows is refused.
//
// Beyond what domain.Tx says: DeleteHost also deletes the host's status,
// and PutHostStatus of a host that does not exist is ErrNotFound
// (storetest.Conformance holds every backend to both); HostByName and
// UserByName match names exactly, the first in list order winning if names
// repeat; an ID is at most 255 bytes, and a put with a longer one fails.
//
// Only one process may open a data directory: the file lock bbolt takes is
// waited for at most Options.Timeout, after which Open fails with
// domain.ErrInUse instead of hanging.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/otto-automation/otto/internal/serve/domain"
	bolt "go.etcd.io/bbolt"
)

// File and directory names inside the data directory.
const (
	dbFile  = "otto.db"
	blobDir = "attachments"
)

// defaultTimeout is how long Open waits for another process to release the
// data directory: long enough to ride out a restart, short enough that a
// second server started by mistake fails at once.
const defaultTimeout = time.Second

// initialMmapSize is how much of the database file bbolt maps at first, in
// bytes of address space (pages count as memory only once read).
const initialMmapSize = 1 << 30

// Options configure Open. The zero value is the production setting.
type Options struct {
	// Logger receives the store's few log lines (open, migrate, blob GC).
	// nil discards them.
	Logger *slog.Logger
	// Timeout bounds the wait for the data directory's lock; 0 means 1s.
	Timeout time.Duration
	// NoSync skips fsync on commit. A crash of the process loses nothing,
	// but a power loss may lose or corrupt committed data: for benchmarks
	// and throwaway tests only.
	NoSync bool
}

// Store is the bbolt backend of domain.Store. Its methods are safe for
// concurrent use.
type Store struct {
	db     *bolt.DB
	blobs  string
	log    *slog.Logger
	closed atomic.Bool
	hosts  hostCache
	// dropped is when dropMapped last ran, in Unix nanoseconds.
	dropped atomic.Int64
}

var _ domain.Store = (*Store)(nil)

// Open opens the store in dir, creating the directory (mode 0700), the
// database and the blob directory if they are missing, and migrating the
// database to the schema this binary knows.
func Open(dir string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	blobs := filepath.Join(dir, blobDir)
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: timeout,
		NoSync:  opts.NoSync,
		// The map freelist stays fast as run history churns pages.
		FreelistType: bolt.FreelistMapType,
		// Address space only, not memory: while the file fits, a commit
		// that grows it need not re-map it, which copies every page the
		// transaction touched (a batch of run outputs) onto the heap.
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: %s: %w", path, domain.ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Holding the lock now, nothing else writes blobs.
	if err := removeTempBlobs(blobs); err != nil {
		db.Close()
		return nil, err
	}
	from, to, err := migrate(db, migrations)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s %w", path, err)
	}
	if from != to {
		log.Info("store migrated", "path", path, "from", from, "to", to)
	}
	log.Info("store opened", "path", path, "schema", to)
	return &Store{db: db, blobs: blobs, log: log}, nil
}

// View runs fn in a read-only transaction: a consistent snapshot that
// writers do not block.
func (s *Store) View(ctx context.Context, fn func(domain.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(func(b *bolt.Tx) error { return fn(&tx{b: b, cache: &s.hosts}) })
	s.maybeDropMapped(false)
	return s.wrap(err)
}

// Update runs fn in a read-write transaction and commits it with one fsync
// if fn returns nil. Writers run one at a time. If the transaction does not
// commit, IDs it assigned to inserted records are reset to "", so the
// caller can retry with the same values.
func (s *Store) Update(ctx context.Context, fn func(domain.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &tx{}
	err := s.db.Update(func(b *bolt.Tx) error {
		// The wait for the writer lock may have outlived ctx.
		if err := ctx.Err(); err != nil {
			return err
		}
		t.b = b
		return fn(t)
	})
	if err != nil {
		for _, id := range t.assigned {
			*id = ""
		}
	}
	s.maybeDropMapped(t.outputBytes >= dropPagesMin)
	return s.wrap(err)
}

// dropMappedEvery is how often the store lets go of the database pages it
// mapped (see maybeDropMapped).
const dropMappedEvery = 10 * time.Second

// maybeDropMapped calls dropMapped if force is set or dropMappedEvery has
// passed since it last ran. Every page read through the database mapping
// stays in the RSS: a commit of run outputs reads the outputs that share a
// page of the B+tree with the new ones, to write them anew, and the run
// history grows by the day. Without this a server that stored a hundred
// 1 MiB outputs held about as many megabytes of the file, and one that ran
// small scripts for weeks held its whole history.
func (s *Store) maybeDropMapped(force bool) {
	now := time.Now().UnixNano()
	last := s.dropped.Load()
	if !force && now-last < int64(dropMappedEvery) {
		return
	}
	if s.dropped.CompareAndSwap(last, now) {
		s.dropMapped()
	}
}

// dropMapped lets go of every page of the database mapping that this
// process holds (see dropPages).
func (s *Store) dropMapped() {
	s.db.View(func(tx *bolt.Tx) error {
		if m := mapping(tx); len(m) >= dropPagesMin {
			dropPages(m)
		}
		return nil
	})
}

// dropPagesMin is the smallest value, in bytes, whose pages a read lets go
// of (see dropValue): run outputs, not the small records read all the time.
const dropPagesMin = 64 << 10

// dropValue lets go of the mapped pages under v, a large value that tx read
// and that was copied. A writable transaction's values, and some of a read
// transaction's (bbolt copies misaligned inline buckets), are on the heap:
// only a value inside the mapping is let go of.
func dropValue(tx *bolt.Tx, v []byte) {
	if len(v) < dropPagesMin || tx.Writable() {
		return
	}
	m := mapping(tx)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	if p >= start && p+uintptr(len(v)) <= start+uintptr(len(m)) {
		dropPages(v)
	}
}

// mapping is the part of the database file's mapping that tx can see. It
// does not move while tx is open, and it is outside the Go heap, so its
// address can be held as a pointer.
func mapping(tx *bolt.Tx) []byte {
	info := tx.DB().Info()
	base := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
	return unsafe.Slice((*byte)(base), tx.Size())
}

// Backup writes a consistent copy of the database file to w while the
// store stays in use. Blobs are not included. The copy opens as a store
// when saved as otto.db in a data directory.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.View(func(b *bolt.Tx) error {
		var err error
		n, err = b.WriteTo(w)
		return err
	})
	if err != nil && !errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = fmt.Errorf("store: backup: %w", err)
	}
	return n, s.wrap(err)
}

// Check verifies the database file's internal consistency (bbolt's page
// and freelist checks). It reads every page: meant for tests and repairs.
func (s *Store) Check() error {
	var errs []error
	err := s.db.View(func(b *bolt.Tx) error {
		for err := range b.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return s.wrap(err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: check %s: %w", s.db.Path(), err)
	}
	return nil
}

// Close waits for open transactions to end and closes the database. Later
// calls on the store, Close included, return domain.ErrStoreClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return s.wrap(bolt.ErrDatabaseNotOpen)
	}
	path := s.db.Path()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", path, err)
	}
	s.log.Info("store closed", "path", path)
	return nil
}

// wrap turns bbolt's closed-database error into domain.ErrStoreClosed and
// leaves every other error, fn's own included, as it is.
func (s *Store) wrap(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("store: %w", domain.ErrStoreClosed)
	}
	return err
}
