package domain

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Masked returns a copy of env whose secret values are empty, the form in
// which an environment leaves the server. It is never nil.
func (env Environment) Masked() Environment {
	out := make(Environment, len(env))
	for i, v := range env {
		if v.Secret {
			v.Value = ""
		}
		out[i] = v
	}
	return out
}

// keepSecrets fills the empty secret values of an edited environment from
// the stored one: the API never sends secret values out, so an edit that
// sends one back empty means "unchanged". Only a key that was secret
// before keeps its value.
func keepSecrets(old, edited Environment) Environment {
	out := make(Environment, len(edited))
	copy(out, edited)
	for i, v := range out {
		if !v.Secret || v.Value != "" {
			continue
		}
		for _, o := range old {
			if o.Key == v.Key && o.Secret {
				out[i].Value = o.Value
				break
			}
		}
	}
	return out
}

// Map returns env as a map; later keys override earlier ones.
func (env Environment) Map() map[string]string {
	m := make(map[string]string, len(env))
	for _, v := range env {
		m[v.Key] = v.Value
	}
	return m
}

// LogValue shows the keys of an environment, never its values: a value
// may be a secret, and the others are not worth the risk.
func (env Environment) LogValue() slog.Value {
	keys := make([]string, len(env))
	for i, v := range env {
		keys[i] = v.Key
	}
	return slog.AnyValue(keys)
}

// Implicit variables set for every run; nothing overrides them.
const (
	EnvServerURL     = "OTTO_SERVER_URL"
	EnvServerVersion = "OTTO_SERVER_VERSION"
	EnvHostAddress   = "OTTO_HOST_ADDRESS"
	EnvHostPort      = "OTTO_HOST_PORT"
	EnvHostPSK       = "OTTO_HOST_PSK"
)

// RunEnvironment is the environment a script runs with on a host: the
// global variables, then the script's, then those of the host's groups (in
// the host's order), then the host's, each overriding the last; then the
// implicit OTTO_* variables, which override everything. OTTO_HOST_PSK is
// there only when the options allow it, and is marked secret. The result
// has one entry per key, in first-set order, keeping Secret when any layer
// marked the key secret.
func RunEnvironment(o Options, sc Script, groups []Group, h Host, serverVersion string) Environment {
	var out Environment
	index := map[string]int{}
	set := func(v Variable) {
		if i, ok := index[v.Key]; ok {
			v.Secret = v.Secret || out[i].Secret
			out[i] = v
			return
		}
		index[v.Key] = len(out)
		out = append(out, v)
	}
	layers := []Environment{o.General.GlobalEnvironment, sc.Environment}
	for _, gid := range h.GroupIDs {
		for _, g := range groups {
			if g.ID == gid {
				layers = append(layers, g.Environment)
			}
		}
	}
	layers = append(layers, h.Environment)
	for _, l := range layers {
		for _, v := range l {
			set(v)
		}
	}
	port := h.Port
	if port == 0 {
		port = DefaultClientPort
	}
	set(Variable{Key: EnvServerURL, Value: o.General.ServerURL})
	set(Variable{Key: EnvServerVersion, Value: serverVersion})
	set(Variable{Key: EnvHostAddress, Value: h.Address})
	set(Variable{Key: EnvHostPort, Value: strconv.FormatUint(uint64(port), 10)})
	if o.Security.IncludePSKEnv {
		set(Variable{Key: EnvHostPSK, Value: h.PSK, Secret: true})
	}
	return out
}

// LogValue is what a logged host shows: never its PSKs or environment values.
func (h Host) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", h.ID),
		slog.String("name", h.Name),
		slog.String("address", h.Address),
		slog.Uint64("port", uint64(h.Port)),
	)
}

// LogValue is what a logged user shows: never a hash.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("username", u.Username), slog.String("role", u.Role))
}

// LogValue is what a logged variable shows: its key, and its value only
// when it is not secret.
func (v Variable) LogValue() slog.Value {
	if v.Secret {
		return slog.GroupValue(slog.String("key", v.Key), slog.String("value", "REDACTED"))
	}
	return slog.GroupValue(slog.String("key", v.Key), slog.String("value", v.Value))
}

// LogValue is what logged options show: the register key redacted.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("register_enabled", o.Register.Enabled),
		slog.String("default_group", o.Register.DefaultGroupID),
		slog.Int("max_parallel", o.Network.MaxParallel),
	)
}

// String and GoString keep a host's keys out of fmt output too (%v, %+v,
// %#v, and slog's text handler for slices of hosts).
func (h Host) String() string {
	return fmt.Sprintf("host %s %q (%s, groups %v, enabled %v)", h.ID, h.Name, hostPort(h.Address, h.Port), h.GroupIDs, h.Enabled)
}

// GoString is String, for %#v.
func (h Host) GoString() string { return h.String() }

// String shows a user without hashes.
func (u User) String() string {
	return fmt.Sprintf("user %s %q (%s, can log in %v)", u.ID, u.Username, u.Role, u.CanLogIn)
}

// GoString is String, for %#v.
func (u User) GoString() string { return u.String() }

// String shows a variable, its value only when it is not secret.
func (v Variable) String() string {
	if v.Secret {
		return v.Key + "=REDACTED"
	}
	return v.Key + "=" + v.Value
}

// GoString is String, for %#v.
func (v Variable) GoString() string { return v.String() }
