package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain error", errors.New("boom"), ExitError},
		{"usage", usagef("bad flag"), ExitUsage},
		{"wrapped usage", fmt.Errorf("x: %w", usagef("bad flag")), ExitUsage},
		{"not found name", &notFoundError{msg: "no host named x"}, ExitError},
		{"server 400", &APIError{Status: 400, Message: "Name is required"}, ExitError},
		{"server 401", &APIError{Status: 401, Message: "not logged in"}, ExitError},
		{"server 403", &APIError{Status: 403, Message: "your role"}, ExitError},
		{"server 404", &APIError{Status: 404, Message: "no host 9"}, ExitError},
		{"server 500", &APIError{Status: 500, Message: "internal error"}, ExitError},
		{"proxy 502", &APIError{Status: 502, Message: "bad gateway"}, ExitUnreachable},
		{"proxy 503", &APIError{Status: 503, Message: "unavailable"}, ExitUnreachable},
		{"proxy 504", &APIError{Status: 504, Message: "timeout"}, ExitUnreachable},
		{"server down", &unreachableError{url: "http://x", err: errors.New("connection refused")}, ExitUnreachable},
		{"script failed", &failedError{code: ExitError, msg: "failed on a"}, ExitError},
		{"host unreachable", &failedError{code: ExitUnreachable, msg: "could not run on a"}, ExitUnreachable},
		{"interrupted", &interruptedError{msg: "stopped"}, ExitInterrupted},
		{"context canceled", fmt.Errorf("get: %w", context.Canceled), ExitInterrupted},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%s: %v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestReportPlain(t *testing.T) {
	var b bytes.Buffer
	code := report(&b, false, &APIError{Status: 401, Message: "wrong username or API key"})
	if code != ExitError || b.String() != "ottoctl: wrong username or API key\n" {
		t.Errorf("report = %d, %q; want 1, the server's message", code, b.String())
	}
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	code := report(&b, true, &APIError{Status: 404, Message: "no host with ID 9"})
	if code != ExitError {
		t.Errorf("code = %d, want 1", code)
	}
	var e map[string]any
	if err := json.Unmarshal(b.Bytes(), &e); err != nil {
		t.Fatalf("stderr %q is not JSON: %v", b.String(), err)
	}
	want := map[string]any{"type": "error", "message": "no host with ID 9", "code": float64(1), "status": float64(404)}
	if fmt.Sprint(e) != fmt.Sprint(want) {
		t.Errorf("JSON error = %v, want %v", e, want)
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("JSON error %q is not one line", b.String())
	}
}
