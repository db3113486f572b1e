package ctl

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/urfave/cli/v2"
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
	var events []Event
	if err := cl.get(ctx, "/api/events", url.Values{"c": {strconv.Itoa(count)}}, &events); err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, nonNil(events))
	case g.quiet:
		ids := make([]int64, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		return writeIDs(out, ids...)
	}
	return renderEvents(out, events, g)
}

func renderEvents(w io.Writer, events []Event, g *globals) error {
	t := newTable(w, "ID", "TIME", "TYPE", "USER", "DETAILS")
	for _, e := range events {
		t.row(fmt.Sprint(e.ID), fmtTime(e.Time, g.loc), e.Type, orDash(e.User), fmtDetails(e.Details))
	}
	return t.flush()
}
