package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/otto-automation/otto/internal/apitype"
)

// Typed helpers for the common routes of docs/api.md. A route without one
// is called with Do and apitype values.

// ItemPath is the API path of one record: prefix, the escaped ID, then
// the suffix elements, like ItemPath("/api/hosts/host", "3", "scripts").
func ItemPath(prefix, id string, suffix ...string) string {
	p := prefix + "/" + url.PathEscape(id)
	if len(suffix) > 0 {
		p += "/" + strings.Join(suffix, "/")
	}
	return p
}

func call[T any](ctx context.Context, c *Client, method, path string, body any) (T, error) {
	var v T
	err := c.Do(ctx, method, path, body, &v)
	return v, err
}

func get[T any](ctx context.Context, c *Client, path string) (T, error) {
	return call[T](ctx, c, http.MethodGet, path, nil)
}

// list is get for a list: never nil on success.
func list[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	l, err := get[[]T](ctx, c, path)
	if err == nil && l == nil {
		l = []T{}
	}
	return l, err
}

// Login starts a web session with a password and keeps its cookie for
// the following calls, instead of the API key. It reports whether the
// server wants the password changed first.
func (c *Client) Login(ctx context.Context, username, password string) (mustChange bool, err error) {
	var partial int
	resp, err := c.do(ctx, http.MethodPost, "/api/login", apitype.LoginRequest{Username: username, Password: password}, &partial)
	if err != nil {
		return false, err
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		return false, errors.New("the server accepted the password but sent no session cookie")
	}
	c.setCookies(cookies)
	return partial == 1, nil
}

// Logout ends the web session of Login and forgets its cookie.
func (c *Client) Logout(ctx context.Context) error {
	err := c.Do(ctx, http.MethodPost, "/api/logout", nil, nil)
	c.setCookies(nil)
	return err
}

// ResetPassword changes the password of the session's user.
func (c *Client) ResetPassword(ctx context.Context, oldPassword, newPassword string) error {
	return c.Do(ctx, http.MethodPost, "/api/users/reset_password",
		apitype.ResetPasswordRequest{OldPassword: oldPassword, NewPassword: newPassword}, nil)
}

// State is GET /api/state.
func (c *Client) State(ctx context.Context) (apitype.State, error) {
	return get[apitype.State](ctx, c, "/api/state")
}

// Hosts lists the hosts.
func (c *Client) Hosts(ctx context.Context) ([]apitype.Host, error) {
	return list[apitype.Host](ctx, c, "/api/hosts")
}

// Host gets one host.
func (c *Client) Host(ctx context.Context, id string) (apitype.Host, error) {
	return get[apitype.Host](ctx, c, ItemPath("/api/hosts/host", id))
}

// CreateHost adds a host and returns it.
func (c *Client) CreateHost(ctx context.Context, h apitype.HostRequest) (apitype.Host, error) {
	return call[apitype.Host](ctx, c, http.MethodPut, "/api/hosts/host", h)
}

// EditHost changes host id and returns it.
func (c *Client) EditHost(ctx context.Context, id string, h apitype.HostRequest) (apitype.Host, error) {
	return call[apitype.Host](ctx, c, http.MethodPost, ItemPath("/api/hosts/host", id), h)
}

// DeleteHost removes host id.
func (c *Client) DeleteHost(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/hosts/host", id), nil, nil)
}

// Heartbeats returns the last heartbeat of every host, by host ID.
func (c *Client) Heartbeats(ctx context.Context) (map[string]apitype.Heartbeat, error) {
	m, err := get[map[string]apitype.Heartbeat](ctx, c, "/api/heartbeat")
	if err != nil {
		return nil, err
	}
	for id, hb := range m {
		if hb.HostID == "" {
			hb.HostID = apitype.ID(id)
			m[id] = hb
		}
	}
	return m, nil
}

// HeartbeatAll contacts every enabled host now and says how it went.
func (c *Client) HeartbeatAll(ctx context.Context) (apitype.SweepResult, error) {
	return call[apitype.SweepResult](ctx, c, http.MethodPost, "/api/heartbeat", nil)
}

// Heartbeat contacts host id now and returns its state.
func (c *Client) Heartbeat(ctx context.Context, id string) (apitype.Heartbeat, error) {
	hb, err := call[apitype.Heartbeat](ctx, c, http.MethodPost, ItemPath("/api/hosts/host", id, "heartbeat"), nil)
	if err == nil && hb.HostID == "" {
		hb.HostID = apitype.ID(id)
	}
	return hb, err
}

// RotatePSK gives host id a new PSK now and returns it.
func (c *Client) RotatePSK(ctx context.Context, id string) (string, error) {
	raw, err := call[json.RawMessage](ctx, c, http.MethodPost, ItemPath("/api/hosts/host", id, "psk"), nil)
	if err != nil {
		return "", err
	}
	var psk string
	if err := json.Unmarshal(raw, &psk); err != nil {
		var obj struct{ PSK string } // an object: take its PSK field
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", fmt.Errorf("decoding the answer of the PSK rotation: %w", err)
		}
		psk = obj.PSK
	}
	return psk, nil
}

// Groups lists the groups.
func (c *Client) Groups(ctx context.Context) ([]apitype.Group, error) {
	return list[apitype.Group](ctx, c, "/api/groups")
}

// Membership maps each group ID to its member host IDs.
func (c *Client) Membership(ctx context.Context) (map[string][]apitype.ID, error) {
	return get[map[string][]apitype.ID](ctx, c, "/api/groups/membership")
}

// Group gets one group.
func (c *Client) Group(ctx context.Context, id string) (apitype.Group, error) {
	return get[apitype.Group](ctx, c, ItemPath("/api/groups/group", id))
}

// CreateGroup adds a group and returns it.
func (c *Client) CreateGroup(ctx context.Context, g apitype.GroupRequest) (apitype.Group, error) {
	return call[apitype.Group](ctx, c, http.MethodPut, "/api/groups/group", g)
}

// EditGroup changes group id and returns it.
func (c *Client) EditGroup(ctx context.Context, id string, g apitype.GroupRequest) (apitype.Group, error) {
	return call[apitype.Group](ctx, c, http.MethodPost, ItemPath("/api/groups/group", id), g)
}

// DeleteGroup removes group id.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/groups/group", id), nil, nil)
}

// GroupHosts lists the members of group id.
func (c *Client) GroupHosts(ctx context.Context, id string) ([]apitype.Host, error) {
	return list[apitype.Host](ctx, c, ItemPath("/api/groups/group", id, "hosts"))
}

// SetGroupHosts makes hosts the members of group id and returns them.
func (c *Client) SetGroupHosts(ctx context.Context, id string, hosts []apitype.ID) ([]apitype.Host, error) {
	if hosts == nil {
		hosts = []apitype.ID{}
	}
	return call[[]apitype.Host](ctx, c, http.MethodPost, ItemPath("/api/groups/group", id, "hosts"), apitype.GroupHostsRequest{Hosts: hosts})
}

// Scripts lists the scripts.
func (c *Client) Scripts(ctx context.Context) ([]apitype.Script, error) {
	return list[apitype.Script](ctx, c, "/api/scripts")
}

// Script gets one script.
func (c *Client) Script(ctx context.Context, id string) (apitype.Script, error) {
	return get[apitype.Script](ctx, c, ItemPath("/api/scripts/script", id))
}

// CreateScript adds a script and returns it.
func (c *Client) CreateScript(ctx context.Context, s apitype.ScriptRequest) (apitype.Script, error) {
	return call[apitype.Script](ctx, c, http.MethodPut, "/api/scripts/script", s)
}

// EditScript changes script id and returns it.
func (c *Client) EditScript(ctx context.Context, id string, s apitype.ScriptRequest) (apitype.Script, error) {
	return call[apitype.Script](ctx, c, http.MethodPost, ItemPath("/api/scripts/script", id), s)
}

// DeleteScript removes script id.
func (c *Client) DeleteScript(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/scripts/script", id), nil, nil)
}

// ScriptGroups lists the groups script id is in.
func (c *Client) ScriptGroups(ctx context.Context, id string) ([]apitype.Group, error) {
	return list[apitype.Group](ctx, c, ItemPath("/api/scripts/script", id, "groups"))
}

// SetScriptGroups puts script id in exactly groups.
func (c *Client) SetScriptGroups(ctx context.Context, id string, groups []apitype.ID) error {
	if groups == nil {
		groups = []apitype.ID{}
	}
	return c.Do(ctx, http.MethodPost, ItemPath("/api/scripts/script", id, "groups"), apitype.ScriptGroupsRequest{Groups: groups}, nil)
}

// Attachments lists the attachments.
func (c *Client) Attachments(ctx context.Context) ([]apitype.Attachment, error) {
	return list[apitype.Attachment](ctx, c, "/api/attachments")
}

// Attachment gets one attachment's metadata.
func (c *Client) Attachment(ctx context.Context, id string) (apitype.Attachment, error) {
	return get[apitype.Attachment](ctx, c, ItemPath("/api/attachments/attachment", id))
}

// EditAttachment changes the metadata of attachment id and returns it.
func (c *Client) EditAttachment(ctx context.Context, id string, a apitype.AttachmentRequest) (apitype.Attachment, error) {
	return call[apitype.Attachment](ctx, c, http.MethodPost, ItemPath("/api/attachments/attachment", id), a)
}

// DeleteAttachment removes attachment id.
func (c *Client) DeleteAttachment(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/attachments/attachment", id), nil, nil)
}

// Schedules lists the schedules.
func (c *Client) Schedules(ctx context.Context) ([]apitype.Schedule, error) {
	return list[apitype.Schedule](ctx, c, "/api/schedules")
}

// Schedule gets one schedule.
func (c *Client) Schedule(ctx context.Context, id string) (apitype.Schedule, error) {
	return get[apitype.Schedule](ctx, c, ItemPath("/api/schedules/schedule", id))
}

// CreateSchedule adds a schedule and returns it.
func (c *Client) CreateSchedule(ctx context.Context, s apitype.ScheduleRequest) (apitype.Schedule, error) {
	return call[apitype.Schedule](ctx, c, http.MethodPut, "/api/schedules/schedule", s)
}

// EditSchedule changes schedule id and returns it.
func (c *Client) EditSchedule(ctx context.Context, id string, s apitype.ScheduleRequest) (apitype.Schedule, error) {
	return call[apitype.Schedule](ctx, c, http.MethodPost, ItemPath("/api/schedules/schedule", id), s)
}

// DeleteSchedule removes schedule id.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/schedules/schedule", id), nil, nil)
}

// Rules lists the registration rules.
func (c *Client) Rules(ctx context.Context) ([]apitype.RegisterRule, error) {
	return list[apitype.RegisterRule](ctx, c, "/api/register/rules")
}

// Rule gets one registration rule.
func (c *Client) Rule(ctx context.Context, id string) (apitype.RegisterRule, error) {
	return get[apitype.RegisterRule](ctx, c, ItemPath("/api/register/rules/rule", id))
}

// CreateRule adds a registration rule and returns it.
func (c *Client) CreateRule(ctx context.Context, r apitype.RegisterRule) (apitype.RegisterRule, error) {
	return call[apitype.RegisterRule](ctx, c, http.MethodPut, "/api/register/rules/rule", r)
}

// EditRule changes registration rule id and returns it.
func (c *Client) EditRule(ctx context.Context, id string, r apitype.RegisterRule) (apitype.RegisterRule, error) {
	return call[apitype.RegisterRule](ctx, c, http.MethodPost, ItemPath("/api/register/rules/rule", id), r)
}

// DeleteRule removes registration rule id.
func (c *Client) DeleteRule(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/register/rules/rule", id), nil, nil)
}

// Users lists the users.
func (c *Client) Users(ctx context.Context) ([]apitype.User, error) {
	return list[apitype.User](ctx, c, "/api/users")
}

// User gets one user by username.
func (c *Client) User(ctx context.Context, username string) (apitype.User, error) {
	return get[apitype.User](ctx, c, ItemPath("/api/users/user", username))
}

// CreateUser adds a user and returns it.
func (c *Client) CreateUser(ctx context.Context, u apitype.UserRequest) (apitype.User, error) {
	return call[apitype.User](ctx, c, http.MethodPut, "/api/users/user", u)
}

// EditUser changes user username and returns it.
func (c *Client) EditUser(ctx context.Context, username string, u apitype.UserRequest) (apitype.User, error) {
	return call[apitype.User](ctx, c, http.MethodPost, ItemPath("/api/users/user", username), u)
}

// DeleteUser removes user username.
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	return c.Do(ctx, http.MethodDelete, ItemPath("/api/users/user", username), nil, nil)
}

// NewAPIKey issues a new API key for username (the old one stops
// working) and returns it; it is shown only this once.
func (c *Client) NewAPIKey(ctx context.Context, username string) (string, error) {
	return call[string](ctx, c, http.MethodPost, ItemPath("/api/users/user", username, "apikey"), nil)
}

// Options gets the server options.
func (c *Client) Options(ctx context.Context) (apitype.Options, error) {
	return get[apitype.Options](ctx, c, "/api/options")
}

// SetOptions replaces the server options and returns them as stored.
func (c *Client) SetOptions(ctx context.Context, o apitype.Options) (apitype.Options, error) {
	return call[apitype.Options](ctx, c, http.MethodPost, "/api/options", o)
}

// Events returns the newest n audit events (n <= 0: the server's
// default), newest first.
func (c *Client) Events(ctx context.Context, n int) ([]apitype.Event, error) {
	p := "/api/events"
	if n > 0 {
		p += "?c=" + strconv.Itoa(n)
	}
	return list[apitype.Event](ctx, c, p)
}

// StartRuns starts a script on hosts and groups and returns the batch.
func (c *Client) StartRuns(ctx context.Context, r apitype.RunsRequest) (apitype.Batch, error) {
	return call[apitype.Batch](ctx, c, http.MethodPost, "/api/runs", r)
}

// Runs lists runs, newest first, filtered by q (host, script, schedule,
// batch, state, before, limit as docs/api.md says; nil for all).
func (c *Client) Runs(ctx context.Context, q url.Values) ([]apitype.Run, error) {
	p := "/api/runs"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return list[apitype.Run](ctx, c, p)
}

// Run gets one run with its output.
func (c *Client) Run(ctx context.Context, id string) (apitype.Run, error) {
	return get[apitype.Run](ctx, c, ItemPath("/api/runs/run", id))
}

// CancelRun cancels run id.
func (c *Client) CancelRun(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, ItemPath("/api/runs/run", id, "cancel"), nil, nil)
}

// Batch gets the runs of a batch.
func (c *Client) Batch(ctx context.Context, batch string) (apitype.Batch, error) {
	return get[apitype.Batch](ctx, c, ItemPath("/api/runs/batch", batch))
}
