package testbin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/otto-automation/otto/internal/apiclient"
)

// TestLogin: Login signs in with the password, issues a key with the
// session, and returns a client that calls with the key alone.
func TestLogin(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "otto_session", Value: "s1"})
		w.Write([]byte(`{"code":200,"error":{},"data":0}`))
	})
	mux.HandleFunc("POST /api/users/user/admin/apikey", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("otto_session"); err != nil || c.Value != "s1" || r.Header.Get(apiclient.HeaderCSRF) != "1" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code":401,"error":{"code":401,"message":"no session"}}`))
			return
		}
		w.Write([]byte(`{"code":200,"error":{},"data":"the-key"}`))
	})
	mux.HandleFunc("GET /api/hosts", func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("otto_session"); err == nil || r.Header.Get(apiclient.HeaderUsername) != "admin" ||
			r.Header.Get(apiclient.HeaderAPIKey) != "the-key" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code":401,"error":{"code":401,"message":"want the key alone"}}`))
			return
		}
		w.Write([]byte(`{"code":200,"error":{},"data":[]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, key, err := Login(context.Background(), srv.URL, "admin", "pw", apiclient.Options{})
	if err != nil || key != "the-key" {
		t.Fatalf("Login = %q, %v; want the-key", key, err)
	}
	if _, err := c.Hosts(context.Background()); err != nil {
		t.Errorf("the client of Login: GET /api/hosts: %v", err)
	}
	if _, _, err := Login(context.Background(), srv.URL, "bob", "pw", apiclient.Options{}); err == nil {
		t.Errorf("Login as a user whose key cannot be issued: no error")
	}
}
