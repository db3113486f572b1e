package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

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

// fleetError turns the fleet's errors into what the caller may see.
func fleetError(err error) error {
	switch {
	case err == nil:
		return nil
	case domain.KindOf(err) != 0:
		return err
	case errors.Is(err, domain.ErrNotFound):
		return &PublicError{Status: http.StatusNotFound, Msg: trimPrefix(err), Err: err}
	case errors.Is(err, fleet.ErrScriptDisabled), errors.Is(err, fleet.ErrNoTargets), errors.Is(err, fleet.ErrUnknownAction):
		return &PublicError{Status: http.StatusBadRequest, Msg: trimPrefix(err), Err: err}
	case errors.Is(err, fleet.ErrRunNotActive):
		return &PublicError{Status: http.StatusConflict, Msg: trimPrefix(err), Err: err}
	case errors.Is(err, fleet.ErrRotationUnconfirmed), errors.Is(err, fleet.ErrRotationRefused):
		return &PublicError{Status: http.StatusBadGateway, Msg: trimPrefix(err), Err: err}
	case errors.Is(err, fleet.ErrClosed):
		return &PublicError{Status: http.StatusServiceUnavailable, Msg: "the server is shutting down", Err: err}
	}
	var ce *fleet.ConnError
	if errors.As(err, &ce) {
		return &PublicError{Status: http.StatusBadGateway, Msg: fleet.Reason(err), Err: err}
	}
	return err
}

// trimPrefix drops the "fleet: " prefixes of a fleet error (its own and
// those of the errors it wraps) for the user.
func trimPrefix(err error) string {
	return strings.ReplaceAll(err.Error(), "fleet: ", "")
}

func (s *Server) heartbeats(c *call) (any, error) {
	var sts []domain.HostStatus
	err := s.svc.Store.View(c.ctx, func(tx domain.Tx) error {
		var err error
		sts, err = tx.HostStatuses()
		return err
	})
	out := make(map[string]domain.HostStatus, len(sts))
	for _, st := range sts {
		out[strconv.FormatInt(st.HostID, 10)] = st
	}
	return out, err
}

func (s *Server) sweep(c *call) (any, error) {
	res, err := s.fleet.Sweep(c.ctx)
	return res, fleetError(err)
}

func (s *Server) heartbeat(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	st, err := s.fleet.Heartbeat(c.ctx, id)
	return st, fleetError(err)
}

func (s *Server) rotatePSK(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	psk, err := s.fleet.RotatePSK(c.ctx, id)
	if err != nil {
		return nil, fleetError(err)
	}
	s.log.Info("psk rotated on demand", "host.id", id, "user", c.who())
	return psk, nil
}

// actionRequest is the body of PUT /api/action/sync and /async.
type actionRequest struct {
	HostID   int64
	Action   string
	ScriptID int64
}

func (s *Server) actionSync(c *call) (any, error) {
	var req actionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	data, err := s.fleet.Action(c.ctx, fleet.ActionRequest{HostID: req.HostID, Action: req.Action,
		ScriptID: req.ScriptID, StartedBy: c.who()})
	var ce *fleet.ConnError
	if errors.As(err, &ce) || errors.Is(err, fleet.ErrRotationUnconfirmed) || errors.Is(err, fleet.ErrRotationRefused) {
		// An unreachable host is an answer, not an API error (0.x).
		return false, nil
	}
	return data, fleetError(err)
}

// actionAsync is the replacement of 0.x's websocket: a run_script whose
// answer is the live stream of the run (see streamRun).
func (s *Server) actionAsync(c *call) (any, error) {
	var req actionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Action != fleet.ActionRunScript {
		return nil, badRequest("action %q has no live output; use PUT /api/action/sync", req.Action)
	}
	if req.HostID == 0 {
		return nil, badRequest("HostID is required")
	}
	runs, err := s.fleet.StartRuns(c.ctx, fleet.RunRequest{ScriptID: req.ScriptID, HostIDs: []int64{req.HostID}, StartedBy: c.who()})
	if err != nil {
		return nil, fleetError(err)
	}
	return s.streamRunID(c, runs[0].ID)
}

// runsRequest is the body of POST /api/runs.
type runsRequest struct {
	ScriptID int64
	HostIDs  []int64
	GroupIDs []int64
}

// runsStarted is the answer of POST /api/runs.
type runsStarted struct {
	BatchID string
	Runs    []domain.Run
}

func (s *Server) startRuns(c *call) (any, error) {
	var req runsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.ScriptID == 0 {
		return nil, badRequest("ScriptID is required")
	}
	if len(req.HostIDs)+len(req.GroupIDs) == 0 {
		return nil, badRequest("name at least one host in HostIDs or group in GroupIDs")
	}
	runs, err := s.fleet.StartRuns(c.ctx, fleet.RunRequest{ScriptID: req.ScriptID, HostIDs: req.HostIDs,
		GroupIDs: req.GroupIDs, StartedBy: c.who()})
	if err != nil {
		return nil, fleetError(err)
	}
	s.log.Info("runs started", "script.id", req.ScriptID, "runs", len(runs), "batch", runs[0].BatchID, "user", c.who())
	return runsStarted{BatchID: runs[0].BatchID, Runs: runs}, nil
}

func (s *Server) listRuns(c *call) (any, error) {
	q := c.r.URL.Query()
	var f domain.RunFilter
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"host", &f.HostID}, {"script", &f.ScriptID}, {"schedule", &f.ScheduleID}, {"before", &f.Before}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, badRequest("query parameter %s=%q is not an ID", p.name, v)
			}
			*p.dst = n
		}
	}
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
	if runs == nil {
		runs = []domain.Run{}
	}
	return runs, err
}

func (s *Server) getRun(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	if r, ok := s.fleet.Live(id); ok {
		return r, nil // with the output so far, which is stored at the end
	}
	var r domain.Run
	err = s.svc.Store.View(c.ctx, func(tx domain.Tx) error {
		r, err = tx.Run(id)
		return err
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, &PublicError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no run with ID %d", id)}
	}
	return r, err
}

func (s *Server) cancelRun(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	if err := s.fleet.Cancel(id); err != nil {
		if errors.Is(err, fleet.ErrRunNotActive) {
			r, gerr := s.getRun(c)
			if gerr != nil {
				return nil, gerr // unknown run: 404
			}
			return nil, &PublicError{Status: http.StatusConflict, Err: err,
				Msg: fmt.Sprintf("run %d is not running (it is %s)", id, r.(domain.Run).State)}
		}
		return nil, fleetError(err)
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
		return nil, &PublicError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no batch %q", batch)}
	}
	return runs, err
}

func (s *Server) streamRun(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return s.streamRunID(c, id)
}

func (s *Server) streamRunID(c *call, id int64) (any, error) {
	run, sub, err := s.fleet.Subscribe(c.ctx, id)
	if err != nil {
		return nil, fleetError(err)
	}
	defer sub.Close()
	return written{}, s.stream(c, []domain.Run{run}, sub)
}

func (s *Server) streamBatch(c *call) (any, error) {
	runs, sub, err := s.fleet.SubscribeBatch(c.ctx, c.r.PathValue("batch"))
	if err != nil {
		return nil, fleetError(err)
	}
	defer sub.Close()
	return written{}, s.stream(c, runs, sub)
}
