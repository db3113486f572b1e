package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/otto-automation/otto/internal/apiclient"
)

// Exit codes of ottoctl. docs/ctl.md has the same table; scripts must treat
// any code they do not know as a failure.
const (
	ExitOK          = 0   // it worked; for run: every host ran the script and it succeeded
	ExitError       = 1   // an error, or a script ran and failed (or was canceled)
	ExitUsage       = 2   // bad flags, arguments or connection settings; nothing was done
	ExitUnreachable = 3   // the server, or for run and heartbeat a host, could not be reached
	ExitInterrupted = 130 // interrupted (Ctrl-C or SIGTERM)
)

// exitStatusHelp is the EXIT STATUS paragraph of most commands' help.
const exitStatusHelp = `EXIT STATUS
   0 on success; 1 on an error (the server's message is printed); 2 for bad flags,
   arguments or settings; 3 when the server cannot be reached; 130 when interrupted.
   With --json, a failure also prints {"type":"error","message":...,"code":N} on stderr.`

// usageError is a command line or setting that cannot work: nothing was
// sent to the server.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// failedError is a command that did its work and found failure: a script
// that failed on some host (code ExitError) or a host that could not be
// reached (ExitUnreachable).
type failedError struct {
	msg  string
	code int
}

func (e *failedError) Error() string { return e.msg }

// interruptedError is a command stopped by Ctrl-C; msg says what to do
// about the work left behind, if anything.
type interruptedError struct{ msg string }

func (e *interruptedError) Error() string { return e.msg }

// exitCode is the one place that maps an error to ottoctl's exit code.
func exitCode(err error) int {
	var (
		ue  *usageError
		fe  *failedError
		ie  *interruptedError
		ae  *apiclient.Error
		une *apiclient.UnreachableError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ie), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &fe):
		return fe.code
	case errors.As(err, &une):
		return ExitUnreachable
	case errors.As(err, &ae):
		switch ae.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return ExitUnreachable // a proxy in front of a server that is down
		}
		return ExitError
	}
	return ExitError
}

// errorJSON is what --json prints on stderr for a failure. Type is always
// "error"; Status is the HTTP status when the server answered.
type errorJSON struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Code    int    `json:"code"`
	Status  int    `json:"status,omitempty"`
}

// report prints err on w, plain or as JSON, and returns the exit code.
func report(w io.Writer, asJSON bool, err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	msg := message(err)
	if asJSON {
		e := errorJSON{Type: "error", Message: msg, Code: code}
		var ae *apiclient.Error
		if errors.As(err, &ae) {
			e.Status = ae.Status
		}
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "%s\n", b)
		return code
	}
	fmt.Fprintf(w, "ottoctl: %s\n", msg)
	return code
}

// message is err for people, with what to do about a server that cannot
// be reached or whose certificate is not trusted.
func message(err error) string {
	var (
		une *apiclient.UnreachableError
		ce  *apiclient.CertificateError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &une):
		return err.Error() + " (is it running, and is --url or OTTO_URL right?)"
	case errors.As(err, &ce):
		return err.Error() + " (fix the certificate, or pass --insecure to skip the check)"
	}
	return err.Error()
}
