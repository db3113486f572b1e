package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/testbin"
)

// Timeouts of the API calls.
const (
	// requestTimeout bounds one API request that is not a stream or a
	// sweep.
	requestTimeout = 2 * time.Minute
	// sweepTimeout bounds one sweep: a first one derives every key, about
	// 0.1 s of CPU per host.
	sweepTimeout = 30 * time.Minute
)

// apiClient calls the REST API as one user, with an API key. Its
// embedded client gives up on a request after requestTimeout; long does
// not, for sweeps and streams, which set their own deadline.
type apiClient struct {
	*apiclient.Client
	long      *apiclient.Client
	user, key string // for the fuzzer's hand-made requests
}

// newTransport returns a transport for loopback calls with room for many
// connections at once (rotations run 64 at a time).
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil, // loopback only: never a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
}

// newHTTPClient returns a client over a new loopback transport.
func newHTTPClient() *http.Client { return &http.Client{Transport: newTransport()} }

// statusOf returns the HTTP status of err, or 0 if it is not an answer.
func statusOf(err error) int {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// login signs in as username with password and issues an API key, which
// the returned client uses from then on.
func login(ctx context.Context, base, username, password string) (*apiClient, error) {
	_, key, err := testbin.Login(ctx, base, username, password, apiclient.Options{HTTPClient: newHTTPClient()})
	if err != nil {
		return nil, err
	}
	return newAPIClient(base, username, key)
}

func newAPIClient(base, username, key string) (*apiClient, error) {
	tr := newTransport()
	o := apiclient.Options{Username: username, APIKey: key, HTTPClient: &http.Client{Transport: tr, Timeout: requestTimeout}}
	c, err := apiclient.New(base, o)
	if err != nil {
		return nil, err
	}
	o.HTTPClient = &http.Client{Transport: tr}
	long, err := apiclient.New(base, o)
	if err != nil {
		return nil, err
	}
	return &apiClient{Client: c, long: long, user: username, key: key}, nil
}

// withBase returns a client as a that calls the server at base (after a
// restart on another port); the key is in the database and still valid.
func (a *apiClient) withBase(base string) (*apiClient, error) {
	return newAPIClient(base, a.user, a.key)
}

func (a *apiClient) createGroup(ctx context.Context, name string) (apitype.Group, error) {
	return a.CreateGroup(ctx, apitype.GroupRequest{Name: name})
}

func (a *apiClient) createScript(ctx context.Context, name, body string) (apitype.Script, error) {
	return a.CreateScript(ctx, apitype.ScriptRequest{Name: name, Executable: "/bin/sh", Script: body})
}

func (a *apiClient) addHost(ctx context.Context, name string, port uint32, psk string, groupID apitype.ID) (apitype.Host, error) {
	return a.CreateHost(ctx, apitype.HostRequest{Name: name, Address: "127.0.0.1", Port: port, PSK: psk, GroupIDs: []apitype.ID{groupID}})
}

// sweep is POST /api/heartbeat, bounded by sweepTimeout.
func (a *apiClient) sweep(ctx context.Context) (apitype.SweepResult, error) {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	var r apitype.SweepResult
	err := a.long.Do(ctx, "POST", "/api/heartbeat", nil, &r)
	return r, err
}

// setOptions lays opts over the server's options: only the fields given
// change, which apitype.Options, complete, cannot say.
func (a *apiClient) setOptions(ctx context.Context, opts map[string]any) error {
	return a.Do(ctx, "POST", "/api/options", opts, nil)
}

// batchResult is what following a batch's stream saw.
type batchResult struct {
	Done   map[apitype.ID]apitype.Run // the final run of each run, from "done"
	Output map[apitype.ID]int         // stdout bytes received per run, from "output"
	Ended  bool                       // "end" came
}

// errEnded stops a stream at its "end" event.
var errEnded = errors.New("the stream ended")

// followBatch reads GET /api/runs/batch/{batch}/stream until "end" (or
// ctx ends), as ottoctl run does.
func (a *apiClient) followBatch(ctx context.Context, batch string) (batchResult, error) {
	res := batchResult{Done: make(map[apitype.ID]apitype.Run), Output: make(map[apitype.ID]int)}
	err := a.long.Stream(ctx, "GET", apiclient.ItemPath("/api/runs/batch", batch, "stream"), nil, res.event)
	switch {
	case errors.Is(err, errEnded):
		return res, nil
	case err != nil:
		return res, fmt.Errorf("following batch %s: %w", batch, err)
	case !res.Ended:
		return res, fmt.Errorf("following batch %s: the stream closed before its end event", batch)
	}
	return res, nil
}

func (res *batchResult) event(event string, data []byte) error {
	switch event {
	case apitype.EventDone:
		var r apitype.Run
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("done event: %w", err)
		}
		res.Done[r.ID] = r
	case apitype.EventOutput:
		var o apitype.Output
		if err := json.Unmarshal(data, &o); err != nil {
			return fmt.Errorf("output event: %w", err)
		}
		if o.Stream == "stdout" {
			res.Output[o.RunID] += len(o.Data)
		}
	case apitype.EventEnd:
		res.Ended = true
		return errEnded
	}
	return nil
}
