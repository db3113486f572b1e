package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/storetest"
)

func TestSessionExpires(t *testing.T) {
	st := storetest.Open(t)
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := &domain.Service{Store: st, Passwords: Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}, Now: clock}
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, "first-password", true); err != nil {
		t.Fatal(err)
	}
	a := New(svc, storetest.Logger(t), clock)
	res, err := a.Login(ctx, "admin", "first-password", "10.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Session.Partial || res.Session.Expires != now.Add(time.Hour) {
		t.Errorf("session = %+v, want partial, expiring in an hour", res.Session)
	}
	req := httptest.NewRequest("GET", "/api/state", nil)
	req.AddCookie(Cookie(res, false))
	p, err := a.Authenticate(req)
	if err != nil || p.User.Username != "admin" || !p.Partial || p.Via != ViaSession {
		t.Errorf("Authenticate() = %+v, %v, want admin, partial, by session", p, err)
	}
	now = now.Add(time.Hour)
	if _, err := a.Authenticate(req); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("Authenticate() an hour later = %v, want ErrSessionExpired", err)
	}
	// The next login sweeps the expired session away.
	if _, err := a.Login(ctx, "admin", "first-password", "10.0.0.1:1234"); err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, func(tx domain.Tx) error {
		_, err := tx.Session(res.Session.TokenHash)
		return err
	})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("expired session still stored: %v", err)
	}
}
