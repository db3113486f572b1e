package api

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

func (s *Server) registerRoutes() []route {
	return []route{
		{method: "PUT", pattern: "/api/register", perm: auth.Public, handle: s.registerHost},
		{method: "GET", pattern: "/api/register/rules", perm: auth.Read, handle: s.listRules},
		{method: "PUT", pattern: "/api/register/rules/rule", perm: auth.Admin, handle: s.createRule},
		{method: "GET", pattern: "/api/register/rules/rule/{id}", perm: auth.Read, handle: s.getRule},
		{method: "POST", pattern: "/api/register/rules/rule/{id}", perm: auth.Admin, handle: s.editRule},
		{method: "DELETE", pattern: "/api/register/rules/rule/{id}", perm: auth.Admin, handle: s.deleteRule},
	}
}

func (s *Server) listRules(c *call) (any, error) {
	l, err := s.svc.RegisterRules(c.ctx)
	return rulesOut(l), err
}

func (s *Server) createRule(c *call) (any, error) {
	var req apitype.RegisterRule
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	r, err := s.svc.CreateRegisterRule(c.ctx, c.who(), ruleIn(req))
	return ruleOut(r), err
}

func (s *Server) getRule(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	r, err := s.svc.RegisterRule(c.ctx, id)
	return ruleOut(r), err
}

func (s *Server) editRule(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.RegisterRule
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := sameID(req.ID, id); err != nil {
		return nil, err
	}
	r, err := s.svc.UpdateRegisterRule(c.ctx, c.who(), id, ruleIn(req))
	return ruleOut(r), err
}

func (s *Server) deleteRule(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return true, s.svc.DeleteRegisterRule(c.ctx, c.who(), id)
}

// registerHost is a client's self-registration (protocol/PROTOCOL.md,
// "Registration"). The body is read leniently (unknown fields pass): the
// deployed clients are the contract here, not this server's habits.
func (s *Server) registerHost(c *call) (any, error) {
	if ok, wait := s.register.Allow(auth.AddrKey(c.remote())); !ok {
		return nil, &auth.Error{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Msg: "too many registration attempts from this address; try again in a minute"}
	}
	o, err := s.svc.Options(c.ctx)
	if err != nil {
		return nil, err
	}
	if !o.Register.Enabled {
		return nil, domain.ErrRegistrationOff
	}
	if v := c.r.Header.Get(wire.RegisterProtoHeader); v != strconv.FormatUint(uint64(wire.ProtocolVersion), 10) {
		return nil, badRequest("header %s is %q; this server speaks protocol %d", wire.RegisterProtoHeader, v, wire.ProtocolVersion)
	}
	var req wire.RegisterRequest
	if err := json.NewDecoder(c.r.Body).Decode(&req); err != nil {
		return nil, jsonError(err)
	}
	peer, _, err := net.SplitHostPort(c.remote())
	if err != nil {
		return nil, err
	}
	p := req.Properties
	reg, err := s.svc.Register(c.ctx, domain.RegisterRequest{Key: req.Key, Port: req.Port, PeerAddress: peer,
		Properties: map[string]string{
			"hostname": p.Hostname, "kernel_name": p.KernelName, "kernel_version": p.KernelVersion,
			"distribution_name": p.DistributionName, "distribution_version": p.DistributionVersion,
		}})
	if err != nil {
		if errors.Is(err, domain.ErrRegisterKey) {
			s.log.Warn("registration with an incorrect key", "remote", c.remote(), "hostname", p.Hostname)
		}
		return nil, err
	}
	s.log.Info("host registered", "host", reg.Host, "group", reg.Host.GroupIDs)
	// The host exists now: whatever happens, the client must get its PSK,
	// or its retry would find its name taken and nobody would know the key.
	resp := wire.RegisterResponse{PSK: reg.Host.PSK}
	for _, sc := range reg.Scripts {
		ws, err := s.fleet.WireScript(c.ctx, sc, reg.Host)
		if err != nil {
			s.log.Error("first-run script left out of a registration", "host", reg.Host, "script", sc.Name, "err", err)
			continue
		}
		resp.Scripts = append(resp.Scripts, ws)
	}
	return resp, nil
}
