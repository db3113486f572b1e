package apiclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

// newServer serves h and returns a client of it with an API key.
func newServer(t *testing.T, h http.HandlerFunc, o Options) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if o.APIKey == "" && o.Cookies == nil {
		o.Username, o.APIKey = "tester", "secret-key"
	}
	c, err := New(srv.URL, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "http://x/?a=1", "http://x/#f", "otto.example.com"} {
		if _, err := New(u, Options{}); err == nil {
			t.Errorf("New(%q) = nil error, want one", u)
		}
	}
	if _, err := New("https://otto.example.com/", Options{}); err != nil {
		t.Errorf("New(https://otto.example.com/) = %v", err)
	}
}

func TestDoSendsAndDecodes(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/api/hosts/host" {
			t.Errorf("request %s %s, want PUT /api/hosts/host", r.Method, r.URL.Path)
		}
		if u, k := r.Header.Get(HeaderUsername), r.Header.Get(HeaderAPIKey); u != "tester" || k != "secret-key" {
			t.Errorf("credentials %q %q, want tester secret-key", u, k)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		if got := r.Header.Get(HeaderCSRF); got != "" {
			t.Errorf("X-OTTO-CSRF = %q with an API key, want none", got)
		}
		b, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(b), `"Name":"web1"`) {
			t.Errorf("body %s lacks the name", b)
		}
		fmt.Fprint(w, `{"code":200,"error":{},"data":{"ID":"VVVanl4_U0as","Name":"web1","GroupIDs":["1",2]}}`)
	}, Options{})
	h, err := c.CreateHost(context.Background(), apitype.HostRequest{Name: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != "VVVanl4_U0as" || h.Name != "web1" || !reflect.DeepEqual(h.GroupIDs, []apitype.ID{"1", "2"}) {
		t.Errorf("CreateHost = %+v", h)
	}
}

func TestDoQueryAndEscapedPath(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/api/users/user/a%2Fb" {
			t.Errorf("path %q, want /api/users/user/a%%2Fb", r.URL.EscapedPath())
		}
		if r.URL.RawQuery != "c=5" {
			t.Errorf("query %q, want c=5", r.URL.RawQuery)
		}
		fmt.Fprint(w, `{"code":200,"error":{},"data":null}`)
	}, Options{})
	if err := c.Do(context.Background(), http.MethodGet, ItemPath("/api/users/user", "a/b")+"?c=5", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDoDataLeftOut(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"code":200,"error":{}}`)
	}, Options{})
	hosts, err := c.Hosts(context.Background())
	if err != nil || hosts == nil || len(hosts) != 0 {
		t.Errorf("Hosts() = %#v, %v; want [], nil", hosts, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   *Error // nil: a plain error
		substr string
	}{
		{"envelope", 404, `{"code":404,"error":{"code":404,"message":"no host 7"}}`, &Error{Status: 404, Code: 404, Message: "no host 7"}, "no host 7"},
		{"envelope 200 with error", 200, `{"code":409,"error":{"code":409,"message":"name taken"}}`, &Error{Status: 200, Code: 409, Message: "name taken"}, "name taken"},
		{"html 404", 404, `<html>not found</html>`, &Error{Status: 404}, "without otto's JSON error"},
		{"proxy 502", 502, `bad gateway`, &Error{Status: 502}, "not available"},
		{"not an envelope", 200, `{"hello":1}`, nil, "not otto's JSON envelope"},
		{"not JSON", 200, `<html>`, nil, "not otto's JSON envelope"},
		{"bad data", 200, `{"code":200,"error":{},"data":"a string"}`, nil, "decoding the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}, Options{})
			_, err := c.Host(context.Background(), "7")
			if err == nil {
				t.Fatal("Host() = nil error")
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("Host() error %q, want it to contain %q", err, tc.substr)
			}
			var ae *Error
			isAPI := errors.As(err, &ae)
			switch {
			case tc.want == nil && isAPI:
				t.Errorf("Host() error is an *Error %+v, want a plain one", ae)
			case tc.want != nil && !isAPI:
				t.Errorf("Host() error %T %v, want an *Error", err, err)
			case tc.want != nil:
				if ae.Status != tc.want.Status || ae.Code != tc.want.Code || (tc.want.Message != "" && ae.Message != tc.want.Message) {
					t.Errorf("Host() error = %+v, want %+v", ae, tc.want)
				}
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	big := strings.Repeat("x", 2000)
	h := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"code":200,"error":{},"data":%q}`, big)
	}
	c := newServer(t, h, Options{MaxAnswer: 1000})
	var s string
	err := c.Do(context.Background(), http.MethodGet, "/api/x", nil, &s)
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("Do() of 2 kB with MaxAnswer 1000 = %v, want a size error", err)
	}
	c = newServer(t, h, Options{MaxAnswer: 4000})
	if err := c.Do(context.Background(), http.MethodGet, "/api/x", nil, &s); err != nil || s != big {
		t.Errorf("Do() of 2 kB with MaxAnswer 4000 = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New("http://"+addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Hosts(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.URL != "http://"+addr {
		t.Errorf("Hosts() on a closed port = %T %v, want an UnreachableError", err, err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"code":200,"error":{},"data":[]}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Hosts(context.Background())
	var ce *CertificateError
	if !errors.As(err, &ce) {
		t.Errorf("Hosts() with a self-signed certificate = %T %v, want a CertificateError", err, err)
	}

	c, err = New(srv.URL, Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hosts(context.Background()); err != nil {
		t.Errorf("Hosts() with Insecure = %v", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = New(srv.URL, Options{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hosts(context.Background()); err != nil {
		t.Errorf("Hosts() with the server's certificate as CAFile = %v", err)
	}
	if _, err := New(srv.URL, Options{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Error("New() with a missing CAFile = nil error")
	}
}

func TestSessionCookieAndCSRF(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/login":
			http.SetCookie(w, &http.Cookie{Name: "otto_session", Value: "s3"})
			fmt.Fprint(w, `{"code":200,"error":{},"data":1}`)
			return
		}
		ck, err := r.Cookie("otto_session")
		if err != nil || ck.Value != "s3" {
			t.Errorf("%s %s without the session cookie", r.Method, r.URL.Path)
		}
		if r.Header.Get(HeaderAPIKey) != "" {
			t.Errorf("%s %s sent the API key with a session", r.Method, r.URL.Path)
		}
		csrf := r.Header.Get(HeaderCSRF)
		if want := map[string]string{"GET": "", "POST": "1"}[r.Method]; csrf != want {
			t.Errorf("%s %s: X-OTTO-CSRF = %q, want %q", r.Method, r.URL.Path, csrf, want)
		}
		if strings.HasSuffix(r.URL.Path, "/apikey") {
			fmt.Fprint(w, `{"code":200,"error":{},"data":"the-new-key"}`)
			return
		}
		fmt.Fprint(w, `{"code":200,"error":{},"data":{}}`)
	}, Options{Username: "admin", APIKey: "old-key"})
	ctx := context.Background()
	mustChange, err := c.Login(ctx, "admin", "pw")
	if err != nil || !mustChange {
		t.Fatalf("Login() = %v, %v; want true, nil", mustChange, err)
	}
	if _, err := c.Options(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := c.NewAPIKey(ctx, "admin")
	if err != nil || key != "the-new-key" {
		t.Errorf("NewAPIKey() = %q, %v", key, err)
	}
}

func TestUploadAndDownload(t *testing.T) {
	const content = "listen 80;\n"
	sum := sha256.Sum256([]byte(content))
	wrong := sha256.Sum256([]byte("something else"))
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/api/attachments":
			mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/form-data" {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
				return
			}
			mr := multipart.NewReader(r.Body, params["boundary"])
			got := map[string]string{}
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(p)
				if p.FormName() == "file" {
					got["file:"+p.FileName()] = string(b)
				} else {
					got[p.FormName()] = string(b)
				}
			}
			want := map[string]string{"Path": "/etc/nginx.conf", "Mode": "600", "Inherit": "false", "UID": "33", "GID": "34",
				"file:nginx.conf": content}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("upload form = %v, want %v", got, want)
			}
			fmt.Fprint(w, `{"code":200,"error":{},"data":{"ID":"5","Name":"nginx.conf"}}`)
		case r.URL.Path == "/api/attachments/attachment/5/download":
			w.Header().Set(HeaderChecksum, strings.ToUpper(hex.EncodeToString(sum[:])))
			io.WriteString(w, content)
		case r.URL.Path == "/api/attachments/attachment/6/download":
			w.Header().Set(HeaderChecksum, hex.EncodeToString(wrong[:]))
			io.WriteString(w, content)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"code":404,"error":{"code":404,"message":"no such attachment"}}`)
		}
	}, Options{})
	ctx := context.Background()
	a, err := c.UploadAttachment(ctx, AttachmentUpload{Path: "/etc/nginx.conf", Mode: "600", Owner: &apitype.RunAs{UID: 33, GID: 34}},
		"nginx.conf", strings.NewReader(content))
	if err != nil || a.ID != "5" {
		t.Fatalf("UploadAttachment() = %+v, %v", a, err)
	}

	var buf strings.Builder
	d, err := c.DownloadAttachment(ctx, "5", &buf)
	if err != nil || buf.String() != content || d.Size != int64(len(content)) || d.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("DownloadAttachment(5) = %+v, %v, %q", d, err, buf.String())
	}
	buf.Reset()
	if _, err := c.DownloadAttachment(ctx, "6", &buf); !errors.Is(err, ErrChecksum) {
		t.Errorf("DownloadAttachment(6) with a wrong X-OTTO-SHA256 = %v, want ErrChecksum", err)
	}
	var ae *Error
	if _, err := c.DownloadAttachment(ctx, "7", &buf); !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "no such attachment" {
		t.Errorf("DownloadAttachment(7) = %v, want the server's 404", err)
	}
}

func TestContextCancel(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := c.Do(ctx, http.MethodGet, "/api/hosts", nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do() canceled = %v, want context.Canceled", err)
	}
}

func TestUserAgentAndHeader(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "ottoctl/test" {
			t.Errorf("User-Agent = %q", got)
		}
		if got := r.Header.Get("X-Extra"); got != "2" {
			t.Errorf("X-Extra = %q", got)
		}
		fmt.Fprint(w, `{"code":200,"error":{}}`)
	}, Options{UserAgent: "ottoctl/test", Header: http.Header{"X-Extra": {"2"}}})
	if err := c.Do(context.Background(), http.MethodGet, "/api/state", nil, nil); err != nil {
		t.Fatal(err)
	}
}
