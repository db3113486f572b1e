package ctl

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otto-automation/otto/internal/version"
)

// Limits of the HTTP client.
const (
	// maxAnswer bounds a JSON answer read into memory. The largest
	// legitimate one is a run with both streams at the server's output
	// cap (1 MiB each by default, configurable) or a long list.
	maxAnswer = 256 << 20
	// headerTimeout bounds the wait for an answer's headers. A heartbeat
	// waits for the host (the server's Network.Timeout, 10 s by default),
	// so this is generous; streams only need their headers in time.
	headerTimeout = 5 * time.Minute
	// dialTimeout bounds connecting to the server.
	dialTimeout = 15 * time.Second
)

// Header names of the API's authentication.
const (
	headerUsername = "X-OTTO-USERNAME"
	headerAPIKey   = "X-OTTO-API-KEY"
	headerCSRF     = "X-OTTO-CSRF"
	headerChecksum = "X-OTTO-SHA256"
)

// client calls the server's REST API.
type client struct {
	base     *url.URL
	username string
	apiKey   string
	hc       *http.Client
	// cookies is the session of "ottoctl login", sent instead of the API
	// key headers, with X-OTTO-CSRF on changes.
	cookies []*http.Cookie
}

func newClient(s settings) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = headerTimeout
	if s.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the user asked, with --insecure
	}
	return &client{base: s.url, username: s.Username, apiKey: s.APIKey, hc: &http.Client{Transport: tr}}
}

// APIError is an answer of the server that says something went wrong: its
// HTTP status and the message of the envelope's error.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// unreachableError means the server could not be reached at all.
type unreachableError struct {
	url string
	err error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the otto server at %s: %v (is it running, and is --url or OTTO_URL right?)", e.url, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// request builds a request for an API path such as "/api/hosts"; the path
// must already be escaped.
func (c *client) request(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := c.base.JoinPath(path)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ottoctl/"+version.Version)
	req.Header.Set("Accept", "application/json")
	if len(c.cookies) > 0 {
		for _, ck := range c.cookies {
			req.AddCookie(ck)
		}
		req.Header.Set(headerCSRF, "1")
	} else if c.apiKey != "" {
		req.Header.Set(headerUsername, c.username)
		req.Header.Set(headerAPIKey, c.apiKey)
	}
	return req, nil
}

// send sends req and sorts transport failures: an interrupted context is
// returned as the context's error, a server that cannot be reached as an
// unreachableError.
func (c *client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err == nil {
		return resp, nil
	}
	if ctxErr := req.Context().Err(); ctxErr != nil {
		return nil, ctxErr
	}
	var ue *url.Error
	inner := err
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(inner, &certErr) || errors.As(inner, &unknownCA) || errors.As(inner, &hostErr) {
		return nil, fmt.Errorf("the server's TLS certificate is not trusted: %v (fix the certificate, or pass --insecure to skip the check)", inner)
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(inner, &oe) || errors.As(inner, &de) || errors.As(inner, &ne) ||
		errors.Is(inner, io.EOF) || errors.Is(inner, io.ErrUnexpectedEOF) {
		return nil, &unreachableError{url: c.base.String(), err: inner}
	}
	return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, inner)
}

// envelope is every JSON answer of the API.
type envelope struct {
	Code  int             `json:"code"`
	Error *envelopeError  `json:"error"`
	Data  json.RawMessage `json:"data"`
}

type envelopeError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// call sends a JSON request (in may be nil) and decodes the answer's data
// into out (which may be nil).
func (c *client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(req, resp, out)
}

func (c *client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.call(ctx, http.MethodGet, path, query, nil, out)
}

// decodeAnswer reads an envelope: an APIError for a failure, else the
// data into out.
func decodeAnswer(req *http.Request, resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("reading the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	if len(b) > maxAnswer {
		return fmt.Errorf("the answer to %s %s is larger than %d MiB", req.Method, req.URL.Path, maxAnswer>>20)
	}
	var env envelope
	jsonErr := json.Unmarshal(b, &env)
	if resp.StatusCode >= 300 {
		e := &APIError{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode}
		switch {
		case jsonErr == nil && env.Error != nil && env.Error.Message != "":
			e.Message = env.Error.Message
		case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout:
			e.Message = fmt.Sprintf("the otto server is not available: %s %s answered %s", req.Method, req.URL.Path, resp.Status)
		default:
			e.Message = fmt.Sprintf("%s %s answered %s without otto's JSON error (is --url an otto server?)", req.Method, req.URL.Path, resp.Status)
		}
		return e
	}
	if jsonErr != nil || env.Error == nil {
		return fmt.Errorf("the answer to %s %s is not otto's JSON envelope (is --url an otto server?)", req.Method, req.URL.Path)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("decoding the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// open sends a GET whose answer is not an envelope (a download, a stream):
// the caller reads and closes the body of a 200 answer; any other status
// is turned into an error here.
func (c *client) open(ctx context.Context, path string, accept string) (*http.Response, error) {
	req, err := c.request(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		if err := decodeAnswer(req, resp, nil); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s %s answered %s", req.Method, req.URL.Path, resp.Status)
	}
	return resp, nil
}

// formField is one field of a multipart form.
type formField struct{ name, value string }

// upload sends a multipart form: the fields, then the file part "file"
// streamed from data, and decodes the answer's data into out.
func (c *client) upload(ctx context.Context, method, path string, fields []formField, fileName string, data io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f.name, f.value); err != nil {
					return err
				}
			}
			if data != nil {
				fw, err := mw.CreateFormFile("file", fileName)
				if err != nil {
					return err
				}
				if _, err := io.Copy(fw, data); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := c.request(ctx, method, path, nil, pr)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.send(req)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(req, resp, out)
}

// login starts a session with a password and keeps its cookie for the
// following calls. It reports whether the server wants the password
// changed first (its answer 1).
func (c *client) login(ctx context.Context, username, password string) (mustChange bool, err error) {
	b, err := json.Marshal(loginRequest{Username: username, Password: password})
	if err != nil {
		return false, err
	}
	req, err := c.request(ctx, http.MethodPost, "/api/login", nil, bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var partial int
	if err := decodeAnswer(req, resp, &partial); err != nil {
		return false, err
	}
	c.cookies = resp.Cookies()
	if len(c.cookies) == 0 {
		return false, errors.New("the server accepted the password but sent no session cookie")
	}
	return partial == 1, nil
}

// escape makes one path segment of an API path.
func escape(s string) string { return url.PathEscape(s) }

// idPath is an API path ending in an ID, like /api/hosts/host/3.
func idPath(prefix string, id int64, suffix ...string) string {
	p := fmt.Sprintf("%s/%d", prefix, id)
	if len(suffix) > 0 {
		p += "/" + strings.Join(suffix, "/")
	}
	return p
}
