package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
)

// TestErrorTable walks the mapping of errors to HTTP: typed errors of
// every layer, wrapped as those layers wrap them, get their status and a
// message of their own; anything else is a 500 that says nothing.
func TestErrorTable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("fleet: script 7: %w", err) }
	for _, tt := range []struct {
		err    error
		status int
		msg    string
	}{
		{badRequest("Name is required"), 400, "Name is required"},
		{domain.Invalidf("Port %d is out of range", 70000), 400, "Port 70000 is out of range"},
		{fmt.Errorf("context: %w", domain.NotFoundf("no host with ID %s", "VVVanl4_U0as")), 404, "no host with ID VVVanl4_U0as"},
		{domain.Conflictf("last admin"), 409, "last admin"},
		{domain.Forbiddenf("no"), 403, "no"},
		{domain.ErrRegistrationOff, 404, "registration is turned off on this server"},
		{&auth.Error{Status: 429, Msg: "too many"}, 429, "too many"},
		{fmt.Errorf("decoding: %w", &http.MaxBytesError{Limit: MaxJSONBody}), 413, "larger than the limit of 1 MiB"},
		{wrap(fleet.ErrScriptDisabled), 400, "the script is disabled"},
		{fleet.ErrNoTargets, 400, "no enabled host to run on"},
		{fmt.Errorf("%w %q", fleet.ErrUnknownAction, "explode"), 400, "unknown Action; use one of ping"},
		{fmt.Errorf("%w: run 7", fleet.ErrRunNotActive), 409, "the run is not running"},
		{fmt.Errorf("%w (%v)", fleet.ErrRotationUnconfirmed, errors.New("timeout")), 502, "did not confirm the new PSK"},
		{fleet.ErrRotationRefused, 502, "refused the new PSK"},
		{fleet.ErrClosed, 503, "shutting down"},
		{&fleet.ConnError{Kind: fleet.ErrTimeout, Addr: "127.0.0.1:12444"}, 502, "the client did not answer in time"},
		{wrap(fmt.Errorf("store: script 7: %w", domain.ErrNotFound)), 404, "a record the request names does not exist"},
		{errors.New("bbolt: disk on fire"), 500, "internal error"},
	} {
		status, msg, ok := public(tt.err)
		if status != tt.status || !strings.Contains(msg, tt.msg) || ok != (tt.status != 500) {
			t.Errorf("public(%v) = %d %q %v, want %d %q", tt.err, status, msg, ok, tt.status, tt.msg)
		}
		if strings.Contains(msg, "fleet:") || strings.Contains(msg, "store:") {
			t.Errorf("public(%v) message %q shows an internal prefix", tt.err, msg)
		}
	}
}
