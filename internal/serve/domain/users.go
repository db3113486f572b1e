package domain

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles lists the valid roles, most powerful first.
var Roles = []string{RoleAdmin, RoleOperator, RoleViewer}

func checkPassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return Invalidf("%s must be at least %d characters", field, MinPasswordLen)
	}
	if len(pw) > 1024 {
		return Invalidf("%s is longer than 1024 bytes", field)
	}
	return nil
}

func checkUser(tx Tx, u *User) error {
	u.Username = strings.TrimSpace(u.Username)
	if u.Username == "" {
		return Invalidf("Username is required")
	}
	if len(u.Username) > 64 || strings.ContainsAny(u.Username, "/?#%\\ \t\r\n") {
		return Invalidf("Username %q must be at most 64 bytes without spaces, slashes, \"?\", \"#\" or \"%%\"", u.Username)
	}
	if !slices.Contains(Roles, u.Role) {
		return Invalidf("Role %q is not one of admin, operator, viewer", u.Role)
	}
	if u.Email != "" && (len(u.Email) > 254 || !strings.Contains(u.Email, "@")) {
		return Invalidf("Email %q is not an e-mail address", u.Email)
	}
	if other, err := tx.UserByName(u.Username); err == nil && other.ID != u.ID {
		return Invalidf("Username: a user named %q already exists", u.Username)
	} else if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func userDetails(u User) map[string]string {
	return map[string]string{"ID": u.ID, "Username": u.Username, "Role": u.Role}
}

// admins counts the users who can log in as admin, other than except.
func admins(tx Tx, except string) (int, error) {
	us, err := tx.Users()
	n := 0
	for _, u := range us {
		if u.ID != except && u.Role == RoleAdmin && u.CanLogIn {
			n++
		}
	}
	return n, err
}

// CreateUser adds a user who can log in with password. An empty role
// makes a viewer.
func (s *Service) CreateUser(ctx context.Context, who string, u User, password string) (User, error) {
	u.ID, u.APIKeyHash, u.CanLogIn, u.Created, u.LastLogin = "", "", true, s.now(), time.Time{}
	if u.Role == "" {
		u.Role = RoleViewer
	}
	if err := checkPassword("Password", password); err != nil {
		return User{}, err
	}
	hash, err := s.Passwords.Hash(password)
	if err != nil {
		return User{}, err
	}
	u.PasswordHash = hash
	err = s.Store.Update(ctx, func(tx Tx) error {
		if err := checkUser(tx, &u); err != nil {
			return err
		}
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		return s.event(tx, who, EventUserAdded, userDetails(u))
	})
	return u, err
}

// UserEdit is a change to a user; nil fields and an empty password stay
// as they are.
type UserEdit struct {
	Email              *string
	Password           string
	Role               string
	CanLogIn           *bool
	MustChangePassword *bool
}

// UpdateUser changes a user. The last admin who can log in cannot be
// demoted or locked out.
func (s *Service) UpdateUser(ctx context.Context, who, username string, e UserEdit) (User, error) {
	var hash string
	if e.Password != "" {
		if err := checkPassword("Password", e.Password); err != nil {
			return User{}, err
		}
		var err error
		if hash, err = s.Passwords.Hash(e.Password); err != nil {
			return User{}, err
		}
	}
	var u User
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.UserByName(username); err != nil {
			return notFoundUser(err, username)
		}
		if e.Email != nil {
			u.Email = strings.TrimSpace(*e.Email)
		}
		if e.Role != "" {
			u.Role = e.Role
		}
		if e.CanLogIn != nil {
			u.CanLogIn = *e.CanLogIn
		}
		if e.MustChangePassword != nil {
			u.MustChangePassword = *e.MustChangePassword
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if err := checkUser(tx, &u); err != nil {
			return err
		}
		if u.Role != RoleAdmin || !u.CanLogIn {
			n, err := admins(tx, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return Conflictf("%s is the last admin who can log in; make another user admin first", u.Username)
			}
		}
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		if !u.CanLogIn || hash != "" {
			// A locked-out user or a new password ends the sessions.
			if err := tx.DeleteSessions(func(se Session) bool { return se.UserID == u.ID }); err != nil {
				return err
			}
		}
		d := userDetails(u)
		if hash != "" {
			d["Password"] = "changed"
		}
		return s.event(tx, who, EventUserModified, d)
	})
	return u, err
}

// DeleteUser removes a user and their sessions. Nobody can delete
// themselves, and the last admin stays.
func (s *Service) DeleteUser(ctx context.Context, who, username string) error {
	if username == who {
		return Conflictf("you cannot delete yourself; ask another admin")
	}
	return s.Store.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByName(username)
		if err != nil {
			return notFoundUser(err, username)
		}
		if u.Role == RoleAdmin {
			n, err := admins(tx, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return Conflictf("%s is the last admin who can log in; make another user admin first", u.Username)
			}
		}
		if err := tx.DeleteSessions(func(se Session) bool { return se.UserID == u.ID }); err != nil {
			return err
		}
		if err := tx.DeleteUser(u.ID); err != nil {
			return err
		}
		return s.event(tx, who, EventUserDeleted, userDetails(u))
	})
}

// ResetPassword changes a user's own password, checking the old one, and
// clears MustChangePassword: the way out of a partial session. Other
// sessions of the user end; keep names the one to keep (its token hash).
func (s *Service) ResetPassword(ctx context.Context, username, oldPassword, newPassword, keep string) error {
	if err := checkPassword("NewPassword", newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return Invalidf("NewPassword must differ from the old password")
	}
	hash, err := s.Passwords.Hash(newPassword)
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByName(username)
		if err != nil {
			return notFoundUser(err, username)
		}
		if !s.Passwords.Check(u.PasswordHash, oldPassword) {
			return Forbiddenf("OldPassword is not your current password")
		}
		u.PasswordHash, u.MustChangePassword = hash, false
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		err = tx.DeleteSessions(func(se Session) bool { return se.UserID == u.ID && se.TokenHash != keep })
		if err != nil {
			return err
		}
		if se, err := tx.Session(keep); err == nil && se.Partial {
			se.Partial = false
			if err := tx.PutSession(se); err != nil {
				return err
			}
		}
		return s.event(tx, username, EventUserResetPassword, userDetails(u))
	})
}

// SetAPIKey stores the hash of a user's new API key, replacing the old key.
func (s *Service) SetAPIKey(ctx context.Context, who, username, keyHash string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		u, err := tx.UserByName(username)
		if err != nil {
			return notFoundUser(err, username)
		}
		u.APIKeyHash = keyHash
		if err := tx.PutUser(&u); err != nil {
			return err
		}
		return s.event(tx, who, EventUserResetAPIKey, userDetails(u))
	})
}

// User returns one user by name.
func (s *Service) User(ctx context.Context, username string) (User, error) {
	var u User
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		u, err = tx.UserByName(username)
		return notFoundUser(err, username)
	})
	return u, err
}

// Users lists every user.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	var l []User
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		l, err = tx.Users()
		return err
	})
	return l, err
}

func notFoundUser(err error, username string) error {
	if isNotFound(err) {
		return NotFoundf("no user named %q", username)
	}
	return err
}
