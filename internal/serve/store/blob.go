package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// Blob files are named by their key. A blob being written is a temp file
// whose name no key can have, renamed to its key once it is on disk.
const (
	tempPrefix = ".tmp-"
	maxKeyLen  = 128
)

// PutBlob stores r's data under key, replacing any blob there, and
// returns once the data and its name are on disk. A key is 1 to 128 of
// A-Z a-z 0-9 _ -.
func (s *Store) PutBlob(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	if err := validKey(key); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.blobs, tempPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("store: blob %s: %w", key, err)
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.blobs, key))
	}
	if err == nil {
		err = syncDir(s.blobs)
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, fmt.Errorf("store: blob %s: %w", key, err)
	}
	return n, nil
}

// OpenBlob opens the blob under key for reading; the caller closes it.
func (s *Store) OpenBlob(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if err := validKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.blobs, key))
	if err != nil {
		return nil, blobError(key, err)
	}
	return f, nil
}

// DeleteBlob deletes the blob under key.
func (s *Store) DeleteBlob(ctx context.Context, key string) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.blobs, key)); err != nil {
		return blobError(key, err)
	}
	return nil
}

// GCBlobs deletes the blobs whose key keep reports false. The caller must
// keep the keys of blobs put for records not yet committed: GCBlobs cannot
// tell those from the leftovers of a failed upload.
func (s *Store) GCBlobs(ctx context.Context, keep func(key string) bool) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	entries, err := os.ReadDir(s.blobs)
	if err != nil {
		return fmt.Errorf("store: blobs: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := e.Name()
		if validKey(key) != nil || keep(key) {
			continue
		}
		if err := os.Remove(filepath.Join(s.blobs, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: blob %s: %w", key, err)
		}
		removed++
	}
	if removed > 0 {
		s.log.Info("store removed unused blobs", "count", removed)
	}
	return nil
}

// usable reports why the store cannot serve a blob call, if it cannot.
func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("store: %w", domain.ErrStoreClosed)
	}
	return nil
}

// validKey rejects keys that are not plain file names of our choosing.
func validKey(key string) error {
	ok := key != "" && len(key) <= maxKeyLen
	for _, c := range key {
		ok = ok && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-')
	}
	if !ok {
		return fmt.Errorf("store: blob key %q: want 1 to %d of A-Z a-z 0-9 _ -", key, maxKeyLen)
	}
	return nil
}

func blobError(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: blob %s: %w", key, domain.ErrNotFound)
	}
	return fmt.Errorf("store: blob %s: %w", key, err)
}

// removeTempBlobs deletes what writes cut short by a crash left behind.
// Only Open calls it, holding the lock, so no write can be in progress.
func removeTempBlobs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: blobs: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("store: blobs: %w", err)
			}
		}
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
