package ctl

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

func newRulesCommand() *cli.Command {
	ruleFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "group", Usage: "put matching hosts in `GROUP` (name or ID)"},
			repeatedFlag("match", "match `PROPERTY=REGEXP`: hostname, kernel_name, kernel_version, distribution_name or distribution_version (repeat: all must match)"),
			&cli.IntFlag{Name: "order", Usage: "try rules with a lower `N` first"},
		}
	}
	return &cli.Command{
		Name:  "rules",
		Usage: "list, add, change and remove registration rules",
		Description: describe("A registration rule puts a self-registering host into a group when all of its\n"+
			"clauses match the host's properties.",
			[]string{"ottoctl rules add debian-web --group webservers --match distribution_name=^debian$ --match 'hostname=^web'"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the rules",
				Description: describe("Lists every rule, in the order they are tried.", []string{"ottoctl rules ls"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runRulesLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one rule", ArgsUsage: "RULE",
				Description: describe("Shows a rule by name or ID.", []string{"ottoctl rules show debian-web"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runRulesShow(ctx, args[0], g, c.App.Writer)
				}),
			},
			{
				Name: "add", Usage: "add a rule", ArgsUsage: "NAME",
				Description: describe("Adds a rule: --group and at least one --match.",
					[]string{"ottoctl rules add debian-web --group webservers --match distribution_name=^debian$"}, ""),
				Flags: ruleFlags(),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := ruleOptsFrom(c)
					if err != nil {
						return err
					}
					o.name = &args[0]
					return runRulesAdd(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "edit", Usage: "change a rule", ArgsUsage: "RULE",
				Description: describe("Changes what the flags say and keeps the rest; --match replaces every clause.",
					[]string{"ottoctl rules edit debian-web --order 10"}, ""),
				Flags: append(ruleFlags(), &cli.StringFlag{Name: "name", Usage: "rename the rule to `NAME`"}),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := ruleOptsFrom(c)
					if err != nil {
						return err
					}
					return runRulesEdit(ctx, args[0], o, g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove rules", ArgsUsage: "RULE...",
				Description: describe("Removes rules.", []string{"ottoctl rules rm debian-web"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runRemove(ctx, ruleKind(), args, g, c.App.Writer)
				}),
			},
		},
	}
}

type ruleOpts struct {
	name, group *string
	clauses     []apitype.RegisterClause
	order       *int
}

func ruleOptsFrom(c *cli.Context) (ruleOpts, error) {
	var o ruleOpts
	if hasFlag(c.Command.Flags, "name") && c.IsSet("name") {
		o.name = ptr(c.String("name"))
	}
	if c.IsSet("group") {
		o.group = ptr(c.String("group"))
	}
	if c.IsSet("order") {
		o.order = ptr(c.Int("order"))
	}
	for _, m := range list(c, "match") {
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" {
			return o, usagef("--match %q: write PROPERTY=REGEXP, like hostname=^web", m)
		}
		o.clauses = append(o.clauses, apitype.RegisterClause{Property: k, Pattern: v})
	}
	return o, nil
}

func runRulesLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	rules, err := cl.Rules(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, rules)
	case g.quiet:
		return writeIDs(out, idsOf(rules, ruleKind())...)
	}
	groups, err := newResolver(cl, groupKind()).names(ctx)
	if err != nil {
		return err
	}
	return renderRules(out, rules, groups)
}

func fmtClauses(cs []apitype.RegisterClause) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Property + "=~" + c.Pattern
	}
	return orDash(strings.Join(parts, " && "))
}

func renderRules(w io.Writer, rules []apitype.RegisterRule, groups map[apitype.ID]string) error {
	t := newTable(w, "ID", "NAME", "ORDER", "GROUP", "MATCH")
	for _, r := range rules {
		t.row(string(r.ID), r.Name, fmt.Sprint(r.Order), orName(groups, r.GroupID), fmtClauses(r.Clauses))
	}
	return t.flush()
}

func runRulesShow(ctx context.Context, arg string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	r, err := newResolver(cl, ruleKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, r)
	case g.quiet:
		return writeIDs(out, r.ID)
	}
	groups, err := newResolver(cl, groupKind()).names(ctx)
	if err != nil {
		return err
	}
	f := newFields(out)
	f.add("ID", string(r.ID))
	f.add("Name", r.Name)
	f.add("Order", fmt.Sprint(r.Order))
	f.add("Group", orName(groups, r.GroupID))
	f.add("Match", fmtClauses(r.Clauses))
	return f.flush()
}

func runRulesAdd(ctx context.Context, o ruleOpts, g *globals, out io.Writer) error {
	if o.group == nil {
		return usagef("--group is required: the group matching hosts join")
	}
	if len(o.clauses) == 0 {
		return usagef("--match is required: PROPERTY=REGEXP, like hostname=^web")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	gid, err := newResolver(cl, groupKind()).id(ctx, *o.group)
	if err != nil {
		return err
	}
	req := apitype.RegisterRule{Name: *o.name, Clauses: o.clauses, GroupID: gid, Order: deref(o.order)}
	r, err := cl.CreateRule(ctx, req)
	if err != nil {
		return err
	}
	return done(out, g, r, r.ID, "added rule %s (ID %s)", r.Name, r.ID)
}

func runRulesEdit(ctx context.Context, arg string, o ruleOpts, g *globals, out io.Writer) error {
	if o.name == nil && o.group == nil && o.clauses == nil && o.order == nil {
		return usagef("nothing to change: give the flags of what to change (see \"ottoctl rules edit --help\")")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	r, err := newResolver(cl, ruleKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	req := apitype.RegisterRule{ID: r.ID, Name: r.Name, Clauses: r.Clauses, GroupID: r.GroupID, Order: r.Order}
	if o.name != nil {
		req.Name = *o.name
	}
	if o.group != nil {
		if req.GroupID, err = newResolver(cl, groupKind()).id(ctx, *o.group); err != nil {
			return err
		}
	}
	if o.clauses != nil {
		req.Clauses = o.clauses
	}
	if o.order != nil {
		req.Order = *o.order
	}
	if r, err = cl.EditRule(ctx, string(r.ID), req); err != nil {
		return err
	}
	return done(out, g, r, r.ID, "changed rule %s (ID %s)", r.Name, r.ID)
}
