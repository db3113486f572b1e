package api

import (
	"strconv"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
)

func (s *Server) scheduleRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/schedules", perm: auth.Read, handle: s.listSchedules},
		{method: "PUT", pattern: "/api/schedules/schedule", perm: auth.Edit, handle: s.createSchedule},
		{method: "GET", pattern: "/api/schedules/schedule/{id}", perm: auth.Read, handle: s.getSchedule},
		{method: "POST", pattern: "/api/schedules/schedule/{id}", perm: auth.Edit, handle: s.editSchedule},
		{method: "DELETE", pattern: "/api/schedules/schedule/{id}", perm: auth.Edit, handle: s.deleteSchedule},
		{method: "GET", pattern: "/api/schedules/schedule/{id}/reports", perm: auth.Read, handle: s.scheduleReports},
		{method: "GET", pattern: "/api/schedules/schedule/{id}/hosts", perm: auth.Read, handle: s.scheduleHosts},
		{method: "GET", pattern: "/api/schedules/schedule/{id}/groups", perm: auth.Read, handle: s.scheduleGroups},
		{method: "GET", pattern: "/api/schedules/schedule/{id}/script", perm: auth.Read, handle: s.scheduleScript},
	}
}

func (s *Server) listSchedules(c *call) (any, error) {
	l, err := s.svc.Schedules(c.ctx)
	return schedulesOut(l), err
}

func (s *Server) createSchedule(c *call) (any, error) {
	var req apitype.ScheduleRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	sc, err := s.svc.CreateSchedule(c.ctx, c.who(), scheduleIn(req))
	return scheduleOut(sc), err
}

func (s *Server) getSchedule(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.Schedule(c.ctx, id)
	return scheduleOut(sc), err
}

func (s *Server) editSchedule(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	var req apitype.ScheduleRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := sameID(req.ID, id); err != nil {
		return nil, err
	}
	sc, err := s.svc.UpdateSchedule(c.ctx, c.who(), id, scheduleEditIn(req))
	return scheduleOut(sc), err
}

func (s *Server) deleteSchedule(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return true, s.svc.DeleteSchedule(c.ctx, c.who(), id)
}

// scheduleReports lists the schedule's newest runs (?c=N, default 100),
// without their output.
func (s *Server) scheduleReports(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	n, err := count(c, 100)
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScheduleReports(c.ctx, id, n)
	return listOut(l, bareRunOut), err
}

func (s *Server) scheduleHosts(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScheduleHosts(c.ctx, id)
	return hostsOut(l, c.admin()), err
}

func (s *Server) scheduleGroups(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	l, err := s.svc.ScheduleGroups(c.ctx, id)
	return groupsOut(l), err
}

func (s *Server) scheduleScript(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.ScheduleScript(c.ctx, id)
	return scriptOut(sc), err
}

// maxCount bounds ?c=.
const maxCount = 10000

// count reads the ?c=N query parameter: def when absent, at most maxCount.
func count(c *call, def int) (int, error) {
	v := c.r.URL.Query().Get("c")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, badRequest("c=%q is not a positive number", v)
	}
	return min(n, maxCount), nil
}
