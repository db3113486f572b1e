package store

import (
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestMigrate runs a database through versions of a made-up schema,
// as a later otto would.
func TestMigrate(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var ran []int
	step := func(v int) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			ran = append(ran, v)
			_, err := tx.CreateBucket([]byte{byte('a' + v)})
			return err
		}
	}
	steps := []func(*bolt.Tx) error{step(0), step(1)}
	for _, tc := range []struct {
		steps    []func(*bolt.Tx) error
		from, to int
		ran      []int
	}{
		{steps[:1], 0, 1, []int{0}},
		{steps[:1], 1, 1, nil},
		{steps, 1, 2, []int{1}},
	} {
		ran = nil
		from, to, err := migrate(db, tc.steps)
		if err != nil || from != tc.from || to != tc.to || len(ran) != len(tc.ran) || len(ran) > 0 && ran[0] != tc.ran[0] {
			t.Errorf("migrate with %d steps: %d -> %d, ran %v, %v; want %d -> %d, ran %v",
				len(tc.steps), from, to, ran, err, tc.from, tc.to, tc.ran)
		}
	}

	// A failing step leaves the database as it was.
	errBoom := errors.New("boom")
	failing := append(steps, func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket([]byte("z")); err != nil {
			return err
		}
		return errBoom
	})
	if _, _, err := migrate(db, failing); !errors.Is(err, errBoom) {
		t.Errorf("failing step: %v", err)
	}
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("z")) != nil {
			t.Error("a failed migration left its bucket")
		}
		return nil
	})
	if from, _, err := migrate(db, steps); err != nil || from != 2 {
		t.Errorf("after a failed migration: schema %d, %v; want 2", from, err)
	}
}
