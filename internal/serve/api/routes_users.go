package api

import (
	"net/http"

	"github.com/otto-automation/otto/internal/apitype"
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
	return usersOut(l), err
}

func (s *Server) createUser(c *call) (any, error) {
	var req apitype.UserRequest
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
	u, err := s.svc.CreateUser(c.ctx, c.who(), u, req.Password)
	if err == nil && req.CanLogIn != nil && !*req.CanLogIn {
		u, err = s.svc.UpdateUser(c.ctx, c.who(), u.Username, domain.UserEdit{CanLogIn: req.CanLogIn})
	}
	return userOut(u), err
}

func (s *Server) getUser(c *call) (any, error) {
	name, err := c.self()
	if err != nil {
		return nil, err
	}
	u, err := s.svc.User(c.ctx, name)
	return userOut(u), err
}

func (s *Server) editUser(c *call) (any, error) {
	name := c.r.PathValue("username")
	var req apitype.UserRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Username != "" && req.Username != name {
		return nil, badRequest("Username cannot be changed (the body says %q, the path %q)", req.Username, name)
	}
	u, err := s.svc.UpdateUser(c.ctx, c.who(), name, domain.UserEdit{Email: req.Email, Password: req.Password,
		Role: req.Role, CanLogIn: req.CanLogIn, MustChangePassword: req.MustChangePassword})
	return userOut(u), err
}

func (s *Server) deleteUser(c *call) (any, error) {
	return true, s.svc.DeleteUser(c.ctx, c.who(), c.r.PathValue("username"))
}

// newAPIKey issues a new API key, replacing the old one. The key is the
// answer's data, a string, as in 0.x; it is in this answer and nowhere
// else: only its hash is kept.
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
	return key.Reveal(), nil
}

// resetPassword changes the caller's own password: the way out of a
// partial session. The caller's other sessions end.
func (s *Server) resetPassword(c *call) (any, error) {
	var req apitype.ResetPasswordRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	err := s.svc.ResetPassword(c.ctx, c.who(), req.OldPassword, req.NewPassword, c.p.TokenHash)
	return true, err
}
