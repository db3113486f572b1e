package api

import (
	"net/http"
	"os"
	"runtime"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
)

func (s *Server) sessionRoutes() []route {
	return []route{
		{method: "POST", pattern: "/api/login", perm: auth.Public, handle: s.login},
		{method: "POST", pattern: "/api/logout", perm: auth.Authenticated, handle: s.logout},
		{method: "GET", pattern: "/api/state", perm: auth.Read, handle: s.state},
	}
}

// login starts a session; data is 1 when the password must be changed
// first (the session is then partial), else 0.
func (s *Server) login(c *call) (any, error) {
	var req apitype.LoginRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Username == "" || req.Password == "" {
		return nil, badRequest("Username and Password are required")
	}
	res, err := s.auth.Login(c.ctx, req.Username, auth.Secret(req.Password), c.remote())
	if err != nil {
		return nil, err
	}
	secure := c.r.TLS != nil || s.cfg.TLS
	if o, err := s.svc.Options(c.ctx); err == nil && o.Authentication.SecureOnly {
		secure = true
	}
	http.SetCookie(c.w, auth.Cookie(res, secure))
	s.log.Info("user logged in", "user", res.User, "remote", c.remote())
	if res.Session.Partial {
		return 1, nil
	}
	return 0, nil
}

func (s *Server) logout(c *call) (any, error) {
	if err := s.auth.Logout(c.ctx, c.p); err != nil {
		return nil, err
	}
	http.SetCookie(c.w, auth.ClearCookie(c.r.TLS != nil || s.cfg.TLS))
	return true, nil
}

// state is what the web UI needs at start.
func (s *Server) state(c *call) (any, error) {
	o, err := s.svc.Options(c.ctx)
	if err != nil {
		return nil, err
	}
	host := s.cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	warnings := []string{}
	if !s.cfg.TLS {
		warnings = append(warnings, "The server is not using TLS: passwords and session cookies cross the network in the clear. Set tls_cert and tls_key, or put it behind an HTTPS proxy.")
	}
	if o.Register.Enabled && o.General.ServerURL == "" {
		warnings = append(warnings, "Registration is on but General.ServerURL is empty.")
	}
	return apitype.State{
		Runtime: apitype.Runtime{ServerFQDN: host, Version: s.cfg.Version, Config: runtime.GOOS + "_" + runtime.GOARCH},
		User:    userOut(c.p.User),
		Enums: map[string][]string{
			"AfterExecution":     domain.AfterExecutions,
			"Roles":              domain.Roles,
			"RegisterProperties": domain.RegisterProperties,
			"ForceIPVersion":     {domain.IPVersionAuto, domain.IPVersion4, domain.IPVersion6},
		},
		Warnings: warnings,
		Options:  optionsOut(o, c.admin()),
	}, nil
}
