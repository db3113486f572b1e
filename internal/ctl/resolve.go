package ctl

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// kind describes one sort of thing that has an ID and a name, and how to
// list them all.
type kind[T any] struct {
	noun string // "host"
	list string // the API path that lists them: "/api/hosts"
	item string // the API path of one, before its ID: "/api/hosts/host"
	cmd  string // the ottoctl command that lists them: "ottoctl hosts ls"
	id   func(T) int64
	name func(T) string
}

func hostKind() kind[Host] {
	return kind[Host]{noun: "host", list: "/api/hosts", item: "/api/hosts/host", cmd: "ottoctl hosts ls",
		id: func(h Host) int64 { return h.ID }, name: func(h Host) string { return h.Name }}
}

func groupKind() kind[Group] {
	return kind[Group]{noun: "group", list: "/api/groups", item: "/api/groups/group", cmd: "ottoctl groups ls",
		id: func(g Group) int64 { return g.ID }, name: func(g Group) string { return g.Name }}
}

func scriptKind() kind[Script] {
	return kind[Script]{noun: "script", list: "/api/scripts", item: "/api/scripts/script", cmd: "ottoctl scripts ls",
		id: func(s Script) int64 { return s.ID }, name: func(s Script) string { return s.Name }}
}

func attachmentKind() kind[Attachment] {
	return kind[Attachment]{noun: "attachment", list: "/api/attachments", item: "/api/attachments/attachment", cmd: "ottoctl attachments ls",
		id: func(a Attachment) int64 { return a.ID }, name: func(a Attachment) string { return a.Name }}
}

func scheduleKind() kind[Schedule] {
	return kind[Schedule]{noun: "schedule", list: "/api/schedules", item: "/api/schedules/schedule", cmd: "ottoctl schedules ls",
		id: func(s Schedule) int64 { return s.ID }, name: func(s Schedule) string { return s.Name }}
}

func ruleKind() kind[Rule] {
	return kind[Rule]{noun: "rule", list: "/api/register/rules", item: "/api/register/rules/rule", cmd: "ottoctl rules ls",
		id: func(r Rule) int64 { return r.ID }, name: func(r Rule) string { return r.Name }}
}

// resolver turns names or IDs into IDs, listing each kind at most once.
type resolver[T any] struct {
	k     kind[T]
	cl    *client
	items []T
	ok    bool
}

func newResolver[T any](cl *client, k kind[T]) *resolver[T] {
	return &resolver[T]{k: k, cl: cl}
}

func (r *resolver[T]) all(ctx context.Context) ([]T, error) {
	if !r.ok {
		if err := r.cl.get(ctx, r.k.list, nil, &r.items); err != nil {
			return nil, err
		}
		r.ok = true
	}
	return r.items, nil
}

// names maps every ID to its name.
func (r *resolver[T]) names(ctx context.Context) (map[int64]string, error) {
	items, err := r.all(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(items))
	for _, it := range items {
		m[r.k.id(it)] = r.k.name(it)
	}
	return m, nil
}

// id resolves one name or ID. A positive number is an ID and is taken as
// it is (the server says if it does not exist); anything else is a name,
// matched exactly, else case-insensitively when that finds just one.
func (r *resolver[T]) id(ctx context.Context, arg string) (int64, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return 0, usagef("an empty %s name", r.k.noun)
	}
	if n, err := strconv.ParseInt(arg, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	items, err := r.all(ctx)
	if err != nil {
		return 0, err
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
		return 0, &notFoundError{msg: fmt.Sprintf("no %s named %q (see %q)", r.k.noun, arg, r.k.cmd)}
	}
	var cands []string
	for _, it := range fold {
		cands = append(cands, fmt.Sprintf("%s (ID %d)", r.k.name(it), r.k.id(it)))
	}
	return 0, &notFoundError{msg: fmt.Sprintf("%q matches several %ss: %s; give the exact name or the ID", arg, r.k.noun, strings.Join(cands, ", "))}
}

// ids resolves several names or IDs, keeping their order and dropping
// repeats.
func (r *resolver[T]) ids(ctx context.Context, args []string) ([]int64, error) {
	out := []int64{}
	seen := map[int64]bool{}
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
	err = r.cl.get(ctx, idPath(r.k.item, id), nil, &v)
	return v, err
}

// notFoundError is a name that matches nothing (or too much).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
