// Package storetest helps test code that keeps data in a store: Open gives
// a test its own bbolt store and checks it when the test ends, and
// Conformance is the behaviour every domain.Store backend must show.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/store"
)

// Open opens a new store in t.TempDir(). When the test ends it checks the
// file's consistency and otto's invariants (see CheckInvariants), failing
// the test if either is broken, and closes the store. A test may close
// the store itself; the check then reopens it.
func Open(t testing.TB) *store.Store {
	t.Helper()
	dir := t.TempDir()
	opts := store.Options{Logger: Logger(t), Timeout: 100 * time.Millisecond}
	s, err := store.Open(dir, opts)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		err := s.Check()
		if errors.Is(err, domain.ErrStoreClosed) {
			if s, err = store.Open(dir, opts); err != nil {
				t.Errorf("storetest: reopening the store to check it: %v", err)
				return
			}
			err = s.Check()
		}
		if err != nil {
			t.Errorf("storetest: %v", err)
		}
		if err := CheckInvariants(context.Background(), s); err != nil {
			t.Errorf("storetest: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return s
}

// CheckInvariants reports every reference in s to a record that does not
// exist: a host's group, a script's attachment, a schedule's script, a
// host status's host. Keeping them is the domain's job (the store does not
// enforce them), so a broken one found after a test is a domain bug.
func CheckInvariants(ctx context.Context, s domain.Store) error {
	var errs []error
	err := s.View(ctx, func(tx domain.Tx) error {
		hosts, err := tx.Hosts()
		if err != nil {
			return err
		}
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		scripts, err := tx.Scripts()
		if err != nil {
			return err
		}
		attachments, err := tx.Attachments()
		if err != nil {
			return err
		}
		schedules, err := tx.Schedules()
		if err != nil {
			return err
		}
		statuses, err := tx.HostStatuses()
		if err != nil {
			return err
		}
		hostIDs, groupIDs := ids(hosts, hostID), ids(groups, groupID)
		scriptIDs, attachmentIDs := ids(scripts, scriptID), ids(attachments, attachmentID)
		for _, h := range hosts {
			for _, id := range h.GroupIDs {
				if !groupIDs[id] {
					errs = append(errs, fmt.Errorf("host %s is in group %s, which does not exist", h.ID, id))
				}
			}
		}
		for _, s := range scripts {
			for _, id := range s.AttachmentIDs {
				if !attachmentIDs[id] {
					errs = append(errs, fmt.Errorf("script %s has attachment %s, which does not exist", s.ID, id))
				}
			}
		}
		for _, s := range schedules {
			if !scriptIDs[s.ScriptID] {
				errs = append(errs, fmt.Errorf("schedule %s runs script %s, which does not exist", s.ID, s.ScriptID))
			}
		}
		for _, s := range statuses {
			if !hostIDs[s.HostID] {
				errs = append(errs, fmt.Errorf("status of host %s, which does not exist", s.HostID))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("invariants: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invariants broken:\n%w", err)
	}
	return nil
}

func ids[T any](records []T, id func(T) string) map[string]bool {
	m := make(map[string]bool, len(records))
	for _, r := range records {
		m[id(r)] = true
	}
	return m
}

func hostID(h domain.Host) string             { return h.ID }
func groupID(g domain.Group) string           { return g.ID }
func scriptID(s domain.Script) string         { return s.ID }
func attachmentID(a domain.Attachment) string { return a.ID }

// Logger returns a logger writing to t.Log, without times. Lines logged
// after the test's cleanups ran, by a goroutine that outlived it, are
// dropped: t.Log would panic.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
