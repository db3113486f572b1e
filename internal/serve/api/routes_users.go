package api

import (
	"net/http"

	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
)

func (s *Server) userRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/users", perm: auth.Admin, handle: s.listUsers},
		{method: "PUT", pattern: "/api/users/user", perm: auth.Admin, handle: s.createUser},
		{method: "GET", pattern: "/api/users/user/{username}", perm: auth.SelfOrAdmin, handle: s.getUser},
		{method: "POST", pattern: "/api/users/user/{username}", perm: auth.Admin, handle: s.editUser},
		{method: "DELETE", pattern: "/api/users/user/{username}", perm: auth.Admin, handle: s.deleteUser},
		{method: "POST", pattern: "/api/users/user/{username}/apikey", perm: auth.SelfOrAdmin, handle: s.newAPIKey},
		{method: "POST", pattern: "/api/users/reset_password", perm: auth.Authenticated, handle: s.resetPassword},
	}
}

// userRequest is a user create or edit. ID, Created, LastLogin are
// accepted and ignored. On an edit, omitted fields and an empty Password
// or Role stay as they are, and Username must be omitted or unchanged.
type userRequest struct {
	ID                 int64
	Username           string
	Email              *string
	Password           auth.Secret
	Role               string
	CanLogIn           *bool
	MustChangePassword *bool
	Created            ignored
	LastLogin          ignored
}

// self checks the SelfOrAdmin rule for the user named in the path.
func (c *call) self() (string, error) {
	name := c.r.PathValue("username")
	if name != c.who() && !c.admin() {
		return "", &PublicError{Status: http.StatusForbidden, Msg: "only an admin may do this for another user"}
	}
	return name, nil
}

func (s *Server) listUsers(c *call) (any, error) {
	l, err := s.svc.Users(c.ctx)
	return list(l), err
}

func (s *Server) createUser(c *call) (any, error) {
	var req userRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	u := domain.User{Username: req.Username, Role: req.Role}
	if req.Email != nil {
		u.Email = *req.Email
	}
	if req.MustChangePassword != nil {
		u.MustChangePassword = *req.MustChangePassword
	}
	u, err := s.svc.CreateUser(c.ctx, c.who(), u, req.Password.Reveal())
	if err == nil && req.CanLogIn != nil && !*req.CanLogIn {
		u, err = s.svc.UpdateUser(c.ctx, c.who(), u.Username, domain.UserEdit{CanLogIn: req.CanLogIn})
	}
	return u, err
}

func (s *Server) getUser(c *call) (any, error) {
	name, err := c.self()
	if err != nil {
		return nil, err
	}
	return s.svc.User(c.ctx, name)
}

func (s *Server) editUser(c *call) (any, error) {
	name := c.r.PathValue("username")
	var req userRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Username != "" && req.Username != name {
		return nil, badRequest("Username cannot be changed (the body says %q, the path %q)", req.Username, name)
	}
	return s.svc.UpdateUser(c.ctx, c.who(), name, domain.UserEdit{Email: req.Email, Password: req.Password.Reveal(),
		Role: req.Role, CanLogIn: req.CanLogIn, MustChangePassword: req.MustChangePassword})
}

func (s *Server) deleteUser(c *call) (any, error) {
	return true, s.svc.DeleteUser(c.ctx, c.who(), c.r.PathValue("username"))
}

type apiKeyAnswer struct {
	Username string
	APIKey   string
}

// newAPIKey issues a new API key, replacing the old one. The key is in
// this answer and nowhere else: only its hash is kept.
func (s *Server) newAPIKey(c *call) (any, error) {
	name, err := c.self()
	if err != nil {
		return nil, err
	}
	key, hash := auth.NewAPIKey()
	if err := s.svc.SetAPIKey(c.ctx, c.who(), name, hash); err != nil {
		return nil, err
	}
	s.log.Info("API key issued", "username", name, "by", c.who())
	return apiKeyAnswer{Username: name, APIKey: key.Reveal()}, nil
}

type resetPasswordRequest struct {
	OldPassword auth.Secret
	NewPassword auth.Secret
}

// resetPassword changes the caller's own password: the way out of a
// partial session. The caller's other sessions end.
func (s *Server) resetPassword(c *call) (any, error) {
	var req resetPasswordRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	err := s.svc.ResetPassword(c.ctx, c.who(), req.OldPassword.Reveal(), req.NewPassword.Reveal(), c.p.TokenHash)
	return true, err
}
