package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// requestTimeout bounds one API request that is not a stream or a sweep.
const requestTimeout = 2 * time.Minute

// apiClient calls the REST API as one user, with an API key.
type apiClient struct {
	base string // http://127.0.0.1:PORT
	hc   *http.Client
	user string
	key  string
}

// newHTTPClient returns a client for loopback calls with room for many
// connections at once (rotations run 64 at a time).
func newHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only: never a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr}
}

// apiError is a non-2xx answer.
type apiError struct {
	Method, Path string
	Status       int
	Msg          string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Msg)
}

// statusOf returns the HTTP status of err, or 0 if it is not an answer.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// envelope is every JSON answer of the API.
type envelope struct {
	Code  int `json:"code"`
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Data json.RawMessage `json:"data"`
}

// login signs in as username with password and issues an API key, which
// the returned client uses from then on.
func login(ctx context.Context, base, username, password string) (*apiClient, error) {
	hc := newHTTPClient()
	body, _ := json.Marshal(map[string]string{"Username": username, "Password": password})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/login", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login as %s: status %d", username, resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "otto_session" {
			cookie = c
		}
	}
	if cookie == nil {
		return nil, errors.New("login: no session cookie")
	}
	req, err = http.NewRequestWithContext(ctx, "POST", base+"/api/users/user/"+username+"/apikey", nil)
	if err != nil {
		return nil, err
	}
	req.AddCookie(cookie)
	req.Header.Set("X-OTTO-CSRF", "1")
	resp, err = hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("issuing an API key: %w", err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("issuing an API key: status %d (%v)", resp.StatusCode, err)
	}
	var k struct{ APIKey string }
	if err := json.Unmarshal(env.Data, &k); err != nil || k.APIKey == "" {
		return nil, fmt.Errorf("issuing an API key: %s", env.Data)
	}
	return &apiClient{base: base, hc: hc, user: username, key: k.APIKey}, nil
}

// withBase returns a copy of a that calls the server at base (after a
// restart on another port); the key is in the database and still valid.
func (a *apiClient) withBase(base string) *apiClient {
	b := *a
	b.base = base
	b.hc = newHTTPClient()
	return &b
}

// newRequest builds an authenticated request with a JSON body.
func (a *apiClient) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-OTTO-USERNAME", a.user)
	req.Header.Set("X-OTTO-API-KEY", a.key)
	return req, nil
}

// call sends a request and decodes the envelope's data into out (if not
// nil). A non-2xx answer is an *apiError. It gives up after
// requestTimeout.
func (a *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	return a.callTimeout(ctx, requestTimeout, method, path, body, out)
}

// callTimeout is call with another timeout.
func (a *apiClient) callTimeout(ctx context.Context, timeout time.Duration, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := a.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return &apiError{Method: method, Path: path, Status: resp.StatusCode, Msg: "answer is not JSON: " + err.Error()}
	}
	if resp.StatusCode/100 != 2 {
		return &apiError{Method: method, Path: path, Status: resp.StatusCode, Msg: env.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return fmt.Errorf("%s %s: decoding data: %w", method, path, err)
		}
	}
	return nil
}

// The API's shapes, as far as the harness reads them (docs/api.md).
type (
	apiHost struct {
		ID            int64
		Name          string
		Address       string
		Port          uint32
		PSK           string
		LastPSKRotate time.Time
		GroupIDs      []int64
		Enabled       bool
	}
	apiGroup struct {
		ID   int64
		Name string
	}
	apiScript struct {
		ID         int64
		Name       string
		Executable string
		Script     string
	}
	apiStatus struct {
		HostID      int64
		IsReachable bool
		LastAttempt time.Time
		LastReply   time.Time
		Error       string
	}
	apiSweep struct {
		Hosts, Reachable, Rotated int
		Duration                  time.Duration
	}
	apiRun struct {
		ID        int64
		BatchID   string
		HostID    int64
		State     string
		Started   time.Time
		Finished  time.Time
		Duration  time.Duration
		ExitCode  int
		Success   bool
		Error     string
		Stdout    string
		Stderr    string
		Truncated bool
	}
	apiBatch struct {
		BatchID string
		Runs    []apiRun
	}
)

func (a *apiClient) createGroup(ctx context.Context, name string) (apiGroup, error) {
	var g apiGroup
	err := a.call(ctx, "PUT", "/api/groups/group", map[string]any{"Name": name}, &g)
	return g, err
}

func (a *apiClient) createScript(ctx context.Context, name, body string) (apiScript, error) {
	var s apiScript
	err := a.call(ctx, "PUT", "/api/scripts/script", map[string]any{"Name": name, "Executable": "/bin/sh", "Script": body}, &s)
	return s, err
}

func (a *apiClient) addHost(ctx context.Context, name string, port uint32, psk string, groupID int64) (apiHost, error) {
	var h apiHost
	err := a.call(ctx, "PUT", "/api/hosts/host", map[string]any{
		"Name": name, "Address": "127.0.0.1", "Port": port, "PSK": psk, "GroupIDs": []int64{groupID},
	}, &h)
	return h, err
}

// sweepTimeout bounds one sweep: a first one derives every key, about
// 0.1 s of CPU per host.
const sweepTimeout = 30 * time.Minute

func (a *apiClient) sweep(ctx context.Context) (apiSweep, error) {
	var r apiSweep
	err := a.callTimeout(ctx, sweepTimeout, "POST", "/api/heartbeat", nil, &r)
	return r, err
}

func (a *apiClient) statuses(ctx context.Context) (map[string]apiStatus, error) {
	var m map[string]apiStatus
	err := a.call(ctx, "GET", "/api/heartbeat", nil, &m)
	return m, err
}

func (a *apiClient) hosts(ctx context.Context) ([]apiHost, error) {
	var hs []apiHost
	err := a.call(ctx, "GET", "/api/hosts", nil, &hs)
	return hs, err
}

func (a *apiClient) rotate(ctx context.Context, hostID int64) (string, error) {
	var psk string
	err := a.call(ctx, "POST", fmt.Sprintf("/api/hosts/host/%d/psk", hostID), nil, &psk)
	return psk, err
}

func (a *apiClient) startRuns(ctx context.Context, scriptID int64, hostIDs, groupIDs []int64) (apiBatch, error) {
	var b apiBatch
	body := map[string]any{"ScriptID": scriptID}
	if hostIDs != nil {
		body["HostIDs"] = hostIDs
	}
	if groupIDs != nil {
		body["GroupIDs"] = groupIDs
	}
	err := a.call(ctx, "POST", "/api/runs", body, &b)
	return b, err
}

func (a *apiClient) run(ctx context.Context, id int64) (apiRun, error) {
	var r apiRun
	err := a.call(ctx, "GET", fmt.Sprintf("/api/runs/run/%d", id), nil, &r)
	return r, err
}

// setOptions lays opts over the server's options.
func (a *apiClient) setOptions(ctx context.Context, opts map[string]any) error {
	return a.call(ctx, "POST", "/api/options", opts, nil)
}

// batchResult is what following a batch's stream saw.
type batchResult struct {
	Done   map[int64]apiRun // the final run of each run, from "done"
	Output map[int64]int    // stdout bytes received per run, from "output"
	Ended  bool             // "end" came
}

// followBatch reads GET /api/runs/batch/{batch}/stream until "end" (or
// ctx ends), as ottoctl run does.
func (a *apiClient) followBatch(ctx context.Context, batch string) (batchResult, error) {
	res := batchResult{Done: make(map[int64]apiRun), Output: make(map[int64]int)}
	req, err := a.newRequest(ctx, "GET", "/api/runs/batch/"+batch+"/stream", nil)
	if err != nil {
		return res, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return res, fmt.Errorf("following batch %s: %w", batch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return res, &apiError{Method: "GET", Path: req.URL.Path, Status: resp.StatusCode}
	}
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	var event string
	var data []byte
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line (output): collect it whole. ReadSlice's
			// result is only valid until the next read: copy it first.
			line = append([]byte(nil), line...)
			rest, err2 := r.ReadBytes('\n')
			line = append(line, rest...)
			err = err2
		}
		if err != nil {
			if res.Ended {
				return res, nil
			}
			return res, fmt.Errorf("following batch %s: %w", batch, err)
		}
		s := strings.TrimRight(string(line), "\r\n")
		switch {
		case s == "":
			if err := res.event(event, data); err != nil {
				return res, err
			}
			if event == "end" {
				return res, nil
			}
			event, data = "", nil
		case strings.HasPrefix(s, ":"):
		case strings.HasPrefix(s, "event: "):
			event = s[len("event: "):]
		case strings.HasPrefix(s, "data: "):
			data = append(data, s[len("data: "):]...)
		}
	}
}

func (res *batchResult) event(event string, data []byte) error {
	switch event {
	case "done":
		var r apiRun
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("done event: %w", err)
		}
		res.Done[r.ID] = r
	case "output":
		var o struct {
			RunID  int64
			Stream string
			Data   string
		}
		if err := json.Unmarshal(data, &o); err != nil {
			return fmt.Errorf("output event: %w", err)
		}
		if o.Stream == "stdout" {
			res.Output[o.RunID] += len(o.Data)
		}
	case "end":
		res.Ended = true
	}
	return nil
}
