package api

import (
	"strconv"

	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
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

type groupRequest struct {
	ID          int64
	Name        string
	ScriptIDs   []int64
	Environment domain.Environment
}

func (s *Server) listGroups(c *call) (any, error) {
	gs, err := s.svc.Groups(c.ctx)
	return groupsOut(gs), err
}

// membership maps group IDs (as JSON object keys) to their host IDs.
func (s *Server) membership(c *call) (any, error) {
	m, err := s.svc.Membership(c.ctx)
	out := make(map[string][]int64, len(m))
	for k, v := range m {
		out[strconv.FormatInt(k, 10)] = v
	}
	return out, err
}

func (s *Server) createGroup(c *call) (any, error) {
	var req groupRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	g, err := s.svc.CreateGroup(c.ctx, c.who(), domain.Group{Name: req.Name, ScriptIDs: req.ScriptIDs, Environment: req.Environment})
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
	var req groupRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.ID != 0 && req.ID != id {
		return nil, badRequest("ID %d in the body does not match ID %d in the path", req.ID, id)
	}
	g, err := s.svc.UpdateGroup(c.ctx, c.who(), id, domain.Group{Name: req.Name, ScriptIDs: req.ScriptIDs, Environment: req.Environment})
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

// setGroupHostsRequest keeps the 0.x field name.
type setGroupHostsRequest struct {
	Hosts []int64
}

func (s *Server) setGroupHosts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req setGroupHostsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := s.svc.SetGroupHosts(c.ctx, c.who(), id, req.Hosts); err != nil {
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
