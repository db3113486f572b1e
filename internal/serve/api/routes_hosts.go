package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
)

func (s *Server) hostRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/hosts", perm: auth.Read, handle: s.listHosts},
		{method: "PUT", pattern: "/api/hosts/host", perm: auth.Edit, handle: s.createHost},
		{method: "GET", pattern: "/api/hosts/host/{id}", perm: auth.Read, handle: s.getHost},
		{method: "POST", pattern: "/api/hosts/host/{id}", perm: auth.Edit, handle: s.editHost},
		{method: "DELETE", pattern: "/api/hosts/host/{id}", perm: auth.Edit, handle: s.deleteHost},
		{method: "GET", pattern: "/api/hosts/host/{id}/scripts", perm: auth.Read, handle: s.hostScripts},
		{method: "GET", pattern: "/api/hosts/host/{id}/groups", perm: auth.Read, handle: s.hostGroups},
		{method: "GET", pattern: "/api/hosts/host/{id}/schedules", perm: auth.Read, handle: s.hostSchedules},
	}
}

func (s *Server) listHosts(c *call) (any, error) {
	hs, err := s.svc.Hosts(c.ctx)
	return hostsOut(hs, c.admin()), err
}

func (s *Server) createHost(c *call) (any, error) {
	var req apitype.HostRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	h, err := s.svc.CreateHost(c.ctx, c.who(), hostIn(req))
	if err != nil {
		return nil, err
	}
	s.log.Info("host added", "host", h, "user", c.who())
	return hostOut(h, c.admin()), nil
}

func (s *Server) getHost(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	h, err := s.svc.Host(c.ctx, id)
	return hostOut(h, c.admin()), err
}

func (s *Server) editHost(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.HostRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := sameID(req.ID, id); err != nil {
		return nil, err
	}
	h, err := s.svc.UpdateHost(c.ctx, c.who(), id, hostEditIn(req))
	return hostOut(h, c.admin()), err
}

func (s *Server) deleteHost(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return true, s.svc.DeleteHost(c.ctx, c.who(), id)
}

func (s *Server) hostScripts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.HostScripts(c.ctx, id)
	return listOut(l, hostScriptOut), err
}

func (s *Server) hostGroups(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	gs, err := s.svc.HostGroups(c.ctx, id)
	return groupsOut(gs), err
}

func (s *Server) hostSchedules(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.HostSchedules(c.ctx, id)
	return schedulesOut(l), err
}
