package ctl

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// kind describes one sort of thing that has an ID and a name, and how to
// list them all.
type kind[T any] struct {
	noun string // "host"
	list string // the API path that lists them: "/api/hosts"
	item string // the API path of one, before its ID: "/api/hosts/host"
	cmd  string // the ottoctl command that lists them: "ottoctl hosts ls"
	id   func(T) apitype.ID
	name func(T) string
}

func hostKind() kind[apitype.Host] {
	return kind[apitype.Host]{noun: "host", list: "/api/hosts", item: "/api/hosts/host", cmd: "ottoctl hosts ls",
		id: func(h apitype.Host) apitype.ID { return h.ID }, name: func(h apitype.Host) string { return h.Name }}
}

func groupKind() kind[apitype.Group] {
	return kind[apitype.Group]{noun: "group", list: "/api/groups", item: "/api/groups/group", cmd: "ottoctl groups ls",
		id: func(g apitype.Group) apitype.ID { return g.ID }, name: func(g apitype.Group) string { return g.Name }}
}

func scriptKind() kind[apitype.Script] {
	return kind[apitype.Script]{noun: "script", list: "/api/scripts", item: "/api/scripts/script", cmd: "ottoctl scripts ls",
		id: func(s apitype.Script) apitype.ID { return s.ID }, name: func(s apitype.Script) string { return s.Name }}
}

func attachmentKind() kind[apitype.Attachment] {
	return kind[apitype.Attachment]{noun: "attachment", list: "/api/attachments", item: "/api/attachments/attachment", cmd: "ottoctl attachments ls",
		id: func(a apitype.Attachment) apitype.ID { return a.ID }, name: func(a apitype.Attachment) string { return a.Name }}
}

func scheduleKind() kind[apitype.Schedule] {
	return kind[apitype.Schedule]{noun: "schedule", list: "/api/schedules", item: "/api/schedules/schedule", cmd: "ottoctl schedules ls",
		id: func(s apitype.Schedule) apitype.ID { return s.ID }, name: func(s apitype.Schedule) string { return s.Name }}
}

func ruleKind() kind[apitype.RegisterRule] {
	return kind[apitype.RegisterRule]{noun: "rule", list: "/api/register/rules", item: "/api/register/rules/rule", cmd: "ottoctl rules ls",
		id: func(r apitype.RegisterRule) apitype.ID { return r.ID }, name: func(r apitype.RegisterRule) string { return r.Name }}
}

// resolver turns names or IDs into IDs, listing each kind at most once.
type resolver[T any] struct {
	k     kind[T]
	cl    *apiclient.Client
	items []T
	ok    bool
}

func newResolver[T any](cl *apiclient.Client, k kind[T]) *resolver[T] {
	return &resolver[T]{k: k, cl: cl}
}

func (r *resolver[T]) all(ctx context.Context) ([]T, error) {
	if !r.ok {
		if err := r.cl.Do(ctx, http.MethodGet, r.k.list, nil, &r.items); err != nil {
			return nil, err
		}
		r.ok = true
	}
	return r.items, nil
}

// names maps every ID to its name.
func (r *resolver[T]) names(ctx context.Context) (map[apitype.ID]string, error) {
	items, err := r.all(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[apitype.ID]string, len(items))
	for _, it := range items {
		m[r.k.id(it)] = r.k.name(it)
	}
	return m, nil
}

// id resolves one name or ID. IDs are opaque strings: decimal numbers
// for what this server created, 12-character nanoids for what came from
// otto 0.x. An argument equal to an ID is that ID; anything else is a
// name, matched exactly, else case-insensitively when that finds just one.
func (r *resolver[T]) id(ctx context.Context, arg string) (apitype.ID, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return "", usagef("an empty %s name", r.k.noun)
	}
	items, err := r.all(ctx)
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if string(r.k.id(it)) == arg {
			return r.k.id(it), nil
		}
	}
	var fold []T
	for _, it := range items {
		if r.k.name(it) == arg {
			return r.k.id(it), nil
		}
		if strings.EqualFold(r.k.name(it), arg) {
			fold = append(fold, it)
		}
	}
	switch len(fold) {
	case 1:
		return r.k.id(fold[0]), nil
	case 0:
		return "", &notFoundError{msg: fmt.Sprintf("no %s with the name or ID %q (see %q)", r.k.noun, arg, r.k.cmd)}
	}
	var cands []string
	for _, it := range fold {
		cands = append(cands, fmt.Sprintf("%s (ID %s)", r.k.name(it), r.k.id(it)))
	}
	return "", &notFoundError{msg: fmt.Sprintf("%q matches several %ss: %s; give the exact name or the ID", arg, r.k.noun, strings.Join(cands, ", "))}
}

// ids resolves several names or IDs, keeping their order and dropping
// repeats.
func (r *resolver[T]) ids(ctx context.Context, args []string) ([]apitype.ID, error) {
	out := []apitype.ID{}
	seen := map[apitype.ID]bool{}
	for _, a := range args {
		id, err := r.id(ctx, a)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// get fetches one by name or ID.
func (r *resolver[T]) get(ctx context.Context, arg string) (T, error) {
	var v T
	id, err := r.id(ctx, arg)
	if err != nil {
		return v, err
	}
	err = r.cl.Do(ctx, http.MethodGet, itemPath(r.k.item, id), nil, &v)
	return v, err
}

// notFoundError is a name that matches nothing (or too much).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
