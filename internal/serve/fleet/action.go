package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// Actions of PUT /api/action/sync, the names of otto 0.x.
const (
	ActionPing       = "ping"
	ActionRunScript  = "run_script"
	ActionExitClient = "exit_client"
	ActionReboot     = "reboot"
	ActionShutdown   = "shutdown"
	ActionUpdatePSK  = "update_psk"
)

// ActionRequest is the body of PUT /api/action/sync, plus who asks.
type ActionRequest struct {
	HostID    string
	Action    string
	ScriptID  string // for ActionRunScript
	StartedBy string
}

// RunScriptResult is the data of a run_script action, in the shape otto
// 0.x answered: existing API users parse these names.
type RunScriptResult struct {
	ScriptID string
	Duration time.Duration
	// Environment is the merged environment the script ran with, secret
	// values empty (as domain.Environment.Masked leaves them).
	Environment map[string]string
	Result      wire.ScriptResult
	// RunError says why the script could not run (an unreachable host,
	// ...); it is "" when the client answered, even if the script failed.
	RunError string
	// RunID is the run's record in the history (otto's addition).
	RunID string
}

// Action performs one action on one host and waits for it, for PUT
// /api/action/sync. Its data is a bool for ping (reachable or not) and
// for exit_client, reboot, shutdown and update_psk (done or not), and a
// RunScriptResult for run_script. A host that cannot be reached is not an
// error: ping answers false, run_script says so in RunError, and the
// others answer false with the reason as the error's text (a *ConnError,
// or ErrRotationUnconfirmed / ErrRotationRefused for update_psk). An
// unknown host or script is an error matching domain.ErrNotFound, an
// unknown action ErrUnknownAction.
//
// run_script goes into the run history like any run. If ctx ends before
// it does, the run goes on and Action returns ctx's error.
func (s *Service) Action(ctx context.Context, req ActionRequest) (any, error) {
	switch req.Action {
	case ActionPing:
		st, err := s.Heartbeat(ctx, req.HostID)
		return st.IsReachable, err
	case ActionRunScript:
		return s.runScriptAction(ctx, req)
	case ActionUpdatePSK:
		if _, err := s.RotatePSK(ctx, req.HostID); err != nil {
			return false, err
		}
		return true, nil
	}
	var wireAction uint32
	switch req.Action {
	case ActionExitClient:
		wireAction = wire.ActionExit
	case ActionReboot:
		wireAction = wire.ActionReboot
	case ActionShutdown:
		wireAction = wire.ActionShutdown
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownAction, req.Action)
	}
	opts, err := s.options(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.trigger(ctx, s.dialer(opts.Network), req.HostID, wire.MessageTriggerAction{Action: wireAction}); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Service) runScriptAction(ctx context.Context, req ActionRequest) (RunScriptResult, error) {
	res := RunScriptResult{ScriptID: req.ScriptID}
	runs, err := s.StartRuns(ctx, RunRequest{ScriptID: req.ScriptID, HostIDs: []string{req.HostID}, StartedBy: req.StartedBy})
	if err != nil {
		return res, err
	}
	run := runs[0]
	res.RunID = run.ID
	ar := s.broker.get(run.ID) // before it can end and leave the broker

	// The environment as the run builds it (with the key it had then).
	var plan batchPlan
	var h domain.Host
	err = s.store.View(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		plan.opts = withDefaults(o)
		if plan.script, err = tx.Script(req.ScriptID); err != nil {
			return err
		}
		if h, err = tx.Host(req.HostID); err != nil {
			return err
		}
		plan.groups = make(map[string]domain.Group)
		for _, id := range h.GroupIDs {
			if g, err := tx.Group(id); err == nil {
				plan.groups[id] = g
			}
		}
		return nil
	})
	if err == nil {
		res.Environment = s.runEnv(plan.opts, plan.script, plan.groups, h).Masked().Map()
	}

	var result *wire.ScriptResult
	if ar != nil {
		select {
		case <-ar.done:
			run, result = ar.run, ar.result
		case <-ctx.Done():
			return res, ctx.Err()
		}
	} else if run, err = s.storedRun(ctx, run.ID); err != nil {
		return res, err
	}
	res.Duration = run.Duration
	if result != nil {
		res.Result = *result
	} else {
		res.RunError = run.Error
		res.Result = wire.ScriptResult{Success: false, Stdout: run.Stdout, Stderr: run.Stderr, Elapsed: run.Duration}
	}
	return res, nil
}
