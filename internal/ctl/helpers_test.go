package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// result is one in-process ottoctl run.
type result struct {
	stdout, stderr string
	code           int
}

// ctlRun runs "otto ctl ARGS..." in-process, as the multi-call binary
// does, with stdin, and returns what it printed and its exit code.
func ctlRun(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	return ctlRunCtx(t, context.Background(), stdin, args...)
}

func ctlRunCtx(t testing.TB, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	var out bytes.Buffer
	return ctlRunTo(t, ctx, &out, stdin, args...)
}

// ctlRunTo is ctlRun with its own stdout writer, whose String method
// gives what was written.
func ctlRunTo(t testing.TB, ctx context.Context, out interface {
	io.Writer
	String() string
}, stdin string, args ...string) result {
	t.Helper()
	var errOut bytes.Buffer
	app := &cli.App{
		Name:                 "otto",
		Commands:             []*cli.Command{Command()},
		Writer:               out,
		ErrWriter:            &errOut,
		Reader:               strings.NewReader(stdin),
		ExitErrHandler:       func(*cli.Context, error) {},
		EnableBashCompletion: true,
		HideVersion:          true,
	}
	err := app.RunContext(ctx, append([]string{"otto", "ctl"}, args...))
	code := 0
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		code = ec.ExitCode()
	case err != nil:
		code = 1
		errOut.WriteString("(returned) " + err.Error() + "\n")
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// isolate points HOME and XDG_CONFIG_HOME at a temporary directory and
// clears the OTTO_* variables, so that nothing of the user's leaks in.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, v := range []string{envURL, envUsername, envAPIKey, envInsecure, envConfig} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	return home
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// fakeAPI is an httptest server speaking the API's envelope, for tests
// of what ottoctl sends and how it reads answers without a real server.
type fakeAPI struct {
	*httptest.Server
	mux *http.ServeMux
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{mux: http.NewServeMux()}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(apiclient.HeaderUsername) != "tester" || r.Header.Get(apiclient.HeaderAPIKey) != "secret-key" {
			replyErr(w, http.StatusUnauthorized, "wrong username or API key")
			return
		}
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// use points ottoctl at the fake server through the environment.
func (f *fakeAPI) use(t *testing.T) {
	isolate(t)
	t.Setenv(envURL, f.URL)
	t.Setenv(envUsername, "tester")
	t.Setenv(envAPIKey, "secret-key")
}

func reply(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"code": 200, "error": map[string]any{}, "data": data})
}

func replyErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": status, "error": map[string]any{"code": status, "message": msg}})
}

func getenvTest(k string) string { return os.Getenv(k) }

// signalWriter is a buffer that closes written at its first write.
type signalWriter struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func newSignalWriter() *signalWriter { return &signalWriter{written: make(chan struct{})} }

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() == 0 && len(p) > 0 {
		close(w.written)
	}
	return w.b.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// newPlainServer answers every request with status and body, as a web
// server or proxy that is not otto would.
func newPlainServer(t *testing.T, status int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
