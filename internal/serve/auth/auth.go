package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/legacy"
)

// Header and cookie names.
const (
	HeaderUsername = "X-OTTO-USERNAME"
	HeaderAPIKey   = "X-OTTO-API-KEY"
	// HeaderCSRF set to "1" marks a cookie-authenticated request as made
	// by a script of the same site: browsers refuse to send custom headers
	// across origins without the server's consent, which otto never gives.
	HeaderCSRF = "X-OTTO-CSRF"
	CookieName = "otto_session"
)

// Via says how a caller authenticated.
type Via int

// Ways to authenticate.
const (
	ViaNone Via = iota
	ViaSession
	ViaAPIKey
)

// Principal is an authenticated caller.
type Principal struct {
	User domain.User
	Via  Via
	// Partial is set while the user must change their password: they may
	// only reset it or log out.
	Partial bool
	// TokenHash identifies the session (ViaSession only).
	TokenHash string
}

// Error is an authentication failure with the HTTP status to answer and a
// message for the caller. RetryAfter is set for throttled attempts.
type Error struct {
	Status     int
	Msg        string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// Authentication failures.
var (
	ErrNoCredentials = &Error{Status: http.StatusUnauthorized,
		Msg: "not logged in: log in with POST /api/login or send the X-OTTO-USERNAME and X-OTTO-API-KEY headers"}
	ErrBadLogin       = &Error{Status: http.StatusUnauthorized, Msg: "incorrect username or password"}
	ErrBadAPIKey      = &Error{Status: http.StatusUnauthorized, Msg: "incorrect username or API key"}
	ErrSessionExpired = &Error{Status: http.StatusUnauthorized, Msg: "session expired or ended; log in again"}
	ErrCannotLogIn    = &Error{Status: http.StatusForbidden, Msg: "this user may not log in; ask an admin"}
)

func throttled(wait time.Duration) *Error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &Error{Status: http.StatusTooManyRequests, RetryAfter: wait,
		Msg: fmt.Sprintf("too many failed attempts; try again in %d s", secs)}
}

// Authenticator logs users in and recognizes them on later requests.
type Authenticator struct {
	Store     domain.Store
	Service   *domain.Service
	Passwords domain.PasswordHasher
	Log       *slog.Logger
	Now       domain.Clock
	// Throttle slows down password and API key guessing.
	Throttle *Throttle

	dummyHash string
}

// imported reports whether hash is one imported from 0.x
// (legacy.HashPrefix), which Passwords.Check checks too.
func imported(hash string) bool { return strings.HasPrefix(hash, legacy.HashPrefix) }

// New returns an authenticator over svc's store. now may be nil.
func New(svc *domain.Service, log *slog.Logger, now domain.Clock) *Authenticator {
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{Store: svc.Store, Service: svc, Passwords: svc.Passwords, Log: log, Now: now, Throttle: NewThrottle(now)}
	// Checking a password against this for unknown users makes their
	// failure take as long as a known user's.
	a.dummyHash, _ = a.Passwords.Hash("otto dummy password")
	return a
}

// LoginResult is a started session: Token goes into the cookie, once.
type LoginResult struct {
	Token   Secret
	Session domain.Session
	User    domain.User
}

// Login checks a username and password and starts a session. Failures are
// throttled per remote address and per username, and leave a
// UserIncorrectPassword event.
func (a *Authenticator) Login(ctx context.Context, username string, password Secret, remote string) (LoginResult, error) {
	keys := []string{AddrKey(remote), "user:" + username}
	if wait := a.Throttle.Wait(keys...); wait > 0 {
		return LoginResult{}, throttled(wait)
	}
	var u domain.User
	err := a.Store.View(ctx, func(tx domain.Tx) error {
		var err error
		u, err = tx.UserByName(username)
		return err
	})
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return LoginResult{}, err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = a.dummyHash
	}
	ok := a.Passwords.Check(hash, password.Reveal()) && err == nil && u.PasswordHash != ""
	if !ok {
		a.Throttle.Fail(keys...)
		a.Log.Info("login failed", "username", username, "remote", remote)
		ev := map[string]string{"Username": username, "Address": remote}
		if e := a.Service.Event(ctx, "", domain.EventUserIncorrectPassword, ev); e != nil {
			return LoginResult{}, e
		}
		return LoginResult{}, ErrBadLogin
	}
	if !u.CanLogIn {
		return LoginResult{}, ErrCannotLogIn
	}
	a.Throttle.Succeed(keys...)
	// A 0.x hash is replaced by ours at the first login that proves the
	// password; hashing is slow, so it happens before the transaction.
	var rehash string
	if imported(u.PasswordHash) {
		if rehash, err = a.Passwords.Hash(password.Reveal()); err != nil {
			return LoginResult{}, err
		}
	}
	now := a.Now().UTC()
	token := NewToken()
	res := LoginResult{Token: token, User: u}
	err = a.Store.Update(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		age := time.Duration(max(o.Authentication.MaxAgeMinutes, 1)) * time.Minute
		res.Session = domain.Session{TokenHash: HashToken(token), UserID: u.ID, Created: now, Expires: now.Add(age), Partial: u.MustChangePassword}
		if err := tx.DeleteSessions(func(s domain.Session) bool { return !s.Expires.After(now) }); err != nil {
			return err
		}
		if err := tx.PutSession(res.Session); err != nil {
			return err
		}
		cur, err := tx.User(u.ID)
		if err != nil {
			return err
		}
		cur.LastLogin = now
		if rehash != "" && cur.PasswordHash == u.PasswordHash {
			cur.PasswordHash = rehash
		}
		if err := tx.PutUser(&cur); err != nil {
			return err
		}
		res.User = cur
		e := domain.Event{Time: now, Type: domain.EventUserLoggedIn, User: u.Username, Details: map[string]string{"Address": remote}}
		return tx.AppendEvent(&e)
	})
	return res, err
}

// Logout ends the caller's session, if it has one.
func (a *Authenticator) Logout(ctx context.Context, p Principal) error {
	return a.Store.Update(ctx, func(tx domain.Tx) error {
		if p.Via == ViaSession {
			if err := tx.DeleteSession(p.TokenHash); err != nil && !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		e := domain.Event{Time: a.Now().UTC(), Type: domain.EventUserLoggedOut, User: p.User.Username}
		return tx.AppendEvent(&e)
	})
}

// Authenticate recognizes the caller of r: by the API key headers when
// either is present, else by the session cookie. It fails with an *Error.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	ctx := r.Context()
	name, key := r.Header.Get(HeaderUsername), r.Header.Get(HeaderAPIKey)
	if name != "" || key != "" {
		return a.byAPIKey(ctx, name, Secret(key), r.RemoteAddr)
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return Principal{}, ErrNoCredentials
	}
	return a.bySession(ctx, Secret(c.Value))
}

func (a *Authenticator) byAPIKey(ctx context.Context, name string, key Secret, remote string) (Principal, error) {
	keys := []string{AddrKey(remote)}
	if wait := a.Throttle.Wait(keys...); wait > 0 {
		return Principal{}, throttled(wait)
	}
	var u domain.User
	err := a.Store.View(ctx, func(tx domain.Tx) error {
		var err error
		u, err = tx.UserByName(name)
		return err
	})
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return Principal{}, err
	}
	old := imported(u.APIKeyHash)
	ok := old && a.Passwords.Check(u.APIKeyHash, key.Reveal()) || !old && CheckToken(u.APIKeyHash, key)
	if err != nil || !ok {
		a.Throttle.Fail(keys...)
		return Principal{}, ErrBadAPIKey
	}
	if !u.CanLogIn {
		return Principal{}, ErrCannotLogIn
	}
	if old {
		if u, err = a.rehashAPIKey(ctx, u, key); err != nil {
			return Principal{}, err
		}
	}
	return Principal{User: u, Via: ViaAPIKey, Partial: u.MustChangePassword}, nil
}

// rehashAPIKey replaces u's 0.x API key hash, just matched by key, with
// ours, so later requests skip the slow check; it keeps a hash changed
// meanwhile.
func (a *Authenticator) rehashAPIKey(ctx context.Context, u domain.User, key Secret) (domain.User, error) {
	err := a.Store.Update(ctx, func(tx domain.Tx) error {
		cur, err := tx.User(u.ID)
		if err != nil {
			return err
		}
		if cur.APIKeyHash == u.APIKeyHash {
			cur.APIKeyHash = HashToken(key)
		}
		u = cur
		return tx.PutUser(&cur)
	})
	return u, err
}

func (a *Authenticator) bySession(ctx context.Context, token Secret) (Principal, error) {
	p := Principal{Via: ViaSession, TokenHash: HashToken(token)}
	err := a.Store.View(ctx, func(tx domain.Tx) error {
		s, err := tx.Session(p.TokenHash)
		if err != nil {
			return err
		}
		if !s.Expires.After(a.Now()) {
			return ErrSessionExpired
		}
		p.User, err = tx.User(s.UserID)
		return err
	})
	switch {
	case errors.Is(err, domain.ErrNotFound) || errors.Is(err, ErrSessionExpired):
		return Principal{}, ErrSessionExpired
	case err != nil:
		return Principal{}, err
	case !p.User.CanLogIn:
		return Principal{}, ErrCannotLogIn
	}
	p.Partial = p.User.MustChangePassword
	return p, nil
}

// Cookie is the session cookie for a login: HttpOnly, SameSite=Strict,
// Secure when the server speaks TLS or the options demand it.
func Cookie(res LoginResult, secure bool) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: res.Token.Reveal(), Path: "/",
		Expires: res.Session.Expires, MaxAge: int(res.Session.Expires.Sub(res.Session.Created).Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}

// ClearCookie removes the session cookie from the browser.
func ClearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// ErrCSRF refuses a cookie-authenticated change from another origin.
var ErrCSRF = &Error{Status: http.StatusForbidden,
	Msg: "cross-site request refused: send an Origin header of this server or the header X-OTTO-CSRF: 1"}

// CheckCSRF applies the CSRF rule to a request that changes state: one
// authenticated by the session cookie (via) must carry the X-OTTO-CSRF: 1
// header or an Origin header naming this server (its Host, or the origin
// of the URL serverURL returns, called only when needed). Any request
// whose Origin names another site is refused, so a cross-site form cannot
// log a browser in either. Requests with API key headers need neither: a
// browser cannot be made to send them.
func CheckCSRF(r *http.Request, via Via, serverURL func() string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin != "" && origin != "null" {
		if sameOrigin(origin, r.Host, serverURL) {
			return nil
		}
		if via != ViaAPIKey {
			return ErrCSRF
		}
	}
	if via != ViaSession || r.Header.Get(HeaderCSRF) == "1" {
		return nil
	}
	return ErrCSRF
}

func sameOrigin(origin, host string, serverURL func() string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	if serverURL == nil {
		return false
	}
	if s, err := url.Parse(serverURL()); err == nil && s.Host != "" {
		return strings.EqualFold(u.Host, s.Host) && strings.EqualFold(u.Scheme, s.Scheme)
	}
	return false
}
