package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
)

// fleetRoutes are the routes that talk to clients: heartbeats, PSK
// rotation, the 0.x actions and the run history with live output.
func (s *Server) fleetRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/heartbeat", perm: auth.Read, handle: s.heartbeats},
		{method: "POST", pattern: "/api/heartbeat", perm: auth.Run, handle: s.sweep},
		{method: "POST", pattern: "/api/hosts/host/{id}/heartbeat", perm: auth.Run, handle: s.heartbeat},
		{method: "POST", pattern: "/api/hosts/host/{id}/psk", perm: auth.Admin, handle: s.rotatePSK},
		{method: "PUT", pattern: "/api/action/sync", perm: auth.Run, handle: s.actionSync},
		{method: "PUT", pattern: "/api/action/async", perm: auth.Run, handle: s.actionAsync},
		{method: "POST", pattern: "/api/runs", perm: auth.Run, handle: s.startRuns},
		{method: "GET", pattern: "/api/runs", perm: auth.Read, handle: s.listRuns},
		{method: "GET", pattern: "/api/runs/run/{id}", perm: auth.Read, handle: s.getRun},
		{method: "POST", pattern: "/api/runs/run/{id}/cancel", perm: auth.Run, handle: s.cancelRun},
		{method: "GET", pattern: "/api/runs/run/{id}/stream", perm: auth.Read, handle: s.streamRun},
		{method: "GET", pattern: "/api/runs/batch/{batch}", perm: auth.Read, handle: s.batchRuns},
		{method: "GET", pattern: "/api/runs/batch/{batch}/stream", perm: auth.Read, handle: s.streamBatch},
	}
}

func (s *Server) heartbeats(c *call) (any, error) {
	var sts []domain.HostStatus
	err := s.svc.Store.View(c.ctx, func(tx domain.Tx) error {
		var err error
		sts, err = tx.HostStatuses()
		return err
	})
	out := make(map[string]apitype.Heartbeat, len(sts))
	for _, st := range sts {
		out[st.HostID] = statusOut(st)
	}
	return out, err
}

func (s *Server) sweep(c *call) (any, error) {
	res, err := s.fleet.Sweep(c.ctx)
	return sweepOut(res), err
}

func (s *Server) heartbeat(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	st, err := s.fleet.Heartbeat(c.ctx, id)
	if err != nil {
		return nil, hostNotFound(err, id)
	}
	return statusOut(st), nil
}

func (s *Server) rotatePSK(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	psk, err := s.fleet.RotatePSK(c.ctx, id)
	if err != nil {
		return nil, hostNotFound(err, id)
	}
	s.log.Info("psk rotated on demand", "host.id", id, "user", c.who())
	return psk, nil
}

// hostNotFound names the host of a fleet error that says it is missing.
func hostNotFound(err error, id string) error {
	if errors.Is(err, domain.ErrNotFound) && domain.KindOf(err) == 0 {
		return &PublicError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no host with ID %s", id), Err: err}
	}
	return err
}

func (s *Server) actionSync(c *call) (any, error) {
	var req apitype.ActionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.HostID == "" {
		return nil, badRequest("HostID is required")
	}
	data, err := s.fleet.Action(c.ctx, fleet.ActionRequest{HostID: string(req.HostID), Action: req.Action,
		ScriptID: string(req.ScriptID), StartedBy: c.who()})
	switch {
	case unreachable(err):
		// An unreachable host is an answer, not an API error (0.x).
		return false, nil
	case err != nil && req.Action != apitype.ActionRunScript:
		return nil, hostNotFound(err, string(req.HostID))
	case err != nil:
		return nil, err
	}
	switch d := data.(type) {
	case bool:
		return d, nil
	case fleet.RunScriptResult:
		return runScriptResultOut(d), nil
	}
	return nil, fmt.Errorf("action %s: unexpected answer %T", req.Action, data)
}

// actionAsync is the replacement of 0.x's websocket: a run_script whose
// answer is the live stream of the run (see streamRun).
func (s *Server) actionAsync(c *call) (any, error) {
	var req apitype.ActionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Action != apitype.ActionRunScript {
		return nil, badRequest("action %q has no live output; use PUT /api/action/sync", req.Action)
	}
	if req.HostID == "" {
		return nil, badRequest("HostID is required")
	}
	runs, err := s.fleet.StartRuns(c.ctx, fleet.RunRequest{ScriptID: string(req.ScriptID), HostIDs: []string{string(req.HostID)}, StartedBy: c.who()})
	if err != nil {
		return nil, err
	}
	return s.streamRunID(c, runs[0].ID)
}

func (s *Server) startRuns(c *call) (any, error) {
	var req apitype.RunsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.ScriptID == "" {
		return nil, badRequest("ScriptID is required")
	}
	if len(req.HostIDs)+len(req.GroupIDs) == 0 {
		return nil, badRequest("name at least one host in HostIDs or group in GroupIDs")
	}
	runs, err := s.fleet.StartRuns(c.ctx, fleet.RunRequest{ScriptID: string(req.ScriptID), HostIDs: idsIn(req.HostIDs),
		GroupIDs: idsIn(req.GroupIDs), StartedBy: c.who()})
	if err != nil {
		return nil, err
	}
	s.log.Info("runs started", "script.id", req.ScriptID, "runs", len(runs), "batch", runs[0].BatchID, "user", c.who())
	return apitype.Batch{BatchID: runs[0].BatchID, Runs: runsOut(runs)}, nil
}

func (s *Server) listRuns(c *call) (any, error) {
	q := c.r.URL.Query()
	var f domain.RunFilter
	f.HostID, f.ScriptID, f.ScheduleID, f.Before = q.Get("host"), q.Get("script"), q.Get("schedule"), q.Get("before")
	f.BatchID = q.Get("batch")
	f.Limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, badRequest("query parameter limit=%q must be a number from 1 to 10000", v)
		}
		f.Limit = n
	}
	var runs []domain.Run
	err := s.svc.Store.View(c.ctx, func(tx domain.Tx) error {
		var err error
		runs, err = tx.Runs(f)
		return err
	})
	return listOut(runs, bareRunOut), err
}

func (s *Server) getRun(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	r, err := s.run(c, id)
	return runOut(r), err
}

// run is a run with its output: for a run in progress, the output so far,
// which is stored only at its end.
func (s *Server) run(c *call, id string) (domain.Run, error) {
	if r, ok := s.fleet.Live(id); ok {
		return r, nil
	}
	var r domain.Run
	err := s.svc.Store.View(c.ctx, func(tx domain.Tx) error {
		var err error
		r, err = tx.Run(id)
		return err
	})
	return r, runNotFound(err, id)
}

// runNotFound names the run of an error that says it is missing.
func runNotFound(err error, id string) error {
	if errors.Is(err, domain.ErrNotFound) && domain.KindOf(err) == 0 {
		return &PublicError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no run with ID %s", id), Err: err}
	}
	return err
}

func (s *Server) cancelRun(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	if err := s.fleet.Cancel(id); err != nil {
		if errors.Is(err, fleet.ErrRunNotActive) {
			r, gerr := s.run(c, id)
			if gerr != nil {
				return nil, gerr // unknown run: 404
			}
			return nil, &PublicError{Status: http.StatusConflict, Err: err,
				Msg: fmt.Sprintf("run %s is not running (it is %s)", id, r.State)}
		}
		return nil, err
	}
	s.log.Info("run canceled", "run.id", id, "user", c.who())
	return true, nil
}

func (s *Server) batchRuns(c *call) (any, error) {
	batch := c.r.PathValue("batch")
	var runs []domain.Run
	err := s.svc.Store.View(c.ctx, func(tx domain.Tx) error {
		var err error
		runs, err = tx.Runs(domain.RunFilter{BatchID: batch})
		return err
	})
	if err == nil && len(runs) == 0 {
		return nil, notFound("no batch %q", batch)
	}
	return listOut(runs, bareRunOut), err
}

func (s *Server) streamRun(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return s.streamRunID(c, id)
}

func (s *Server) streamRunID(c *call, id string) (any, error) {
	run, sub, err := s.fleet.Subscribe(c.ctx, id)
	if err != nil {
		return nil, runNotFound(err, id)
	}
	defer sub.Close()
	return written{}, s.stream(c, []domain.Run{run}, sub)
}

func (s *Server) streamBatch(c *call) (any, error) {
	batch := c.r.PathValue("batch")
	runs, sub, err := s.fleet.SubscribeBatch(c.ctx, batch)
	if errors.Is(err, domain.ErrNotFound) && domain.KindOf(err) == 0 {
		return nil, notFound("no batch %q", batch)
	}
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	return written{}, s.stream(c, runs, sub)
}
