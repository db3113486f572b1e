package ctl

import (
	"cmp"
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

func newEventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "show the audit log's newest events",
		Description: describe("Shows who did what: logins, changes, runs, registrations; newest first.",
			[]string{"ottoctl events", "ottoctl events --count 200 --json | jq -r '.[] | select(.Type==\"HostDeleted\")'"}, ""),
		Flags: []cli.Flag{&cli.IntFlag{Name: "count", Aliases: []string{"c"}, Value: 50, Usage: "show the newest `N` events"}},
		Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
			if err := needArgs(c, args, 0, 0); err != nil {
				return err
			}
			if c.Int("count") < 1 {
				return usagef("--count %d: give a positive number", c.Int("count"))
			}
			return runEvents(ctx, c.Int("count"), g, c.App.Writer)
		}),
	}
}

func runEvents(ctx context.Context, count int, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	events, err := cl.Events(ctx, count)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, events)
	case g.quiet:
		ids := make([]apitype.ID, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		return writeIDs(out, ids...)
	}
	return renderEvents(out, events, g)
}

func renderEvents(w io.Writer, events []apitype.Event, g *globals) error {
	t := newTable(w, "ID", "TIME", "TYPE", "USER", "DETAILS")
	for _, e := range events {
		t.row(string(e.ID), fmtTime(e.Time, g.loc), cmp.Or(e.Event, e.Type), orDash(e.User), fmtDetails(e.Details))
	}
	return t.flush()
}
