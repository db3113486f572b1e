package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// FuzzRegister sends arbitrary bodies to PUT /api/register, the one route
// that anyone on the network may call without credentials. Whatever the
// body, the answer is a well-formed envelope and never a 500.
func FuzzRegister(f *testing.F) {
	e := newEnv(f)
	// Logging through f from inside the fuzz function is not allowed.
	e.api.log = slog.New(slog.DiscardHandler)
	e.svc.Log = e.api.log
	o, err := e.svc.Options(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	o.Register.Enabled, o.Register.Key = true, "the-register-key"
	if err := e.svc.Store.Update(context.Background(), func(tx domain.Tx) error { return tx.PutOptions(o) }); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"key":"the-register-key","port":12444,"properties":{"hostname":"web1","kernel_name":"Linux","kernel_version":"6.1","distribution_name":"Debian GNU/Linux","distribution_version":"12 (bookworm)"}}`,
		`{"key":"wrong","port":1,"properties":{"hostname":"x"}}`,
		`{"key":"the-register-key","port":70000,"properties":{}}`,
		`{"key":"the-register-key","port":-1}`,
		`{"key":1}`, `[]`, `null`, `{`, ``, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		req := httptest.NewRequest("PUT", "/api/register", bytes.NewReader(body))
		req.Header.Set("X-OTTO-PROTO-VERSION", "2")
		req.RemoteAddr = fmt.Sprintf("127.%d.%d.%d:40000", n>>16&255, n>>8&255, n&255) // below the rate limit
		w := httptest.NewRecorder()
		e.api.Handler().ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("PUT /api/register %q = %d %s", body, w.Code, w.Body)
		}
		var env struct {
			Code  int             `json:"code"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Code != w.Code {
			t.Fatalf("PUT /api/register %q = %d, body %q is not an envelope with that code (%v)", body, w.Code, w.Body, err)
		}
		if w.Code != http.StatusOK && len(env.Error) < 3 {
			t.Fatalf("PUT /api/register %q = %d without an error message: %s", body, w.Code, w.Body)
		}
	})
}
