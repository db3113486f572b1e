package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
)

// sseKeepalive is how often a quiet stream sends a comment line, so that
// proxies and clients keep the connection open.
const sseKeepalive = 15 * time.Second

// stream sends runs and their updates from sub as server-sent events until
// every run ended (then "end") or the caller goes away. Output is sent as
// what is new since the last event: the fleet hands over whole snapshots,
// each extending the one before.
func (s *Server) stream(c *call, runs []domain.Run, sub *fleet.Subscription) error {
	rc := http.NewResponseController(c.w)
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)

	sent := make(map[string][2]int) // bytes of stdout and stderr sent per run
	open := make(map[string]bool)
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(c.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return nil
	}
	sendOutput := func(r domain.Run) error {
		n := sent[r.ID]
		for i, out := range [2]string{r.Stdout, r.Stderr} {
			if len(out) <= n[i] {
				continue
			}
			stream := [2]string{"stdout", "stderr"}[i]
			if err := send(apitype.EventOutput, apitype.Output{RunID: idOut(r.ID), HostID: idOut(r.HostID), HostName: r.HostName,
				Stream: stream, Data: out[n[i]:]}); err != nil {
				return err
			}
			n[i] = len(out)
		}
		sent[r.ID] = n
		return nil
	}
	bare := bareRunOut
	ended := func(r domain.Run) bool {
		return r.State == domain.RunDone || r.State == domain.RunFailed || r.State == domain.RunCanceled
	}

	for _, r := range runs {
		if err := send(apitype.EventState, bare(r)); err != nil {
			return nil
		}
		if err := sendOutput(r); err != nil {
			return nil
		}
		if ended(r) {
			if err := send(apitype.EventDone, bare(r)); err != nil {
				return nil
			}
			continue
		}
		open[r.ID] = true
	}
	_ = rc.Flush()

	tick := time.NewTicker(sseKeepalive)
	defer tick.Stop()
	for len(open) > 0 {
		select {
		case <-c.ctx.Done():
			return nil
		case <-tick.C:
			if _, err := fmt.Fprint(c.w, ": keepalive\n\n"); err != nil {
				return nil
			}
		case u, ok := <-sub.C:
			if !ok {
				open = nil
				break
			}
			var err error
			switch u.Kind {
			case fleet.UpdateState:
				err = send(apitype.EventState, bare(u.Run))
			case fleet.UpdateOutput:
				err = sendOutput(u.Run)
			case fleet.UpdateResult:
				if err = sendOutput(u.Run); err == nil {
					err = send(apitype.EventDone, bare(u.Run))
				}
				delete(open, u.Run.ID)
			}
			if err != nil {
				return nil
			}
		}
		_ = rc.Flush()
	}
	_ = send(apitype.EventEnd, struct{}{})
	_ = rc.Flush()
	return nil
}
