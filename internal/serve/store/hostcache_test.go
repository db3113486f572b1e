package store_test

import (
	"context"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/storetest"
)

// TestHostCache checks that the cached host list follows every change to
// the hosts, in any transaction, and that a caller's changes to its copy
// stay its own.
func TestHostCache(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	group := domain.Group{Name: "g"}
	update := func(fn func(tx domain.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		t.Helper()
		var out []string
		err := s.View(ctx, func(tx domain.Tx) error {
			hs, err := tx.Hosts()
			for _, h := range hs {
				out = append(out, h.Name)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	update(func(tx domain.Tx) error { return tx.PutGroup(&group) })
	a := domain.Host{Name: "a", GroupIDs: []string{group.ID}}
	b := domain.Host{Name: "b", GroupIDs: []string{group.ID}}
	update(func(tx domain.Tx) error { return tx.PutHost(&a) })
	if got := names(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("Hosts() = %v, want [a]", got)
	}
	names() // a hit
	update(func(tx domain.Tx) error { return tx.PutHost(&b) })
	if got := names(); len(got) != 2 {
		t.Fatalf("Hosts() after insert = %v, want [a b]", got)
	}
	a.Name = "a2"
	update(func(tx domain.Tx) error { return tx.PutHost(&a) })
	if got := names(); got[0] != "a2" {
		t.Fatalf("Hosts() after rename = %v, want a2 first", got)
	}
	update(func(tx domain.Tx) error { return tx.DeleteHost(b.ID) })
	if got := names(); len(got) != 1 {
		t.Fatalf("Hosts() after delete = %v, want [a2]", got)
	}
	// A write to another bucket keeps the cache; a failed write changes nothing.
	update(func(tx domain.Tx) error { return tx.PutGroup(&domain.Group{Name: "h"}) })
	_ = s.Update(ctx, func(tx domain.Tx) error {
		c := domain.Host{Name: "c", GroupIDs: []string{group.ID}}
		if err := tx.PutHost(&c); err != nil {
			return err
		}
		return context.Canceled // roll back
	})
	if got := names(); len(got) != 1 || got[0] != "a2" {
		t.Fatalf("Hosts() after a rolled-back insert = %v, want [a2]", got)
	}

	err := s.View(ctx, func(tx domain.Tx) error {
		hs, err := tx.Hosts()
		hs[0].Name = "changed"
		hs[0].GroupIDs[0] = "999"
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx domain.Tx) error {
		hs, _ := tx.Hosts()
		if hs[0].Name != "a2" || hs[0].GroupIDs[0] != group.ID {
			t.Errorf("Hosts() after a caller changed its copy = %+v, want it unchanged", hs[0])
		}
		return nil
	})
}
