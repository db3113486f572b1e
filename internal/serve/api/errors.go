package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
)

// PublicError is an error of this package whose message the caller sees,
// with the HTTP status to answer.
type PublicError struct {
	Status int
	Msg    string
	Err    error
}

func (e *PublicError) Error() string { return e.Msg }
func (e *PublicError) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) error {
	return &PublicError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// notFound is a 404 with a message naming what is missing.
func notFound(format string, args ...any) error {
	return &PublicError{Status: http.StatusNotFound, Msg: fmt.Sprintf(format, args...)}
}

// kindStatus is the HTTP status of each kind of the domain's user-facing
// errors, whose messages are the answer's.
var kindStatus = map[domain.Kind]int{
	domain.KindInvalid:   http.StatusBadRequest,
	domain.KindNotFound:  http.StatusNotFound,
	domain.KindConflict:  http.StatusConflict,
	domain.KindForbidden: http.StatusForbidden,
}

// sentinels are the errors other layers return by value, matched with
// errors.Is in this order, with the status and the message to answer.
// Their own texts are for logs and are never shown.
var sentinels = []struct {
	err    error
	status int
	msg    string
}{
	{fleet.ErrScriptDisabled, http.StatusBadRequest, "the script is disabled; enable it to run it"},
	{fleet.ErrNoTargets, http.StatusBadRequest, "no enabled host to run on: the hosts named, and those of the groups named, are disabled or none"},
	{fleet.ErrUnknownAction, http.StatusBadRequest, "unknown Action; use one of ping, run_script, exit_client, reboot, shutdown, update_psk"},
	{fleet.ErrRunNotActive, http.StatusConflict, "the run is not running"},
	{fleet.ErrRotationUnconfirmed, http.StatusBadGateway, "the client did not confirm the new PSK; it stays pending until the next contact"},
	{fleet.ErrRotationRefused, http.StatusBadGateway, "the client refused the new PSK; the current one stays"},
	{fleet.ErrClosed, http.StatusServiceUnavailable, "the server is shutting down"},
	{domain.ErrStoreClosed, http.StatusServiceUnavailable, "the server is shutting down"},
	// A store's ErrNotFound that the domain did not turn into a message
	// (from fleet, which reads the store itself): handlers that can name
	// the record do so (see notFound); this is the fallback.
	{domain.ErrNotFound, http.StatusNotFound, "a record the request names does not exist"},
}

// public maps err to the status and message the caller may see; ok is
// false for internal errors, which answer 500 "internal error" and are
// logged with their whole chain. It is the one table from errors to HTTP.
func public(err error) (status int, msg string, ok bool) {
	var pe *PublicError
	var ae *auth.Error
	var de *domain.Error
	var mbe *http.MaxBytesError
	var ce *fleet.ConnError
	switch {
	case errors.As(err, &pe):
		return pe.Status, pe.Msg, true
	case errors.As(err, &ae):
		return ae.Status, ae.Msg, true
	case errors.As(err, &de) && kindStatus[de.Kind] != 0:
		return kindStatus[de.Kind], de.Msg, true
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than the limit of %s", size(mbe.Limit)), true
	case errors.As(err, &ce):
		// The host could not be reached: the fleet's sentence for it.
		return http.StatusBadGateway, fleet.Reason(ce), true
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.status, s.msg, true
		}
	}
	return http.StatusInternalServerError, "internal error", false
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// unreachable reports whether err means that a host could not be reached
// or did not settle a PSK rotation: for 0.x's actions that is an answer
// (false), not an API error.
func unreachable(err error) bool {
	var ce *fleet.ConnError
	return errors.As(err, &ce) || errors.Is(err, fleet.ErrRotationUnconfirmed) || errors.Is(err, fleet.ErrRotationRefused)
}

func (s *Server) writeError(c *call, err error) {
	status, msg, ok := public(err)
	if !ok {
		if errors.Is(err, context.Canceled) && c.r.Context().Err() != nil {
			s.log.Debug("request canceled by the client", "method", c.r.Method, "path", c.r.URL.Path)
		} else {
			s.log.Error("request failed", "method", c.r.Method, "path", c.r.URL.Path, "user", c.who(), "err", err)
		}
	} else if status >= 500 {
		s.log.Warn("request failed", "method", c.r.Method, "path", c.r.URL.Path, "user", c.who(), "status", status, "err", err)
	}
	var ae *auth.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(c.w, status, apitype.Envelope[any]{Code: status, Error: apitype.Error{Code: status, Message: msg}})
}
