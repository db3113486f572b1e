package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/legacy"
	"github.com/otto-automation/otto/internal/serve/legacy/legacytest"
	"github.com/otto-automation/otto/internal/serve/store"
)

var importTime = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func importInto(t *testing.T, old string, o Options) (string, error) {
	t.Helper()
	o.Now = func() time.Time { return importTime }
	dir := filepath.Join(t.TempDir(), "new")
	_, err := Import(context.Background(), old, dir, o)
	return dir, err
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestImportFixture(t *testing.T) {
	dir, err := importInto(t, legacytest.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir)
	ctx := context.Background()
	err = st.View(ctx, func(tx domain.Tx) error {
		h, err := tx.Host("fYxpKIYR1wzJ")
		if err != nil {
			return err
		}
		if h.Name != "web-1" || h.Address != "10.20.0.11" || h.Port != 12444 || h.PSK != "psk-web-1-aaaaaaaaaaaaaaaa" ||
			!h.Enabled || len(h.GroupIDs) != 1 || h.GroupIDs[0] != "mJSOkNgnSdaa" || h.RotateOnContact {
			t.Errorf("host web-1 = %+v", h)
		}
		// The fixture rotates PSKs every 14 days and never did: the
		// rotation would be due at once, so it counts from the import.
		if !h.LastPSKRotate.Equal(importTime) {
			t.Errorf("LastPSKRotate = %v, want the import time", h.LastPSKRotate)
		}
		hosts, _ := tx.Hosts()
		groups, _ := tx.Groups()
		scripts, _ := tx.Scripts()
		atts, _ := tx.Attachments()
		scheds, _ := tx.Schedules()
		rules, _ := tx.RegisterRules()
		users, _ := tx.Users()
		if len(hosts) != 3 || len(groups) != 2 || len(scripts) != 2 || len(atts) != 1 || len(scheds) != 2 || len(rules) != 1 || len(users) != 2 {
			t.Errorf("imported %d hosts, %d groups, %d scripts, %d attachments, %d schedules, %d rules, %d users",
				len(hosts), len(groups), len(scripts), len(atts), len(scheds), len(rules), len(users))
		}
		for _, u := range users {
			if u.Role != domain.RoleAdmin || !strings.HasPrefix(u.PasswordHash, legacy.HashPrefix) || u.ID == "" {
				t.Errorf("user %s: role %q, ID %q, password hash %.10q...", u.Username, u.Role, u.ID, u.PasswordHash)
			}
		}
		alice, err := tx.UserByName("alice")
		if err != nil {
			return err
		}
		if !legacy.CheckHash(strings.TrimPrefix(alice.APIKeyHash, legacy.HashPrefix), legacytest.AliceAPIKey) {
			t.Error("alice's API key does not match her imported API key hash")
		}
		o, err := tx.Options()
		if err != nil {
			return err
		}
		if o.Register.Key != "fixture-register-key" || o.Register.DefaultGroupID != "F.fDgDzsFh5X" || o.Network.HeartbeatFrequency != 3 ||
			o.General.ServerURL != "http://127.0.0.1:18181/" || len(o.General.GlobalEnvironment) != 1 || o.Runs != domain.DefaultOptions().Runs {
			t.Errorf("options = %+v", o)
		}
		evs, err := tx.Events(0)
		if err != nil {
			return err
		}
		if len(evs) < 2 || evs[0].Type != domain.EventDataImported || evs[0].User != Importer {
			t.Fatalf("newest event = %+v, want the import", evs[0])
		}
		if last := evs[1]; last.ID != "jMe12llsoI4r" || last.Type != "ServerOptionsModified" || last.User != "admin" {
			t.Errorf("newest 0.x event = %+v, want jMe12llsoI4r ServerOptionsModified by admin", last)
		}
		a := atts[0]
		if a.ID != "At7Lc6r27Aaw" || a.Mode != 0o644 || a.MimeType != "text/plain" || a.Path != "/etc/motd.d/otto" || a.Size != 25 {
			t.Errorf("attachment = %+v", a)
		}
		r, err := st.OpenBlob(ctx, a.BlobKey)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		want, err := os.ReadFile(filepath.Join(legacytest.Dir(), "data", "attachments", a.ID))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(want)
		if string(b) != string(want) || a.Checksum != hex.EncodeToString(sum[:]) {
			t.Errorf("attachment bytes %q (checksum %s), want %q", b, a.Checksum, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is left beside the new directory.
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("beside the import: %v, want only the new directory", entries)
	}
}

func TestImportKeepsRecentRotation(t *testing.T) {
	r := domain.RotatePSKOptions{Enabled: true, FrequencyDays: 14}
	recent := importTime.AddDate(0, 0, -3)
	for _, tc := range []struct {
		last time.Time
		r    domain.RotatePSKOptions
		want time.Time
	}{
		{recent, r, recent},
		{time.Time{}, r, importTime},
		{importTime.AddDate(0, 0, -14), r, importTime},
		{time.Time{}, domain.RotatePSKOptions{}, time.Time{}},
	} {
		if got := lastRotate(tc.last, tc.r, importTime); !got.Equal(tc.want) {
			t.Errorf("lastRotate(%v, %+v) = %v, want %v", tc.last, tc.r, got, tc.want)
		}
	}
}

// TestImportRefuses: each refusal leaves the target as it was.
func TestImportRefuses(t *testing.T) {
	t.Run("target not empty", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Import(context.Background(), legacytest.Dir(), dir, Options{})
		if !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("err = %v, want ErrNotEmpty", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("target holds %v after the refusal", entries)
		}
	})
	t.Run("not a 0.x directory", func(t *testing.T) {
		dir, err := importInto(t, t.TempDir(), Options{})
		if !errors.Is(err, legacy.ErrNotDataDir) {
			t.Fatalf("err = %v, want ErrNotDataDir", err)
		}
		assertAbsent(t, dir)
	})
	t.Run("0.x server still running", func(t *testing.T) {
		old := legacytest.Copy(t)
		db, err := bolt.Open(filepath.Join(old, "host.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dir, err := importInto(t, old, Options{})
		if !errors.Is(err, legacy.ErrLocked) {
			t.Fatalf("err = %v, want ErrLocked", err)
		}
		assertAbsent(t, dir)
	})
	t.Run("problems", func(t *testing.T) {
		old := legacytest.Copy(t)
		if err := os.Remove(filepath.Join(old, "attachments", "At7Lc6r27Aaw")); err != nil {
			t.Fatal(err)
		}
		dir, err := importInto(t, old, Options{})
		if !errors.Is(err, ErrProblems) {
			t.Fatalf("err = %v, want ErrProblems", err)
		}
		assertAbsent(t, dir)

		// Told to, it imports the rest, without the attachment.
		dir, err = importInto(t, old, Options{IgnoreProblems: true})
		if err != nil {
			t.Fatal(err)
		}
		st := openStore(t, dir)
		err = st.View(context.Background(), func(tx domain.Tx) error {
			atts, _ := tx.Attachments()
			scripts, _ := tx.Scripts()
			for _, s := range scripts {
				if len(s.AttachmentIDs) > 0 {
					t.Errorf("script %s still names attachments %v", s.Name, s.AttachmentIDs)
				}
			}
			if len(atts) != 0 || len(scripts) != 2 {
				t.Errorf("%d attachments, %d scripts; want 0, 2", len(atts), len(scripts))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("record refused by the domain", func(t *testing.T) {
		old := legacytest.Copy(t)
		conf := filepath.Join(old, "otto_server.conf")
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), `"MaxAgeMinutes":60`, `"MaxAgeMinutes":0`, 1))
		if err := os.WriteFile(conf, b, 0o600); err != nil {
			t.Fatal(err)
		}
		dir, err := importInto(t, old, Options{})
		if err == nil || !strings.Contains(err.Error(), "MaxAgeMinutes") {
			t.Fatalf("err = %v, want the options refused", err)
		}
		assertAbsent(t, dir)
	})
}

// assertAbsent checks that a failed import left nothing: neither the
// target nor a temporary directory beside it.
func assertAbsent(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after a failed import (%v)", dir, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("left beside the target: %v", entries)
	}
}

func BenchmarkImportFixture(b *testing.B) {
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "new")
		if _, err := Import(context.Background(), legacytest.Dir(), dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
