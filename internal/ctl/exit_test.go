package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apiclient"
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
		{"server 400", &apiclient.Error{Status: 400, Message: "Name is required"}, ExitError},
		{"server 401", &apiclient.Error{Status: 401, Message: "not logged in"}, ExitError},
		{"server 403", &apiclient.Error{Status: 403, Message: "your role"}, ExitError},
		{"server 404", &apiclient.Error{Status: 404, Message: "no host 9"}, ExitError},
		{"server 500", &apiclient.Error{Status: 500, Message: "internal error"}, ExitError},
		{"proxy 502", &apiclient.Error{Status: 502, Message: "bad gateway"}, ExitUnreachable},
		{"proxy 503", &apiclient.Error{Status: 503, Message: "unavailable"}, ExitUnreachable},
		{"proxy 504", &apiclient.Error{Status: 504, Message: "timeout"}, ExitUnreachable},
		{"server down", &apiclient.UnreachableError{URL: "http://x", Err: errors.New("connection refused")}, ExitUnreachable},
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
	code := report(&b, false, &apiclient.Error{Status: 401, Message: "wrong username or API key"})
	if code != ExitError || b.String() != "ottoctl: wrong username or API key\n" {
		t.Errorf("report = %d, %q; want 1, the server's message", code, b.String())
	}
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	code := report(&b, true, &apiclient.Error{Status: 404, Message: "no host with ID 9"})
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

// TestReportHints checks that a server that cannot be reached, or whose
// certificate is not trusted, is reported with what to do about it.
func TestReportHints(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
		code int
	}{
		{&apiclient.UnreachableError{URL: "http://x", Err: errors.New("connection refused")},
			"ottoctl: cannot reach the otto server at http://x: connection refused (is it running, and is --url or OTTO_URL right?)\n", ExitUnreachable},
		{fmt.Errorf("logged in, but: %w", &apiclient.CertificateError{Err: errors.New("x509: unknown authority")}),
			"ottoctl: logged in, but: the server's TLS certificate is not trusted: x509: unknown authority (fix the certificate, or pass --insecure to skip the check)\n", ExitError},
	} {
		var b bytes.Buffer
		if code := report(&b, false, tc.err); code != tc.code || b.String() != tc.want {
			t.Errorf("report(%v) = %d, %q; want %d, %q", tc.err, code, b.String(), tc.code, tc.want)
		}
	}
}
