package api

import (
	"strconv"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
	"github.com/otto-automation/otto/internal/wire"
)

// This file is the one place where the domain's types become the API's
// (apitype) and back. What an answer leaves out is decided here: only
// admins see host PSKs and the registration key; nobody sees the values of
// secret variables or pending PSKs. Lists are never nil, so JSON shows []
// rather than null.

// listOut converts each element of l with f; the result is never nil.
func listOut[D, A any](l []D, f func(D) A) []A {
	out := make([]A, len(l))
	for i, v := range l {
		out[i] = f(v)
	}
	return out
}

func idOut(id string) apitype.ID { return apitype.ID(id) }

func idsOut(ids []string) []apitype.ID { return listOut(ids, idOut) }

// idsIn converts the IDs of a request. A nil list stays nil: some edits
// tell "omitted" from "empty".
func idsIn(ids []apitype.ID) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// envOut is an environment as it leaves the server: secret values "".
func envOut(env domain.Environment) []apitype.Variable {
	return listOut(env, func(v domain.Variable) apitype.Variable {
		if v.Secret {
			v.Value = ""
		}
		return apitype.Variable{Key: v.Key, Value: v.Value, Secret: v.Secret}
	})
}

func envIn(env []apitype.Variable) domain.Environment {
	if env == nil {
		return nil
	}
	out := make(domain.Environment, len(env))
	for i, v := range env {
		out[i] = domain.Variable{Key: v.Key, Value: v.Value, Secret: v.Secret}
	}
	return out
}

func runAsOut(r domain.RunAs) apitype.RunAs {
	return apitype.RunAs{Inherit: r.Inherit, UID: r.UID, GID: r.GID}
}

func runAsIn(r apitype.RunAs) domain.RunAs {
	return domain.RunAs{Inherit: r.Inherit, UID: r.UID, GID: r.GID}
}

func hostOut(h domain.Host, admin bool) apitype.Host {
	out := apitype.Host{ID: idOut(h.ID), Name: h.Name, Address: h.Address, Port: h.Port,
		LastPSKRotate: h.LastPSKRotate, RotateOnContact: h.RotateOnContact, GroupIDs: idsOut(h.GroupIDs),
		Environment: envOut(h.Environment), Enabled: h.Enabled, Created: h.Created}
	if admin {
		out.PSK = h.PSK
	}
	return out
}

func hostsOut(hs []domain.Host, admin bool) []apitype.Host {
	return listOut(hs, func(h domain.Host) apitype.Host { return hostOut(h, admin) })
}

// hostIn is the host a create asks for.
func hostIn(r apitype.HostRequest) domain.Host {
	return domain.Host{Name: r.Name, Address: r.Address, Port: r.Port, PSK: r.PSK, GroupIDs: idsIn(r.GroupIDs),
		Environment: envIn(r.Environment), Enabled: r.Enabled == nil || *r.Enabled}
}

func hostEditIn(r apitype.HostRequest) domain.HostEdit {
	return domain.HostEdit{Name: r.Name, Address: r.Address, Port: r.Port, PSK: r.PSK, GroupIDs: idsIn(r.GroupIDs),
		Environment: envIn(r.Environment), Enabled: r.Enabled}
}

func statusOut(st domain.HostStatus) apitype.Heartbeat {
	props := st.Properties
	if props == nil {
		props = map[string]string{}
	}
	return apitype.Heartbeat{HostID: idOut(st.HostID), Address: st.Address, IsReachable: st.IsReachable,
		LastAttempt: st.LastAttempt, LastReply: st.LastReply, Error: st.Error, Version: st.Version, Properties: props}
}

func hostScriptOut(hs domain.HostScript) apitype.HostScript {
	return apitype.HostScript{ScriptID: idOut(hs.ScriptID), ScriptName: hs.ScriptName, GroupID: idOut(hs.GroupID), GroupName: hs.GroupName}
}

func groupOut(g domain.Group) apitype.Group {
	return apitype.Group{ID: idOut(g.ID), Name: g.Name, ScriptIDs: idsOut(g.ScriptIDs), Environment: envOut(g.Environment)}
}

func groupsOut(gs []domain.Group) []apitype.Group { return listOut(gs, groupOut) }

func groupIn(r apitype.GroupRequest) domain.Group {
	return domain.Group{Name: r.Name, ScriptIDs: idsIn(r.ScriptIDs), Environment: envIn(r.Environment)}
}

func scriptOut(s domain.Script) apitype.Script {
	return apitype.Script{ID: idOut(s.ID), Name: s.Name, Enabled: s.Enabled, Executable: s.Executable, Script: s.Script,
		Environment: envOut(s.Environment), RunAs: runAsOut(s.RunAs), WorkingDirectory: s.WorkingDirectory,
		AfterExecution: s.AfterExecution, AttachmentIDs: idsOut(s.AttachmentIDs)}
}

func scriptsOut(ss []domain.Script) []apitype.Script { return listOut(ss, scriptOut) }

func scriptIn(r apitype.ScriptRequest) domain.Script {
	return domain.Script{Name: r.Name, Executable: r.Executable, Script: r.Script, Environment: envIn(r.Environment),
		RunAs: runAsIn(r.RunAs), WorkingDirectory: r.WorkingDirectory, AfterExecution: r.AfterExecution,
		AttachmentIDs: idsIn(r.AttachmentIDs), Enabled: r.Enabled == nil || *r.Enabled}
}

// modeOut writes permission bits as 0.x and protocol 2 do: the decimal
// number whose digits are the octal mode (0o644 is 644).
func modeOut(m uint32) uint32 {
	n, _ := strconv.ParseUint(strconv.FormatUint(uint64(m), 8), 10, 32) // at most 4 digits: never fails
	return uint32(n)
}

// modeIn reads a mode written as modeOut writes it: 644 is 0o644.
func modeIn(n uint32) (uint32, error) {
	m, err := strconv.ParseUint(strconv.FormatUint(uint64(n), 10), 8, 32)
	if err != nil || m > 0o7777 {
		return 0, domain.Invalidf("Mode %d is not a permission mode: write its octal digits, such as 644 or 755", n)
	}
	return uint32(m), nil
}

func attachmentOut(a domain.Attachment) apitype.Attachment {
	return apitype.Attachment{ID: idOut(a.ID), Path: a.Path, Name: a.Name, MimeType: a.MimeType, Owner: runAsOut(a.Owner),
		Created: a.Created, Modified: a.Modified, Mode: modeOut(a.Mode), Size: a.Size, Checksum: a.Checksum}
}

func attachmentsOut(l []domain.Attachment) []apitype.Attachment { return listOut(l, attachmentOut) }

// attachmentEditIn is a JSON metadata edit.
func attachmentEditIn(r apitype.AttachmentRequest) (domain.AttachmentEdit, error) {
	e := domain.AttachmentEdit{Name: r.Name, Path: r.Path}
	if r.Owner != nil {
		o := runAsIn(*r.Owner)
		e.Owner = &o
	}
	if r.Mode != nil {
		m, err := modeIn(*r.Mode)
		if err != nil {
			return e, err
		}
		e.Mode = &m
	}
	return e, nil
}

func scopeOut(s domain.Scope) apitype.Scope {
	return apitype.Scope{HostIDs: idsOut(s.HostIDs), GroupIDs: idsOut(s.GroupIDs)}
}

func scopeIn(s apitype.Scope) domain.Scope {
	return domain.Scope{HostIDs: idsIn(s.HostIDs), GroupIDs: idsIn(s.GroupIDs)}
}

func scheduleOut(s domain.Schedule) apitype.Schedule {
	return apitype.Schedule{ID: idOut(s.ID), Name: s.Name, ScriptID: idOut(s.ScriptID), Scope: scopeOut(s.Scope),
		Pattern: s.Pattern, Enabled: s.Enabled, LastRunTime: s.LastRun}
}

func schedulesOut(l []domain.Schedule) []apitype.Schedule { return listOut(l, scheduleOut) }

func scheduleIn(r apitype.ScheduleRequest) domain.Schedule {
	return domain.Schedule{Name: r.Name, ScriptID: string(r.ScriptID), Scope: scopeIn(r.Scope), Pattern: r.Pattern,
		Enabled: r.Enabled == nil || *r.Enabled}
}

func scheduleEditIn(r apitype.ScheduleRequest) domain.ScheduleEdit {
	return domain.ScheduleEdit{Name: r.Name, ScriptID: string(r.ScriptID), Scope: scopeIn(r.Scope), Pattern: r.Pattern,
		Enabled: r.Enabled}
}

func ruleOut(r domain.RegisterRule) apitype.RegisterRule {
	return apitype.RegisterRule{ID: idOut(r.ID), Name: r.Name, GroupID: idOut(r.GroupID), Order: r.Order,
		Clauses: listOut(r.Clauses, func(c domain.RegisterClause) apitype.RegisterClause {
			return apitype.RegisterClause{Property: c.Property, Pattern: c.Pattern}
		})}
}

func rulesOut(l []domain.RegisterRule) []apitype.RegisterRule { return listOut(l, ruleOut) }

func ruleIn(r apitype.RegisterRule) domain.RegisterRule {
	out := domain.RegisterRule{Name: r.Name, GroupID: string(r.GroupID), Order: r.Order}
	for _, c := range r.Clauses {
		out.Clauses = append(out.Clauses, domain.RegisterClause{Property: c.Property, Pattern: c.Pattern})
	}
	return out
}

func userOut(u domain.User) apitype.User {
	return apitype.User{ID: idOut(u.ID), Username: u.Username, Email: u.Email, Role: u.Role, CanLogIn: u.CanLogIn,
		MustChangePassword: u.MustChangePassword, Created: u.Created, LastLogin: u.LastLogin}
}

func usersOut(l []domain.User) []apitype.User { return listOut(l, userOut) }

// eventOut carries the type twice: Event is 0.x's name, Type this
// release's first one.
func eventOut(e domain.Event) apitype.Event {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	return apitype.Event{ID: idOut(e.ID), Event: e.Type, Type: e.Type, Time: e.Time, User: e.User, Details: details}
}

func eventsOut(l []domain.Event) []apitype.Event { return listOut(l, eventOut) }

func runOut(r domain.Run) apitype.Run {
	return apitype.Run{ID: idOut(r.ID), BatchID: r.BatchID, ScriptID: idOut(r.ScriptID), ScriptName: r.ScriptName,
		HostID: idOut(r.HostID), HostName: r.HostName, StartedBy: r.StartedBy, ScheduleID: idOut(r.ScheduleID),
		State: r.State, Started: r.Started, Finished: r.Finished, Duration: r.Duration, ExitCode: r.ExitCode,
		Success: r.Success, Error: r.Error, Stdout: r.Stdout, Stderr: r.Stderr, Truncated: r.Truncated}
}

func runsOut(l []domain.Run) []apitype.Run { return listOut(l, runOut) }

// bareRunOut is a run without its output, as lists and stream events send
// it.
func bareRunOut(r domain.Run) apitype.Run {
	r.Stdout, r.Stderr = "", ""
	return runOut(r)
}

func searchOut(l []domain.SearchResult) []apitype.SearchResult {
	return listOut(l, func(r domain.SearchResult) apitype.SearchResult {
		return apitype.SearchResult{Type: r.Type, ID: idOut(r.ID), Name: r.Name}
	})
}

func sweepOut(r fleet.SweepResult) apitype.SweepResult {
	return apitype.SweepResult{Hosts: r.Hosts, Reachable: r.Reachable, Rotated: r.Rotated, Duration: r.Duration}
}

func scriptResultOut(r wire.ScriptResult) apitype.ScriptResult {
	return apitype.ScriptResult{Success: r.Success, ExecError: r.ExecError, Code: r.Code, Stdout: r.Stdout,
		Stderr: r.Stderr, Elapsed: r.Elapsed}
}

func runScriptResultOut(r fleet.RunScriptResult) apitype.RunScriptResult {
	env := r.Environment
	if env == nil {
		env = map[string]string{}
	}
	return apitype.RunScriptResult{ScriptID: idOut(r.ScriptID), Duration: r.Duration, Environment: env,
		Result: scriptResultOut(r.Result), RunError: r.RunError, RunID: idOut(r.RunID)}
}

func optionsOut(o domain.Options, admin bool) apitype.Options {
	out := apitype.Options{
		General: apitype.GeneralOptions{ServerURL: o.General.ServerURL, GlobalEnvironment: envOut(o.General.GlobalEnvironment)},
		Authentication: apitype.AuthenticationOptions{MaxAgeMinutes: o.Authentication.MaxAgeMinutes,
			SecureOnly: o.Authentication.SecureOnly},
		Network: apitype.NetworkOptions{ForceIPVersion: o.Network.ForceIPVersion, Timeout: o.Network.Timeout,
			HeartbeatFrequency: o.Network.HeartbeatFrequency, MaxParallel: o.Network.MaxParallel},
		Register: apitype.RegisterOptions{Enabled: o.Register.Enabled, DefaultGroupID: idOut(o.Register.DefaultGroupID),
			RunScriptsOnRegister: o.Register.RunScriptsOnRegister},
		Security: apitype.SecurityOptions{IncludePSKEnv: o.Security.IncludePSKEnv,
			RotatePSK: apitype.RotatePSKOptions{Enabled: o.Security.RotatePSK.Enabled, FrequencyDays: o.Security.RotatePSK.FrequencyDays}},
		Runs: apitype.RunOptions{OutputMaxBytes: o.Runs.OutputMaxBytes, HistoryMax: o.Runs.HistoryMax, HistoryDays: o.Runs.HistoryDays},
	}
	if admin {
		out.Register.Key = o.Register.Key
	}
	return out
}

func optionsIn(o apitype.Options) domain.Options {
	return domain.Options{
		General: domain.GeneralOptions{ServerURL: o.General.ServerURL, GlobalEnvironment: envIn(o.General.GlobalEnvironment)},
		Authentication: domain.AuthenticationOptions{MaxAgeMinutes: o.Authentication.MaxAgeMinutes,
			SecureOnly: o.Authentication.SecureOnly},
		Network: domain.NetworkOptions{ForceIPVersion: o.Network.ForceIPVersion, Timeout: o.Network.Timeout,
			HeartbeatFrequency: o.Network.HeartbeatFrequency, MaxParallel: o.Network.MaxParallel},
		Register: domain.RegisterOptions{Enabled: o.Register.Enabled, Key: o.Register.Key,
			DefaultGroupID: string(o.Register.DefaultGroupID), RunScriptsOnRegister: o.Register.RunScriptsOnRegister},
		Security: domain.SecurityOptions{IncludePSKEnv: o.Security.IncludePSKEnv,
			RotatePSK: domain.RotatePSKOptions{Enabled: o.Security.RotatePSK.Enabled, FrequencyDays: o.Security.RotatePSK.FrequencyDays}},
		Runs: domain.RunOptions{OutputMaxBytes: o.Runs.OutputMaxBytes, HistoryMax: o.Runs.HistoryMax, HistoryDays: o.Runs.HistoryDays},
	}
}
