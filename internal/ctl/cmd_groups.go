package ctl

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

func newGroupsCommand() *cli.Command {
	return &cli.Command{
		Name:  "groups",
		Usage: "list, add, change and remove groups, and set their hosts",
		Description: describe("A group is a set of hosts and the scripts they may run, with variables for them.",
			[]string{"ottoctl groups ls", "ottoctl groups hosts set webservers web1 web2"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the groups",
				Description: describe("Lists every group with its number of hosts and its scripts.",
					[]string{"ottoctl groups ls"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runGroupsLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one group", ArgsUsage: "GROUP",
				Description: describe("Shows a group by name or ID, with its hosts and scripts.",
					[]string{"ottoctl groups show webservers"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runGroupsShow(ctx, args[0], g, c.App.Writer)
				}),
			},
			{
				Name: "add", Usage: "add a group", ArgsUsage: "NAME",
				Description: describe("Adds a group. --script names the scripts its hosts may run.",
					[]string{"ottoctl groups add webservers --script deploy --env TIER=web"}, ""),
				Flags: append([]cli.Flag{
					namesFlag("script", "let the group's hosts run `SCRIPT` (name or ID; repeat or separate with commas)"),
				}, envFlags(false)...),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := groupOptsFrom(c)
					if err != nil {
						return err
					}
					o.name = &args[0]
					return runGroupsAdd(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "edit", Usage: "change a group", ArgsUsage: "GROUP",
				Description: describe("Changes what the flags say and keeps the rest. --script replaces the group's\n"+
					"scripts; --add-script and --remove-script change them.",
					[]string{"ottoctl groups edit webservers --add-script backup --unset TIER"}, ""),
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "rename the group to `NAME`"},
					namesFlag("script", "set the group's scripts to `SCRIPT`s (replaces them)"),
					namesFlag("add-script", "add `SCRIPT` to the group"),
					namesFlag("remove-script", "remove `SCRIPT` from the group"),
				}, envFlags(true)...),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := groupOptsFrom(c)
					if err != nil {
						return err
					}
					return runGroupsEdit(ctx, args[0], o, g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove groups", ArgsUsage: "GROUP...",
				Description: describe("Removes groups. The server refuses while hosts, schedules or registration use one.",
					[]string{"ottoctl groups rm old-servers"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runRemove(ctx, groupKind(), args, g, c.App.Writer)
				}),
			},
			{
				Name:  "hosts",
				Usage: "set the hosts of a group",
				Description: describe("Commands on a group's member hosts.",
					[]string{"ottoctl groups hosts set webservers web1 web2"}, ""),
				Subcommands: []*cli.Command{
					{
						Name: "set", Usage: "make exactly these hosts the group's members", ArgsUsage: "GROUP [HOST...]",
						Description: describe("Sets the group's members: the hosts named join it, the others leave it.\n"+
							"With no HOST, --none is needed to empty the group.",
							[]string{"ottoctl groups hosts set webservers web1 web2 web3"}, ""),
						Flags: []cli.Flag{&cli.BoolFlag{Name: "none", Usage: "remove every host from the group"}},
						Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
							if err := needArgs(c, args, 1, -1); err != nil {
								return err
							}
							if len(args) == 1 && !c.Bool("none") {
								return usagef("name the hosts, or pass --none to remove every host from %s", args[0])
							}
							if len(args) > 1 && c.Bool("none") {
								return usagef("--none and hosts exclude each other")
							}
							return runGroupsHostsSet(ctx, args[0], args[1:], g, c.App.Writer)
						}),
					},
				},
			},
		},
	}
}

type groupOpts struct {
	name                      *string
	scripts                   []string
	scriptsSet                bool
	addScripts, removeScripts []string
	env                       envChange
}

func groupOptsFrom(c *cli.Context) (groupOpts, error) {
	var o groupOpts
	if c.IsSet("name") {
		o.name = ptr(c.String("name"))
	}
	o.scripts, o.scriptsSet = list(c, "script"), c.IsSet("script")
	if hasFlag(c.Command.Flags, "add-script") {
		o.addScripts, o.removeScripts = list(c, "add-script"), list(c, "remove-script")
	}
	var err error
	o.env, err = envChangeFrom(c)
	return o, err
}

func runGroupsLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	groups, err := cl.Groups(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, groups)
	case g.quiet:
		return writeIDs(out, idsOf(groups, groupKind())...)
	}
	membership, err := cl.Membership(ctx)
	if err != nil {
		return err
	}
	scripts, err := newResolver(cl, scriptKind()).names(ctx)
	if err != nil {
		return err
	}
	return renderGroups(out, groups, membership, scripts)
}

func renderGroups(w io.Writer, groups []apitype.Group, membership map[string][]apitype.ID, scripts map[apitype.ID]string) error {
	t := newTable(w, "ID", "NAME", "HOSTS", "SCRIPTS")
	for _, gr := range groups {
		t.row(string(gr.ID), gr.Name, strconv.Itoa(len(membership[string(gr.ID)])),
			fmtNames(gr.ScriptIDs, scripts))
	}
	return t.flush()
}

func runGroupsShow(ctx context.Context, arg string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	gr, err := newResolver(cl, groupKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, gr)
	case g.quiet:
		return writeIDs(out, gr.ID)
	}
	hosts, err := cl.GroupHosts(ctx, string(gr.ID))
	if err != nil {
		return err
	}
	scripts, err := newResolver(cl, scriptKind()).names(ctx)
	if err != nil {
		return err
	}
	return renderGroup(out, gr, hosts, scripts)
}

func renderGroup(w io.Writer, gr apitype.Group, hosts []apitype.Host, scripts map[apitype.ID]string) error {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	sort.Strings(names)
	f := newFields(w)
	f.add("ID", string(gr.ID))
	f.add("Name", gr.Name)
	f.add("Hosts", orDash(strings.Join(names, ",")))
	f.add("Scripts", fmtNames(gr.ScriptIDs, scripts))
	f.add("Environment", fmtEnv(gr.Environment))
	return f.flush()
}

func runGroupsAdd(ctx context.Context, o groupOpts, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	sids, err := newResolver(cl, scriptKind()).ids(ctx, o.scripts)
	if err != nil {
		return err
	}
	req := apitype.GroupRequest{Name: *o.name, ScriptIDs: sids, Environment: o.env.apply(nil)}
	gr, err := cl.CreateGroup(ctx, req)
	if err != nil {
		return err
	}
	return done(out, g, gr, gr.ID, "added group %s (ID %s)", gr.Name, gr.ID)
}

func runGroupsEdit(ctx context.Context, arg string, o groupOpts, g *globals, out io.Writer) error {
	if o.name == nil && !o.scriptsSet && len(o.addScripts) == 0 && len(o.removeScripts) == 0 && o.env.empty() {
		return usagef("nothing to change: give the flags of what to change (see \"ottoctl groups edit --help\")")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	gr, err := newResolver(cl, groupKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	req := apitype.GroupRequest{ID: gr.ID, Name: gr.Name, ScriptIDs: gr.ScriptIDs, Environment: o.env.apply(gr.Environment)}
	if o.name != nil {
		req.Name = *o.name
	}
	sr := newResolver(cl, scriptKind())
	if o.scriptsSet {
		if req.ScriptIDs, err = sr.ids(ctx, o.scripts); err != nil {
			return err
		}
	}
	add, err := sr.ids(ctx, o.addScripts)
	if err != nil {
		return err
	}
	remove, err := sr.ids(ctx, o.removeScripts)
	if err != nil {
		return err
	}
	req.ScriptIDs = editIDs(req.ScriptIDs, add, remove)
	if gr, err = cl.EditGroup(ctx, string(gr.ID), req); err != nil {
		return err
	}
	return done(out, g, gr, gr.ID, "changed group %s (ID %s)", gr.Name, gr.ID)
}

func runGroupsHostsSet(ctx context.Context, group string, hosts []string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	gid, err := newResolver(cl, groupKind()).id(ctx, group)
	if err != nil {
		return err
	}
	hids, err := newResolver(cl, hostKind()).ids(ctx, hosts)
	if err != nil {
		return err
	}
	members, err := cl.SetGroupHosts(ctx, string(gid), hids)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, nonNil(members))
	case g.quiet:
		return writeIDs(out, idsOf(members, hostKind())...)
	}
	_, err = fmt.Fprintf(out, "group %s (ID %s) has %d host(s)\n", group, gid, len(members))
	return err
}
