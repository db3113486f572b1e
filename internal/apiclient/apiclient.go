// Package apiclient calls otto's REST API: JSON requests and answers in the
// {"code", "error", "data"} envelope, server-sent event streams, and the
// multipart upload and raw download of attachments. The shapes it sends
// and reads are those of internal/apitype. ottoctl, the client's
// self-registration, the demo, the benchmarks and the end-to-end tests all
// talk to the server through it.
package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/version"
)

// Limits and timeouts of the default HTTP client.
const (
	// DefaultMaxAnswer bounds a JSON answer read into memory, in bytes.
	// The largest legitimate one is a run with both streams at the
	// server's output cap (1 MiB each by default, configurable) or a long
	// list.
	DefaultMaxAnswer = 256 << 20
	// headerTimeout bounds the wait for an answer's headers. A heartbeat
	// waits for the host (the server's Network.Timeout, 10 s by default),
	// so this is generous; streams only need their headers in time.
	headerTimeout = 5 * time.Minute
	// dialTimeout bounds connecting to the server.
	dialTimeout = 15 * time.Second
)

// Header names of the API.
const (
	HeaderUsername = "X-OTTO-USERNAME"
	HeaderAPIKey   = "X-OTTO-API-KEY"
	// HeaderCSRF goes with every change made with a session cookie.
	HeaderCSRF = "X-OTTO-CSRF"
	// HeaderChecksum carries an attachment download's hex SHA-256.
	HeaderChecksum = "X-OTTO-SHA256"
)

// Options say who calls and how.
type Options struct {
	// Username and APIKey are sent as X-OTTO-USERNAME and X-OTTO-API-KEY
	// (when APIKey is set and there is no session).
	Username, APIKey string
	// Cookies are a web session used instead of the API key; every
	// change then carries X-OTTO-CSRF: 1. Login sets them too.
	Cookies []*http.Cookie
	// HTTPClient sends the requests; nil means a client with the
	// timeouts above, configured by Insecure and CAFile.
	HTTPClient *http.Client
	// UserAgent is the User-Agent header; "" means "otto/VERSION".
	UserAgent string

	// Insecure skips the check of the server's TLS certificate (only for
	// the default HTTP client).
	Insecure bool
	// CAFile names a PEM file of CA certificates the server's certificate
	// must chain to, instead of the system's (only for the default HTTP
	// client).
	CAFile string
	// Header holds more headers sent with every request.
	Header http.Header
	// MaxAnswer bounds a JSON answer, in bytes; 0 means DefaultMaxAnswer.
	MaxAnswer int64
	// StreamIdle ends a stream that sends nothing, not even a keepalive
	// comment, for this long, with an error matching ErrStreamIdle; 0
	// means no limit. The server sends a keepalive every 15 s.
	StreamIdle time.Duration
}

// Client calls otto's REST API. Safe for concurrent use.
type Client struct {
	base       *url.URL
	hc         *http.Client
	username   string
	apiKey     string
	userAgent  string
	header     http.Header
	maxAnswer  int64
	streamIdle time.Duration

	mu      sync.Mutex
	cookies []*http.Cookie
}

// New returns a client of the server at base, like
// "http://127.0.0.1:8080" or "https://otto.example.com/prefix".
func New(base string, o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("apiclient: server URL %q: %v", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("apiclient: server URL %q must start with https:// or http://", base)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("apiclient: server URL %q has no host", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("apiclient: server URL %q may not have a query or fragment", base)
	}
	c := &Client{base: u, hc: o.HTTPClient, username: o.Username, apiKey: o.APIKey, userAgent: o.UserAgent,
		header: o.Header.Clone(), maxAnswer: o.MaxAnswer, streamIdle: o.StreamIdle, cookies: o.Cookies}
	if c.userAgent == "" {
		c.userAgent = "otto/" + version.Version
	}
	if c.maxAnswer <= 0 {
		c.maxAnswer = DefaultMaxAnswer
	}
	if c.hc == nil {
		if c.hc, err = defaultHTTPClient(o.Insecure, o.CAFile); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func defaultHTTPClient(insecure bool, caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = headerTimeout
	if insecure || caFile != "" {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: insecure} // the user asked for it
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("apiclient: reading the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("apiclient: CA file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

// URL is the server's base URL, as given to New without a trailing slash.
func (c *Client) URL() string { return c.base.String() }

// Cookies returns the session cookies (of Options or of Login), if any.
func (c *Client) Cookies() []*http.Cookie {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*http.Cookie(nil), c.cookies...)
}

func (c *Client) setCookies(cs []*http.Cookie) {
	c.mu.Lock()
	c.cookies = cs
	c.mu.Unlock()
}

// Error is a non-2xx answer of the server, or an envelope with an error.
type Error struct {
	Status  int    // the HTTP status code
	Code    int    // the envelope's error code (0 when the answer had none)
	Message string // the envelope's message, or a description of the answer
}

func (e *Error) Error() string { return e.Message }

// UnreachableError means no answer came: the server could not be
// resolved, connected to, or it closed the connection before answering.
type UnreachableError struct {
	URL string // the server's base URL
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the otto server at %s: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// CertificateError means the server's TLS certificate is not trusted.
type CertificateError struct{ Err error }

func (e *CertificateError) Error() string {
	return fmt.Sprintf("the server's TLS certificate is not trusted: %v", e.Err)
}

func (e *CertificateError) Unwrap() error { return e.Err }

// ErrStreamIdle ends a stream silent for longer than Options.StreamIdle.
var ErrStreamIdle = errors.New("the server sent nothing")

// newRequest builds a request for an API path such as "/api/hosts" or
// "/api/runs?limit=5"; the path must already be escaped.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	p, q, _ := strings.Cut(path, "?")
	u := c.base.JoinPath(p)
	u.RawQuery = q
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if cookies := c.Cookies(); len(cookies) > 0 {
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			req.Header.Set(HeaderCSRF, "1")
		}
	} else if c.apiKey != "" {
		req.Header.Set(HeaderUsername, c.username)
		req.Header.Set(HeaderAPIKey, c.apiKey)
	}
	return req, nil
}

// send sends req and sorts transport failures: an interrupted context is
// returned as the context's error, an untrusted certificate as a
// CertificateError, a server that cannot be reached as an
// UnreachableError.
func (c *Client) send(req *http.Request) (*http.Response, error) {
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
	var invalid x509.CertificateInvalidError
	if errors.As(inner, &certErr) || errors.As(inner, &unknownCA) || errors.As(inner, &hostErr) || errors.As(inner, &invalid) {
		return nil, &CertificateError{Err: inner}
	}
	var ne net.Error
	if errors.As(inner, &ne) || errors.Is(inner, io.EOF) || errors.Is(inner, io.ErrUnexpectedEOF) {
		return nil, &UnreachableError{URL: c.base.String(), Err: inner}
	}
	return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, inner)
}

// Do sends method path (e.g. "/api/hosts", which may carry a query) with
// body (nil, or a value marshalled as JSON) and decodes the envelope's
// data into out (nil: discard). An API error is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, method, path, body, out)
	return err
}

// do is Do that also returns the answer, whose body is closed.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("apiclient: encoding the body of %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return resp, c.decode(req, resp, out)
}

// envelope is apitype.Envelope with the error kept nil when absent, to
// tell otto's answers from others.
type envelope struct {
	Code  int             `json:"code"`
	Error *apitype.Error  `json:"error"`
	Data  json.RawMessage `json:"data"`
}

// decode reads an envelope: an *Error for a failure, else the data into
// out.
func (c *Client) decode(req *http.Request, resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("reading the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	if int64(len(b)) > c.maxAnswer {
		return fmt.Errorf("the answer to %s %s is larger than %s", req.Method, req.URL.Path, fmtBytes(c.maxAnswer))
	}
	var env envelope
	jsonErr := json.Unmarshal(b, &env)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		switch {
		case jsonErr == nil && env.Error != nil && env.Error.Message != "":
			e.Code, e.Message = env.Error.Code, env.Error.Message
		case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout:
			e.Message = fmt.Sprintf("the otto server is not available: %s %s answered %s", req.Method, req.URL.Path, resp.Status)
		default:
			e.Message = fmt.Sprintf("%s %s answered %s without otto's JSON error (is %s an otto server?)",
				req.Method, req.URL.Path, resp.Status, c.base)
		}
		return e
	}
	if jsonErr != nil || env.Error == nil {
		return fmt.Errorf("the answer to %s %s is not otto's JSON envelope (is %s an otto server?)", req.Method, req.URL.Path, c.base)
	}
	if env.Error.Message != "" || env.Error.Code != 0 {
		msg := env.Error.Message
		if msg == "" {
			msg = fmt.Sprintf("%s %s answered error code %d", req.Method, req.URL.Path, env.Error.Code)
		}
		return &Error{Status: resp.StatusCode, Code: env.Error.Code, Message: msg}
	}
	if out == nil || len(env.Data) == 0 || string(env.Data) == "null" {
		return nil // data is left out when it is a zero value
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("decoding the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// open sends a request whose answer is not an envelope (a download, a
// stream): the caller reads and closes the body of a 200 answer; any
// other answer is turned into an error here.
func (c *Client) open(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("apiclient: encoding the body of %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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
		if err := c.decode(req, resp, nil); err != nil {
			return nil, err
		}
		return nil, &Error{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s answered %s", req.Method, req.URL.Path, resp.Status)}
	}
	return resp, nil
}

// fmtBytes writes a limit in MiB when it is whole MiBs.
func fmtBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CloseIdleConnections closes the connections kept open for later
// requests, as http.Client's method does.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }
