package ctl

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

func newSchedulesCommand() *cli.Command {
	targetFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "script", Usage: "run `SCRIPT` (name or ID)"},
			&cli.StringFlag{Name: "pattern", Usage: "when, as a cron `PATTERN` in UTC: minute hour day month weekday"},
			namesFlag("host", "run on `HOST` (name or ID; repeat or separate with commas)"),
			namesFlag("group", "run on the hosts of `GROUP`"),
		}
	}
	return &cli.Command{
		Name:  "schedules",
		Usage: "list, add, change and remove schedules",
		Description: describe("A schedule runs a script on hosts and groups on a cron pattern (in UTC).",
			[]string{"ottoctl schedules add nightly-backup --script backup --group dbservers --pattern '0 3 * * *'"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the schedules",
				Description: describe("Lists every schedule.", []string{"ottoctl schedules ls"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runSchedulesLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one schedule", ArgsUsage: "SCHEDULE",
				Description: describe("Shows a schedule by name or ID.", []string{"ottoctl schedules show nightly-backup"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runSchedulesShow(ctx, args[0], g, c.App.Writer)
				}),
			},
			{
				Name: "add", Usage: "add a schedule", ArgsUsage: "NAME",
				Description: describe("Adds a schedule: --script, --pattern, and at least one --host or --group.",
					[]string{"ottoctl schedules add nightly-backup --script backup --group dbservers --pattern '0 3 * * *'"}, ""),
				Flags: append(targetFlags(), &cli.BoolFlag{Name: "disable", Usage: "add the schedule disabled"}),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := scheduleOptsFrom(c)
					if err != nil {
						return err
					}
					o.name = &args[0]
					return runSchedulesAdd(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "edit", Usage: "change a schedule", ArgsUsage: "SCHEDULE",
				Description: describe("Changes what the flags say and keeps the rest. --host replaces the schedule's hosts\n"+
					"and --group its groups; --host '' clears them.",
					[]string{"ottoctl schedules edit nightly-backup --pattern '30 2 * * *'", "ottoctl schedules edit nightly-backup --disable"}, ""),
				Flags: append(append(targetFlags(), &cli.StringFlag{Name: "name", Usage: "rename the schedule to `NAME`"}),
					enableFlags("schedule")...),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := scheduleOptsFrom(c)
					if err != nil {
						return err
					}
					return runSchedulesEdit(ctx, args[0], o, g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove schedules", ArgsUsage: "SCHEDULE...",
				Description: describe("Removes schedules.", []string{"ottoctl schedules rm nightly-backup"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runRemove(ctx, scheduleKind(), args, g, c.App.Writer)
				}),
			},
		},
	}
}

type scheduleOpts struct {
	name, script, pattern *string
	hosts, groups         []string
	hostsSet, groupsSet   bool
	enabled               *bool
}

func scheduleOptsFrom(c *cli.Context) (scheduleOpts, error) {
	var o scheduleOpts
	for _, f := range []struct {
		flag string
		dst  **string
	}{{"name", &o.name}, {"script", &o.script}, {"pattern", &o.pattern}} {
		if hasFlag(c.Command.Flags, f.flag) && c.IsSet(f.flag) {
			*f.dst = ptr(c.String(f.flag))
		}
	}
	o.hosts, o.hostsSet = list(c, "host"), c.IsSet("host")
	o.groups, o.groupsSet = list(c, "group"), c.IsSet("group")
	var err error
	if hasFlag(c.Command.Flags, "enable") {
		o.enabled, err = enabledFrom(c)
	} else if c.Bool("disable") {
		o.enabled = ptr(false)
	}
	return o, err
}

func runSchedulesLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	scheds, err := cl.Schedules(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, scheds)
	case g.quiet:
		return writeIDs(out, idsOf(scheds, scheduleKind())...)
	}
	n, err := loadNames(ctx, cl)
	if err != nil {
		return err
	}
	return renderSchedules(out, scheds, n, g)
}

// names are the names of scripts, hosts and groups, for tables.
type names struct{ scripts, hosts, groups map[apitype.ID]string }

func loadNames(ctx context.Context, cl *apiclient.Client) (names, error) {
	var n names
	var err error
	if n.scripts, err = newResolver(cl, scriptKind()).names(ctx); err != nil {
		return n, err
	}
	if n.hosts, err = newResolver(cl, hostKind()).names(ctx); err != nil {
		return n, err
	}
	n.groups, err = newResolver(cl, groupKind()).names(ctx)
	return n, err
}

func fmtScope(s apitype.Scope, n names) string {
	var parts []string
	if len(s.HostIDs) > 0 {
		parts = append(parts, "hosts "+fmtNames(s.HostIDs, n.hosts))
	}
	if len(s.GroupIDs) > 0 {
		parts = append(parts, "groups "+fmtNames(s.GroupIDs, n.groups))
	}
	if len(parts) == 0 {
		return "-"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return parts[0] + "; " + parts[1]
}

func renderSchedules(w io.Writer, scheds []apitype.Schedule, n names, g *globals) error {
	t := newTable(w, "ID", "NAME", "SCRIPT", "PATTERN", "TARGETS", "ENABLED", "LAST RUN")
	for _, s := range scheds {
		t.row(string(s.ID), s.Name, orName(n.scripts, s.ScriptID), s.Pattern, fmtScope(s.Scope, n),
			yesNo(s.Enabled), fmtTime(s.LastRunTime, g.loc))
	}
	return t.flush()
}

func runSchedulesShow(ctx context.Context, arg string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	s, err := newResolver(cl, scheduleKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, s)
	case g.quiet:
		return writeIDs(out, s.ID)
	}
	n, err := loadNames(ctx, cl)
	if err != nil {
		return err
	}
	f := newFields(out)
	f.add("ID", string(s.ID))
	f.add("Name", s.Name)
	f.add("Script", orName(n.scripts, s.ScriptID))
	f.add("Pattern", s.Pattern+" (UTC)")
	f.add("Hosts", fmtNames(s.Scope.HostIDs, n.hosts))
	f.add("Groups", fmtNames(s.Scope.GroupIDs, n.groups))
	f.add("Enabled", yesNo(s.Enabled))
	f.add("Last run", fmtTime(s.LastRunTime, g.loc))
	return f.flush()
}

// scope resolves --host and --group into old's place where given.
func (o scheduleOpts) scope(ctx context.Context, cl *apiclient.Client, old apitype.Scope) (apitype.Scope, error) {
	s := old
	var err error
	if o.hostsSet {
		if s.HostIDs, err = newResolver(cl, hostKind()).ids(ctx, o.hosts); err != nil {
			return s, err
		}
	}
	if o.groupsSet {
		if s.GroupIDs, err = newResolver(cl, groupKind()).ids(ctx, o.groups); err != nil {
			return s, err
		}
	}
	return s, nil
}

func runSchedulesAdd(ctx context.Context, o scheduleOpts, g *globals, out io.Writer) error {
	switch {
	case o.script == nil:
		return usagef("--script is required: the script to run")
	case o.pattern == nil:
		return usagef("--pattern is required: a cron pattern such as '0 3 * * *' (UTC)")
	case len(o.hosts) == 0 && len(o.groups) == 0:
		return usagef("name the targets: --host HOST or --group GROUP (or both)")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	sid, err := newResolver(cl, scriptKind()).id(ctx, *o.script)
	if err != nil {
		return err
	}
	scope, err := o.scope(ctx, cl, apitype.Scope{HostIDs: []apitype.ID{}, GroupIDs: []apitype.ID{}})
	if err != nil {
		return err
	}
	req := apitype.ScheduleRequest{Name: *o.name, ScriptID: sid, Scope: scope, Pattern: *o.pattern, Enabled: o.enabled}
	s, err := cl.CreateSchedule(ctx, req)
	if err != nil {
		return err
	}
	return done(out, g, s, s.ID, "added schedule %s (ID %s)", s.Name, s.ID)
}

func runSchedulesEdit(ctx context.Context, arg string, o scheduleOpts, g *globals, out io.Writer) error {
	if o.name == nil && o.script == nil && o.pattern == nil && !o.hostsSet && !o.groupsSet && o.enabled == nil {
		return usagef("nothing to change: give the flags of what to change (see \"ottoctl schedules edit --help\")")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	s, err := newResolver(cl, scheduleKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	req := apitype.ScheduleRequest{ID: s.ID, Name: s.Name, ScriptID: s.ScriptID, Pattern: s.Pattern, Enabled: o.enabled}
	if o.name != nil {
		req.Name = *o.name
	}
	if o.pattern != nil {
		req.Pattern = *o.pattern
	}
	if o.script != nil {
		if req.ScriptID, err = newResolver(cl, scriptKind()).id(ctx, *o.script); err != nil {
			return err
		}
	}
	if req.Scope, err = o.scope(ctx, cl, s.Scope); err != nil {
		return err
	}
	if s, err = cl.EditSchedule(ctx, string(s.ID), req); err != nil {
		return err
	}
	return done(out, g, s, s.ID, "changed schedule %s (ID %s)", s.Name, s.ID)
}
