package domain

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// PasswordHasher hashes and checks user passwords. The auth package
// provides the real one; the domain only needs to call it.
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Check reports whether password matches hash, in constant time.
	Check(hash, password string) bool
}

// Service applies the domain's rules to changes: it validates, checks
// uniqueness and references, writes the change and its audit event in one
// transaction, and turns a store's ErrNotFound into a message naming the
// missing record. The API calls it; it knows nothing of HTTP.
//
// The who argument of every change is the username the audit event names.
type Service struct {
	Store     Store
	Passwords PasswordHasher
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now Clock
}

// MinPasswordLen is the shortest password a user may set.
const MinPasswordLen = 8

// DefaultGroupName is the group a new server starts with.
const DefaultGroupName = "Otto Clients"

// DefaultClientPort is the port an otto client listens on unless told
// otherwise; a host stored with port 0 gets it.
const DefaultClientPort = 12444

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// event appends an audit event inside tx.
func (s *Service) event(tx Tx, who, typ string, details map[string]string) error {
	e := Event{Time: s.now(), Type: typ, User: who, Details: details}
	if err := tx.AppendEvent(&e); err != nil {
		return fmt.Errorf("appending %s event: %w", typ, err)
	}
	return nil
}

// Event appends one audit event in its own transaction, for events that
// are not part of a change (logins, refused registrations, server start).
func (s *Service) Event(ctx context.Context, who, typ string, details map[string]string) error {
	return s.Store.Update(ctx, func(tx Tx) error { return s.event(tx, who, typ, details) })
}

// Events lists the newest n audit events (n <= 0: all).
func (s *Service) Events(ctx context.Context, n int) ([]Event, error) {
	var evs []Event
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		evs, err = tx.Events(n)
		return err
	})
	return evs, err
}

// Bootstrap prepares a store for serving: on a fresh store it creates the
// default group, the options (pointing registration at that group) and the
// user admin with adminPassword, which must be changed at first login when
// mustChange is set. It reports whether it created the admin. On a store
// that already has users it changes nothing but missing options.
func (s *Service) Bootstrap(ctx context.Context, adminPassword string, mustChange bool) (createdAdmin bool, err error) {
	err = s.Store.Update(ctx, func(tx Tx) error {
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		opts, err := tx.Options()
		if errors.Is(err, ErrNotFound) || (err == nil && opts.Network.Timeout == 0 && opts.Authentication.MaxAgeMinutes == 0) {
			opts, err = DefaultOptions(), nil
		}
		if err != nil {
			return err
		}
		if len(groups) == 0 {
			g := Group{Name: DefaultGroupName}
			if err := tx.PutGroup(&g); err != nil {
				return err
			}
			if err := s.event(tx, "", EventGroupAdded, map[string]string{"ID": g.ID, "Name": g.Name}); err != nil {
				return err
			}
			groups = append(groups, g)
		}
		if _, err := tx.Group(opts.Register.DefaultGroupID); opts.Register.DefaultGroupID == "" || err != nil {
			opts.Register.DefaultGroupID = groups[0].ID
		}
		if err := tx.PutOptions(opts); err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil || len(users) > 0 {
			return err
		}
		hash, err := s.Passwords.Hash(adminPassword)
		if err != nil {
			return err
		}
		u := User{Username: "admin", Role: RoleAdmin, PasswordHash: hash, CanLogIn: true, MustChangePassword: mustChange, Created: s.now()}
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		createdAdmin = true
		return s.event(tx, "", EventUserAdded, map[string]string{"ID": u.ID, "Username": u.Username, "Role": u.Role})
	})
	return createdAdmin, err
}

// NewPSK returns a fresh random pre-shared key for a host: 32 random bytes,
// base64url without padding (43 characters).
func NewPSK() string { return randomToken(32) }

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never returns an error since Go 1.24
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func ids(ns []string) string { return strings.Join(ns, ",") }

func contains(ns []string, n string) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

// dedupe returns ns without repeats, in first-seen order.
func dedupe(ns []string) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func remove(ns []string, n string) []string {
	out := ns[:0:0]
	for _, x := range ns {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}
