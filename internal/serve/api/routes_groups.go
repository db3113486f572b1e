package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
)

func (s *Server) groupRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/groups", perm: auth.Read, handle: s.listGroups},
		{method: "GET", pattern: "/api/groups/membership", perm: auth.Read, handle: s.membership},
		{method: "PUT", pattern: "/api/groups/group", perm: auth.Edit, handle: s.createGroup},
		{method: "GET", pattern: "/api/groups/group/{id}", perm: auth.Read, handle: s.getGroup},
		{method: "POST", pattern: "/api/groups/group/{id}", perm: auth.Edit, handle: s.editGroup},
		{method: "DELETE", pattern: "/api/groups/group/{id}", perm: auth.Edit, handle: s.deleteGroup},
		{method: "GET", pattern: "/api/groups/group/{id}/scripts", perm: auth.Read, handle: s.groupScripts},
		{method: "GET", pattern: "/api/groups/group/{id}/hosts", perm: auth.Read, handle: s.groupHosts},
		{method: "POST", pattern: "/api/groups/group/{id}/hosts", perm: auth.Edit, handle: s.setGroupHosts},
		{method: "GET", pattern: "/api/groups/group/{id}/schedules", perm: auth.Read, handle: s.groupSchedules},
	}
}

func (s *Server) listGroups(c *call) (any, error) {
	gs, err := s.svc.Groups(c.ctx)
	return groupsOut(gs), err
}

// membership maps group IDs (as JSON object keys) to their host IDs.
func (s *Server) membership(c *call) (any, error) {
	m, err := s.svc.Membership(c.ctx)
	out := make(map[string][]apitype.ID, len(m))
	for k, v := range m {
		out[k] = idsOut(v)
	}
	return out, err
}

func (s *Server) createGroup(c *call) (any, error) {
	var req apitype.GroupRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	g, err := s.svc.CreateGroup(c.ctx, c.who(), groupIn(req))
	return groupOut(g), err
}

func (s *Server) getGroup(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	g, err := s.svc.Group(c.ctx, id)
	return groupOut(g), err
}

func (s *Server) editGroup(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.GroupRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := sameID(req.ID, id); err != nil {
		return nil, err
	}
	g, err := s.svc.UpdateGroup(c.ctx, c.who(), id, groupIn(req))
	return groupOut(g), err
}

func (s *Server) deleteGroup(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return true, s.svc.DeleteGroup(c.ctx, c.who(), id)
}

func (s *Server) groupScripts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.GroupScripts(c.ctx, id)
	return scriptsOut(l), err
}

func (s *Server) groupHosts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.GroupHosts(c.ctx, id)
	return hostsOut(l, c.admin()), err
}

func (s *Server) setGroupHosts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.GroupHostsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := s.svc.SetGroupHosts(c.ctx, c.who(), id, idsIn(req.Hosts)); err != nil {
		return nil, err
	}
	l, err := s.svc.GroupHosts(c.ctx, id)
	return hostsOut(l, c.admin()), err
}

func (s *Server) groupSchedules(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.GroupSchedules(c.ctx, id)
	return schedulesOut(l), err
}
