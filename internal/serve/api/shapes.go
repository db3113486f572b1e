package api

import (
	"encoding/json"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// The answers' shapes are the domain's types with secrets taken out. What
// is taken out depends on the caller: only admins see host PSKs and the
// registration key; nobody sees secret variable values or pending PSKs.

func hostOut(h domain.Host, admin bool) domain.Host {
	if !admin {
		h.PSK = ""
	}
	h.PendingPSK, h.PendingSince = "", nil
	h.Environment = h.Environment.Masked()
	h.GroupIDs = list(h.GroupIDs)
	return h
}

func hostsOut(hs []domain.Host, admin bool) []domain.Host {
	for i := range hs {
		hs[i] = hostOut(hs[i], admin)
	}
	return list(hs)
}

func groupsOut(gs []domain.Group) []domain.Group {
	for i := range gs {
		gs[i] = groupOut(gs[i])
	}
	return list(gs)
}

func groupOut(g domain.Group) domain.Group {
	g.Environment = g.Environment.Masked()
	g.ScriptIDs = list(g.ScriptIDs)
	return g
}

func scriptOut(s domain.Script) domain.Script {
	s.Environment = s.Environment.Masked()
	s.AttachmentIDs = list(s.AttachmentIDs)
	return s
}

func scriptsOut(ss []domain.Script) []domain.Script {
	for i := range ss {
		ss[i] = scriptOut(ss[i])
	}
	return list(ss)
}

func optionsOut(o domain.Options, admin bool) domain.Options {
	if !admin {
		o.Register.Key = ""
	}
	o.General.GlobalEnvironment = o.General.GlobalEnvironment.Masked()
	return o
}

// ignored is a request field that otto 0.x (or an answer of ours) carries
// and that a change does not use: any JSON value is accepted, so clients
// may send back what they read.
type ignored = json.RawMessage

func scheduleOut(s domain.Schedule) domain.Schedule {
	s.Scope.HostIDs, s.Scope.GroupIDs = list(s.Scope.HostIDs), list(s.Scope.GroupIDs)
	return s
}

func schedulesOut(l []domain.Schedule) []domain.Schedule {
	for i := range l {
		l[i] = scheduleOut(l[i])
	}
	return list(l)
}

// out applies f to v when err is nil, for the (value, error) returns of
// the domain.
func out[T any](v T, err error, f func(T) T) (any, error) {
	if err != nil {
		return nil, err
	}
	return f(v), nil
}
