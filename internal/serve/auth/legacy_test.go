package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/legacy"
	"github.com/otto-automation/otto/internal/serve/legacy/legacytest"
	"github.com/otto-automation/otto/internal/serve/storetest"
)

// A user imported from 0.x logs in with the 0.x password and calls the API
// with the 0.x API key, read from the fixture's shadow.db as the importer
// stores them; each hash is replaced by ours at its first use. Wrong ones
// change nothing; they are tried on bob's PBKDF2 hashes, as a wrong guess
// against Argon2id tries every thread count (slow under -race).
func TestImportedHashes(t *testing.T) {
	d, err := legacy.Read(legacytest.Copy(t))
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	svc := &domain.Service{Store: st, Passwords: NewBounded(Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}, 2)}
	ctx := context.Background()
	err = st.Update(ctx, func(tx domain.Tx) error {
		u := domain.User{Username: "alice", Role: domain.RoleAdmin, CanLogIn: true,
			PasswordHash: legacy.HashPrefix + d.Passwords["alice"], APIKeyHash: legacy.HashPrefix + d.APIKeys["alice"]}
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		bob := domain.User{Username: "bob", Role: domain.RoleAdmin, CanLogIn: true,
			PasswordHash: legacy.HashPrefix + pbkdf2Hash(t, "bob-pw"), APIKeyHash: legacy.HashPrefix + pbkdf2Hash(t, "bob-key")}
		return tx.PutUser(&bob)
	})
	if err != nil {
		t.Fatal(err)
	}
	a := New(svc, storetest.Logger(t), nil)
	stored := func(name string) domain.User {
		t.Helper()
		u, err := svc.User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	apiCall := func(name, key string) (Principal, error) {
		req := httptest.NewRequest("GET", "/api/state", nil)
		req.Header.Set(HeaderUsername, name)
		req.Header.Set(HeaderAPIKey, key)
		return a.Authenticate(req)
	}

	if _, err := a.Login(ctx, "bob", "bob-pW", "10.0.0.1:1"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("Login(bob, wrong password) = %v, want ErrBadLogin", err)
	}
	if _, err := apiCall("bob", "bob-key-"); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("API key with a byte more = %v, want ErrBadAPIKey", err)
	}
	if _, err := apiCall("bob", "bob-pw"); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("API key = the password: %v, want ErrBadAPIKey", err)
	}
	if u := stored("bob"); !strings.HasPrefix(u.PasswordHash, legacy.HashPrefix) || !strings.HasPrefix(u.APIKeyHash, legacy.HashPrefix) {
		t.Fatalf("a failed attempt changed the stored hashes")
	}
	a.Throttle = NewThrottle(nil) // the failures above slow down 10.0.0.1
	// A password change checks the old password against the 0.x hash.
	if err := svc.ResetPassword(ctx, "bob", "bob-pw", "bob-new-pw", ""); err != nil {
		t.Errorf("ResetPassword(bob, 0.x password) = %v", err)
	}
	if _, err := a.Login(ctx, "bob", "bob-new-pw", "10.0.0.3:1"); err != nil {
		t.Errorf("Login(bob, new password) = %v", err)
	}
	if _, err := apiCall("bob", "bob-key"); err != nil {
		t.Errorf("bob's 0.x API key: %v", err)
	}

	res, err := a.Login(ctx, "alice", legacytest.AlicePassword, "10.0.0.2:1")
	if err != nil || res.User.Username != "alice" {
		t.Fatalf("Login(alice, 0.x password) = %+v, %v", res.User, err)
	}
	u := stored("alice")
	if strings.HasPrefix(u.PasswordHash, legacy.HashPrefix) || !svc.Passwords.Check(u.PasswordHash, legacytest.AlicePassword) {
		t.Errorf("password hash after login = %.16q..., want ours, of the same password", u.PasswordHash)
	}
	if _, err := a.Login(ctx, "alice", legacytest.AlicePassword, "10.0.0.2:1"); err != nil {
		t.Errorf("second login, with our hash: %v", err)
	}

	p, err := apiCall("alice", legacytest.AliceAPIKey)
	if err != nil || p.User.Username != "alice" || p.Via != ViaAPIKey {
		t.Fatalf("API key of 0.x = %+v, %v", p, err)
	}
	if u := stored("alice"); u.APIKeyHash != HashToken(legacytest.AliceAPIKey) {
		t.Errorf("API key hash after use = %.16q..., want ours", u.APIKeyHash)
	}
	if _, err := apiCall("alice", legacytest.AliceAPIKey); err != nil {
		t.Errorf("API key, with our hash: %v", err)
	}
}

// pbkdf2Hash is how 0.x stored a secret with its algorithm 3.
func pbkdf2Hash(t *testing.T, secret string) string {
	const salt = "0123456789ab"
	key, err := pbkdf2.Key(sha256.New, secret, []byte(salt), 4096, 32)
	if err != nil {
		t.Fatal(err)
	}
	return "3$" + salt + "$" + hex.EncodeToString(key)
}
