package api

import (
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
)

func (s *Server) scriptRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/scripts", perm: auth.Read, handle: s.listScripts},
		{method: "PUT", pattern: "/api/scripts/script", perm: auth.Edit, handle: s.createScript},
		{method: "GET", pattern: "/api/scripts/script/{id}", perm: auth.Read, handle: s.getScript},
		{method: "POST", pattern: "/api/scripts/script/{id}", perm: auth.Edit, handle: s.editScript},
		{method: "DELETE", pattern: "/api/scripts/script/{id}", perm: auth.Edit, handle: s.deleteScript},
		{method: "GET", pattern: "/api/scripts/script/{id}/hosts", perm: auth.Read, handle: s.scriptHosts},
		{method: "GET", pattern: "/api/scripts/script/{id}/groups", perm: auth.Read, handle: s.scriptGroups},
		{method: "POST", pattern: "/api/scripts/script/{id}/groups", perm: auth.Edit, handle: s.setScriptGroups},
		{method: "GET", pattern: "/api/scripts/script/{id}/schedules", perm: auth.Read, handle: s.scriptSchedules},
		{method: "GET", pattern: "/api/scripts/script/{id}/attachments", perm: auth.Read, handle: s.scriptAttachments},
	}
}

func (s *Server) listScripts(c *call) (any, error) {
	l, err := s.svc.Scripts(c.ctx)
	return scriptsOut(l), err
}

func (s *Server) createScript(c *call) (any, error) {
	var req apitype.ScriptRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	sc, err := s.svc.CreateScript(c.ctx, c.who(), scriptIn(req))
	return scriptOut(sc), err
}

func (s *Server) getScript(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.Script(c.ctx, id)
	return scriptOut(sc), err
}

func (s *Server) editScript(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.ScriptRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := sameID(req.ID, id); err != nil {
		return nil, err
	}
	sc, err := s.svc.UpdateScript(c.ctx, c.who(), id, scriptIn(req), req.Enabled)
	return scriptOut(sc), err
}

func (s *Server) deleteScript(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return true, s.svc.DeleteScript(c.ctx, c.who(), id)
}

func (s *Server) scriptHosts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScriptHosts(c.ctx, id)
	return hostsOut(l, c.admin()), err
}

func (s *Server) scriptGroups(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScriptGroups(c.ctx, id)
	return groupsOut(l), err
}

func (s *Server) setScriptGroups(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.ScriptGroupsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := s.svc.SetScriptGroups(c.ctx, c.who(), id, idsIn(req.Groups)); err != nil {
		return nil, err
	}
	l, err := s.svc.ScriptGroups(c.ctx, id)
	return groupsOut(l), err
}

func (s *Server) scriptSchedules(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScriptSchedules(c.ctx, id)
	return schedulesOut(l), err
}

func (s *Server) scriptAttachments(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScriptAttachments(c.ctx, id)
	return attachmentsOut(l), err
}
