package ctl

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

func newRunsCommand() *cli.Command {
	return &cli.Command{
		Name:  "runs",
		Usage: "list, show and cancel script runs",
		Description: describe("Every run of a script on a host, started by a person, a schedule or a registration,\n"+
			"is kept in the run history with its output.",
			[]string{"ottoctl runs ls --host web1", "ottoctl runs show 42"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list runs, newest first",
				Description: describe("Lists runs, newest first, filtered by host, script or batch. --before pages back.",
					[]string{"ottoctl runs ls --host web1 --limit 10", "ottoctl runs ls --batch 3f2a9c --json"}, ""),
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "host", Usage: "only runs on `HOST` (name or ID)"},
					&cli.StringFlag{Name: "script", Usage: "only runs of `SCRIPT` (name or ID)"},
					&cli.StringFlag{Name: "batch", Usage: "only the runs of `BATCH`"},
					&cli.StringFlag{Name: "schedule", Usage: "only the runs `SCHEDULE` started (name or ID)"},
					&cli.StringFlag{Name: "before", Usage: "only runs older than run `ID`"},
					&cli.IntFlag{Name: "limit", Value: 50, Usage: "list at most `N` runs"},
				},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					o := runsLsOpts{host: c.String("host"), script: c.String("script"), batch: c.String("batch"), schedule: c.String("schedule"),
						before: c.String("before"), limit: c.Int("limit")}
					if o.limit < 1 {
						return usagef("--limit %d: give a positive number", o.limit)
					}
					return runRunsLs(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one run with its output", ArgsUsage: "RUN",
				Description: describe("Shows a run and its output. --output prints only the output: the script's stdout\n"+
					"on stdout and its stderr on stderr.",
					[]string{"ottoctl runs show 42", "ottoctl runs show 42 --output > out.txt"}, ""),
				Flags: []cli.Flag{&cli.BoolFlag{Name: "output", Usage: "print only the run's output"}},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					id, err := runID(args[0])
					if err != nil {
						return err
					}
					return runRunsShow(ctx, id, c.Bool("output"), g, c.App.Writer, c.App.ErrWriter)
				}),
			},
			{
				Name: "cancel", Usage: "cancel runs", ArgsUsage: "RUN...",
				Description: describe("Cancels runs that have not finished. --batch cancels every unfinished run of a batch.",
					[]string{"ottoctl runs cancel 42 43", "ottoctl runs cancel --batch 3f2a9c"}, ""),
				Flags: []cli.Flag{&cli.StringFlag{Name: "batch", Usage: "cancel the unfinished runs of `BATCH`"}},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					batch := c.String("batch")
					if batch == "" {
						if err := needArgs(c, args, 1, -1); err != nil {
							return err
						}
					}
					var ids []apitype.ID
					for _, a := range args {
						id, err := runID(a)
						if err != nil {
							return err
						}
						ids = append(ids, id)
					}
					return runRunsCancel(ctx, ids, batch, g, c.App.Writer)
				}),
			},
		},
	}
}

// runID reads a run's ID: runs have no names, and the server numbers
// them.
func runID(s string) (apitype.ID, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseUint(s, 10, 63); err != nil || id == 0 {
		return "", usagef("%q is not a run ID (runs are numbered; see \"ottoctl runs ls\")", s)
	}
	return apitype.ID(s), nil
}

type runsLsOpts struct {
	host, script, batch, schedule string
	before                        string
	limit                         int
}

func runRunsLs(ctx context.Context, o runsLsOpts, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(o.limit)}}
	if o.host != "" {
		id, err := newResolver(cl, hostKind()).id(ctx, o.host)
		if err != nil {
			return err
		}
		q.Set("host", string(id))
	}
	if o.script != "" {
		id, err := newResolver(cl, scriptKind()).id(ctx, o.script)
		if err != nil {
			return err
		}
		q.Set("script", string(id))
	}
	if o.schedule != "" {
		id, err := newResolver(cl, scheduleKind()).id(ctx, o.schedule)
		if err != nil {
			return err
		}
		q.Set("schedule", string(id))
	}
	if o.batch != "" {
		q.Set("batch", o.batch)
	}
	if o.before != "" {
		id, err := runID(o.before)
		if err != nil {
			return err
		}
		q.Set("before", string(id))
	}
	runs, err := cl.Runs(ctx, q)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, runs)
	case g.quiet:
		ids := make([]apitype.ID, len(runs))
		for i, r := range runs {
			ids[i] = r.ID
		}
		return writeIDs(out, ids...)
	}
	return renderRuns(out, runs, g)
}

func fmtExit(r apitype.Run) string {
	if r.State != apitype.RunDone {
		return "-"
	}
	return strconv.Itoa(r.ExitCode)
}

func renderRuns(w io.Writer, runs []apitype.Run, g *globals) error {
	t := newTable(w, "ID", "STARTED", "SCRIPT", "HOST", "STATE", "EXIT", "DURATION", "BY")
	for _, r := range runs {
		t.row(string(r.ID), fmtTime(r.Started, g.loc), r.ScriptName, r.HostName, r.State, fmtExit(r),
			fmtDuration(r.Duration), orDash(r.StartedBy))
	}
	return t.flush()
}

func runRunsShow(ctx context.Context, id apitype.ID, outputOnly bool, g *globals, out, errOut io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	r, err := cl.Run(ctx, string(id))
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, r)
	case g.quiet:
		return writeIDs(out, r.ID)
	case outputOnly:
		if _, err := io.WriteString(out, r.Stdout); err != nil {
			return err
		}
		_, err := io.WriteString(errOut, r.Stderr)
		return err
	}
	return renderRun(out, r, g)
}

func renderRun(w io.Writer, r apitype.Run, g *globals) error {
	f := newFields(w)
	f.add("ID", string(r.ID))
	f.add("Batch", r.BatchID)
	f.add("Script", withID(r.ScriptName, r.ScriptID))
	f.add("Host", withID(r.HostName, r.HostID))
	f.add("Started by", orDash(r.StartedBy))
	f.add("State", r.State)
	if r.State == apitype.RunDone {
		f.add("Exit code", strconv.Itoa(r.ExitCode))
		f.add("Success", yesNo(r.Success))
	}
	if r.Error != "" {
		f.add("Error", r.Error)
	}
	f.add("Started", fmtTime(r.Started, g.loc))
	f.add("Finished", fmtTime(r.Finished, g.loc))
	f.add("Duration", fmtDuration(r.Duration))
	if r.Truncated {
		f.add("Output", "truncated at the server's limit")
	}
	if err := f.flush(); err != nil {
		return err
	}
	for _, s := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		if s.text == "" {
			continue
		}
		text := s.text
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		if _, err := fmt.Fprintf(w, "--- %s ---\n%s", s.name, text); err != nil {
			return err
		}
	}
	return nil
}

// withID is "name (ID id)", or the name alone when the ID is unknown.
func withID(name string, id apitype.ID) string {
	if id == "" {
		return name
	}
	return fmt.Sprintf("%s (ID %s)", name, id)
}

func runRunsCancel(ctx context.Context, ids []apitype.ID, batch string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	if batch != "" {
		runs, err := cl.Runs(ctx, url.Values{"batch": {batch}, "limit": {"10000"}})
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			return &notFoundError{msg: fmt.Sprintf("no runs in batch %q (see \"ottoctl runs ls\")", batch)}
		}
		for _, r := range runs {
			if !r.Done() {
				ids = append(ids, r.ID)
			}
		}
	}
	canceled := []apitype.ID{}
	for _, id := range ids {
		if err := cl.CancelRun(ctx, string(id)); err != nil {
			return err
		}
		canceled = append(canceled, id)
		if !g.json && !g.quiet {
			fmt.Fprintf(out, "canceled run %s\n", id)
		}
	}
	switch {
	case g.json:
		return writeJSON(out, canceled)
	case g.quiet:
		return writeIDs(out, canceled...)
	case len(canceled) == 0:
		_, err := fmt.Fprintf(out, "every run of batch %s had finished already\n", batch)
		return err
	}
	return nil
}
