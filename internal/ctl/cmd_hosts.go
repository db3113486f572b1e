package ctl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

func newHostsCommand() *cli.Command {
	return &cli.Command{
		Name:  "hosts",
		Usage: "list, add, change and remove hosts; heartbeat them and rotate their PSKs",
		Description: describe("Hosts are the machines that run the otto client. A host belongs to at least one group;\n"+
			"its groups decide which scripts it may run.",
			[]string{"ottoctl hosts ls", "ottoctl hosts add web1 --address 10.0.0.5 --psk-file web1.psk --group webservers"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the hosts",
				Description: describe("Lists every host with its address, groups and state.",
					[]string{"ottoctl hosts ls", "ottoctl hosts ls --json | jq -r '.[].Name'"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runHostsLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one host", ArgsUsage: "HOST",
				Description: describe("Shows a host by name or ID: its settings, groups and variables (secret values\n"+
					"are never shown; the PSK only to admins).",
					[]string{"ottoctl hosts show web1"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runHostsShow(ctx, args[0], g, c.App.Writer)
				}),
			},
			{
				Name: "add", Usage: "add a host", ArgsUsage: "NAME",
				Description: describe("Adds a host running the otto client. --psk (or --psk-file) must be the key in the\n"+
					"client's config; the server rotates it at the first contact. A host needs at least one group.",
					[]string{"ottoctl hosts add web1 --address 10.0.0.5 --psk-file web1.psk --group webservers"}, ""),
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "address", Usage: "the host's `ADDRESS` (IP or DNS name)"},
					&cli.UintFlag{Name: "port", DefaultText: "12444", Usage: "the client's `PORT`"},
					&cli.StringFlag{Name: "psk", Usage: "the client's pre-shared `KEY` (visible in ps; prefer --psk-file)"},
					&cli.StringFlag{Name: "psk-file", TakesFile: true, Usage: "read the PSK from `FILE` (- for stdin)"},
					namesFlag("group", "put the host in `GROUP` (name or ID; repeat or separate with commas)"),
					&cli.BoolFlag{Name: "disable", Usage: "add the host disabled"},
				}, envFlags(false)...),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := hostOptsFrom(c, g)
					if err != nil {
						return err
					}
					o.name = &args[0]
					return runHostsAdd(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "edit", Usage: "change a host", ArgsUsage: "HOST",
				Description: describe("Changes the settings given by flags and keeps the others. --group replaces the\n"+
					"host's groups; --add-group and --remove-group change them.",
					[]string{"ottoctl hosts edit web1 --address 10.0.0.6 --add-group dbservers --env ROLE=primary"}, ""),
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "rename the host to `NAME`"},
					&cli.StringFlag{Name: "address", Usage: "the host's `ADDRESS`"},
					&cli.UintFlag{Name: "port", DefaultText: "unchanged", Usage: "the client's `PORT`"},
					&cli.StringFlag{Name: "psk", Usage: "set the pre-shared `KEY` (visible in ps; prefer --psk-file)"},
					&cli.StringFlag{Name: "psk-file", TakesFile: true, Usage: "read the PSK from `FILE` (- for stdin)"},
					namesFlag("group", "set the host's groups to `GROUP`s (replaces them)"),
					namesFlag("add-group", "add the host to `GROUP`"),
					namesFlag("remove-group", "remove the host from `GROUP`"),
				}, append(enableFlags("host"), envFlags(true)...)...),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := hostOptsFrom(c, g)
					if err != nil {
						return err
					}
					return runHostsEdit(ctx, args[0], o, g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove hosts", ArgsUsage: "HOST...",
				Description: describe("Removes hosts, and drops them from the schedules that name them. Every name is\n"+
					"checked before anything is removed.",
					[]string{"ottoctl hosts rm web1 web2"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runRemove(ctx, hostKind(), args, g, c.App.Writer)
				}),
			},
			{
				Name: "heartbeat", Usage: "check now whether hosts answer", ArgsUsage: "HOST... | --all",
				Description: describe("Contacts each host now and shows whether it answered, with its client version.\n"+
					"--all contacts every enabled host at once.",
					[]string{"ottoctl hosts heartbeat web1 || echo web1 is down", "ottoctl hosts heartbeat --all"},
					"EXIT STATUS\n   0 when every host answered; 3 when one did not (or the server cannot be reached);\n"+
						"   1 on another error; 2 for bad flags or arguments; 130 when interrupted."),
				Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "contact every enabled host"}},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if c.Bool("all") {
						if len(args) > 0 {
							return usagef("--all and host names exclude each other")
						}
					} else if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runHostsHeartbeat(ctx, args, c.Bool("all"), g, c.App.Writer)
				}),
			},
			{
				Name: "rotate-psk", Usage: "give a host a new pre-shared key now", ArgsUsage: "HOST",
				Description: describe("Sends the host a new PSK and keeps it. The new key is printed only with --json.",
					[]string{"ottoctl hosts rotate-psk web1"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runHostsRotatePSK(ctx, args[0], g, c.App.Writer)
				}),
			},
		},
	}
}

// hostOpts are the flags of hosts add and edit; nil means not given.
type hostOpts struct {
	name, address, psk      *string
	port                    *uint32
	groups                  []string
	groupsSet               bool
	addGroups, removeGroups []string
	env                     envChange
	enabled                 *bool
}

func hostOptsFrom(c *cli.Context, g *globals) (hostOpts, error) {
	var o hostOpts
	if c.IsSet("name") {
		o.name = ptr(c.String("name"))
	}
	if c.IsSet("address") {
		o.address = ptr(c.String("address"))
	}
	if c.IsSet("port") {
		p := c.Uint("port")
		if p == 0 || p > 65535 {
			return o, usagef("--port %d is out of range 1-65535", p)
		}
		o.port = ptr(uint32(p))
	}
	psk, err := secretFlag(c, g, "psk", "psk-file")
	if err != nil {
		return o, err
	}
	o.psk = psk
	o.groups, o.groupsSet = list(c, "group"), c.IsSet("group")
	if hasFlag(c.Command.Flags, "add-group") {
		o.addGroups, o.removeGroups = list(c, "add-group"), list(c, "remove-group")
	}
	if o.env, err = envChangeFrom(c); err != nil {
		return o, err
	}
	if hasFlag(c.Command.Flags, "enable") {
		o.enabled, err = enabledFrom(c)
	} else if c.Bool("disable") {
		o.enabled = ptr(false)
	}
	return o, err
}

// secretFlag reads a secret from --NAME or --NAME-file (- for stdin);
// nil when neither was given.
func secretFlag(c *cli.Context, g *globals, name, fileFlag string) (*string, error) {
	switch {
	case c.IsSet(name) && c.IsSet(fileFlag):
		return nil, usagef("--%s and --%s exclude each other", name, fileFlag)
	case c.IsSet(name):
		return ptr(c.String(name)), nil
	case c.IsSet(fileFlag):
		path := c.String(fileFlag)
		var b []byte
		var err error
		if path == "-" {
			b, err = io.ReadAll(io.LimitReader(g.stdin, 1<<16))
		} else {
			b, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("reading --%s: %w", fileFlag, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return nil, usagef("--%s %s is empty", fileFlag, path)
		}
		return &v, nil
	}
	return nil, nil
}

func runHostsLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	hosts, err := cl.Hosts(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, hosts)
	case g.quiet:
		return writeIDs(out, idsOf(hosts, hostKind())...)
	}
	groups, err := newResolver(cl, groupKind()).names(ctx)
	if err != nil {
		return err
	}
	sts, err := hostStatuses(ctx, cl)
	if err != nil {
		return err
	}
	return renderHosts(out, hosts, groups, sts)
}

// hostStatuses reads the last heartbeat of every host, by host ID.
func hostStatuses(ctx context.Context, cl *apiclient.Client) (map[apitype.ID]apitype.Heartbeat, error) {
	raw, err := cl.Heartbeats(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[apitype.ID]apitype.Heartbeat, len(raw))
	for k, st := range raw {
		out[apitype.ID(k)] = st
	}
	return out, nil
}

// fmtReachable is a host's last known reachability: yes, no, or - when
// no heartbeat reached it yet.
func fmtReachable(st apitype.Heartbeat, ok bool) string {
	if !ok || st.LastAttempt.IsZero() {
		return "-"
	}
	return yesNo(st.IsReachable)
}

func renderHosts(w io.Writer, hosts []apitype.Host, groups map[apitype.ID]string, sts map[apitype.ID]apitype.Heartbeat) error {
	t := newTable(w, "ID", "NAME", "ADDRESS", "PORT", "GROUPS", "ENABLED", "REACHABLE", "VERSION")
	for _, h := range hosts {
		st, ok := sts[h.ID]
		t.row(string(h.ID), h.Name, h.Address, fmt.Sprint(h.Port), fmtNames(h.GroupIDs, groups), yesNo(h.Enabled),
			fmtReachable(st, ok), orDash(st.Version))
	}
	return t.flush()
}

func runHostsShow(ctx context.Context, arg string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	h, err := newResolver(cl, hostKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, h)
	case g.quiet:
		return writeIDs(out, h.ID)
	}
	groups, err := newResolver(cl, groupKind()).names(ctx)
	if err != nil {
		return err
	}
	sts, err := hostStatuses(ctx, cl)
	if err != nil {
		return err
	}
	st, ok := sts[h.ID]
	return renderHost(out, h, groups, st, ok, g)
}

func renderHost(w io.Writer, h apitype.Host, groups map[apitype.ID]string, st apitype.Heartbeat, hasStatus bool, g *globals) error {
	f := newFields(w)
	f.add("ID", string(h.ID))
	f.add("Name", h.Name)
	f.add("Address", h.Address)
	f.add("Port", fmt.Sprint(h.Port))
	f.add("Groups", fmtNames(h.GroupIDs, groups))
	f.add("Enabled", yesNo(h.Enabled))
	if h.PSK != "" {
		f.add("PSK", h.PSK)
	}
	f.add("PSK rotated", fmtTime(h.LastPSKRotate, g.loc))
	f.add("Created", fmtTime(h.Created, g.loc))
	f.add("Environment", fmtEnv(h.Environment))
	f.add("Reachable", fmtReachable(st, hasStatus))
	if hasStatus {
		f.add("Client version", orDash(st.Version))
		f.add("Last heartbeat", fmtTime(st.LastAttempt, g.loc))
		f.add("Last reply", fmtTime(st.LastReply, g.loc))
		if st.Error != "" {
			f.add("Error", st.Error)
		}
	}
	return f.flush()
}

func runHostsAdd(ctx context.Context, o hostOpts, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	if o.address == nil {
		return usagef("--address is required: the host's IP address or DNS name")
	}
	if o.psk == nil {
		return usagef("--psk or --psk-file is required: the key in the client's config")
	}
	gids, err := newResolver(cl, groupKind()).ids(ctx, o.groups)
	if err != nil {
		return err
	}
	req := apitype.HostRequest{Name: *o.name, Address: *o.address, PSK: *o.psk, GroupIDs: gids,
		Environment: o.env.apply(nil), Enabled: o.enabled}
	if o.port != nil {
		req.Port = *o.port
	}
	h, err := cl.CreateHost(ctx, req)
	if err != nil {
		return err
	}
	return done(out, g, h, h.ID, "added host %s (ID %s)", h.Name, h.ID)
}

func runHostsEdit(ctx context.Context, arg string, o hostOpts, g *globals, out io.Writer) error {
	if o.name == nil && o.address == nil && o.port == nil && o.psk == nil && !o.groupsSet &&
		len(o.addGroups) == 0 && len(o.removeGroups) == 0 && o.env.empty() && o.enabled == nil {
		return usagef("nothing to change: give the flags of what to change (see \"ottoctl hosts edit --help\")")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	h, err := newResolver(cl, hostKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	req := apitype.HostRequest{ID: h.ID, Name: h.Name, Address: h.Address, Port: h.Port, GroupIDs: h.GroupIDs,
		Environment: o.env.apply(h.Environment), Enabled: o.enabled}
	if o.name != nil {
		req.Name = *o.name
	}
	if o.address != nil {
		req.Address = *o.address
	}
	if o.port != nil {
		req.Port = *o.port
	}
	if o.psk != nil {
		req.PSK = *o.psk // empty keeps the stored one
	}
	gr := newResolver(cl, groupKind())
	if o.groupsSet {
		if req.GroupIDs, err = gr.ids(ctx, o.groups); err != nil {
			return err
		}
	}
	add, err := gr.ids(ctx, o.addGroups)
	if err != nil {
		return err
	}
	remove, err := gr.ids(ctx, o.removeGroups)
	if err != nil {
		return err
	}
	req.GroupIDs = editIDs(req.GroupIDs, add, remove)
	if h, err = cl.EditHost(ctx, string(h.ID), req); err != nil {
		return err
	}
	return done(out, g, h, h.ID, "changed host %s (ID %s)", h.Name, h.ID)
}

func runHostsHeartbeat(ctx context.Context, args []string, all bool, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	r := newResolver(cl, hostKind())
	names, err := r.names(ctx)
	if err != nil {
		return err
	}
	statuses := []apitype.Heartbeat{}
	if all {
		if _, err := cl.HeartbeatAll(ctx); err != nil {
			return err
		}
		sts, err := hostStatuses(ctx, cl)
		if err != nil {
			return err
		}
		hosts, _ := r.all(ctx)
		for _, h := range hosts {
			if st, ok := sts[h.ID]; ok && h.Enabled {
				statuses = append(statuses, st)
			}
		}
	} else {
		ids, err := r.ids(ctx, args)
		if err != nil {
			return err
		}
		for _, id := range ids {
			st, err := cl.Heartbeat(ctx, string(id))
			if err != nil {
				return err
			}
			statuses = append(statuses, st)
		}
	}
	var down []string
	for _, st := range statuses {
		if !st.IsReachable {
			down = append(down, orName(names, st.HostID))
		}
	}
	switch {
	case g.json:
		err = writeJSON(out, statuses)
	case g.quiet:
	default:
		err = renderHeartbeats(out, statuses, names, g)
	}
	if err != nil {
		return err
	}
	if len(down) > 0 {
		return &failedError{code: ExitUnreachable, msg: fmt.Sprintf("%d of %d host(s) did not answer: %s", len(down), len(statuses), strings.Join(down, ", "))}
	}
	return nil
}

func renderHeartbeats(w io.Writer, sts []apitype.Heartbeat, names map[apitype.ID]string, g *globals) error {
	t := newTable(w, "HOST", "REACHABLE", "VERSION", "LAST REPLY", "ERROR")
	for _, st := range sts {
		t.row(orName(names, st.HostID), yesNo(st.IsReachable), orDash(st.Version), fmtTime(st.LastReply, g.loc), st.Error)
	}
	return t.flush()
}

func orName(names map[apitype.ID]string, id apitype.ID) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "#" + string(id)
}

// rotatedPSK is what hosts rotate-psk --json prints.
type rotatedPSK struct {
	ID  apitype.ID
	PSK string
}

func runHostsRotatePSK(ctx context.Context, arg string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	id, err := newResolver(cl, hostKind()).id(ctx, arg)
	if err != nil {
		return err
	}
	psk, err := cl.RotatePSK(ctx, string(id))
	if err != nil {
		return err
	}
	return done(out, g, rotatedPSK{ID: id, PSK: psk}, id, "rotated the PSK of host %s (ID %s)", arg, id)
}

// done prints the outcome of a change: the object with --json, its ID
// with --quiet, else a sentence.
func done(out io.Writer, g *globals, obj any, id apitype.ID, format string, args ...any) error {
	switch {
	case g.json:
		return writeJSON(out, obj)
	case g.quiet:
		return writeIDs(out, id)
	}
	_, err := fmt.Fprintf(out, format+"\n", args...)
	return err
}

// runRemove deletes things by name or ID, after resolving every one.
func runRemove[T any](ctx context.Context, k kind[T], args []string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	r := newResolver(cl, k)
	ids, err := r.ids(ctx, args)
	if err != nil {
		return err
	}
	names := map[apitype.ID]string{}
	if r.ok {
		names, _ = r.names(ctx)
	}
	removed := []apitype.ID{}
	for _, id := range ids {
		if err := cl.Do(ctx, http.MethodDelete, itemPath(k.item, id), nil, nil); err != nil {
			if len(removed) > 0 && !g.json {
				fmt.Fprintf(g.stderr, "ottoctl: removed %d of %d %ss before this error\n", len(removed), len(ids), k.noun)
			}
			return err
		}
		removed = append(removed, id)
		if !g.json && !g.quiet {
			if n, ok := names[id]; ok {
				fmt.Fprintf(out, "removed %s %s (ID %s)\n", k.noun, n, id)
			} else {
				fmt.Fprintf(out, "removed %s %s\n", k.noun, id)
			}
		}
	}
	switch {
	case g.json:
		return writeJSON(out, removed)
	case g.quiet:
		return writeIDs(out, removed...)
	}
	return nil
}

// editIDs adds and removes IDs, keeping the order.
func editIDs(ids, add, remove []apitype.ID) []apitype.ID {
	out := []apitype.ID{}
	seen := map[apitype.ID]bool{}
	drop := map[apitype.ID]bool{}
	for _, id := range remove {
		drop[id] = true
	}
	for _, l := range [][]apitype.ID{ids, add} {
		for _, id := range l {
			if !seen[id] && !drop[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func idsOf[T any](items []T, k kind[T]) []apitype.ID {
	ids := make([]apitype.ID, len(items))
	for i, it := range items {
		ids[i] = k.id(it)
	}
	return ids
}

// nonNil makes a nil list an empty one, so JSON shows [] rather than null.
func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}
