package serve

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/serve/importer"
	"github.com/otto-automation/otto/internal/serve/legacy"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "take over the data of an otto 0.x server into a new data directory",
		ArgsUsage: "OLD",
		Description: "Reads the data directory of an otto 0.x server (OLD: the folder holding data/, or data/\n" +
			"itself) and writes everything into --data-dir, which must not exist or be empty: hosts with\n" +
			"their IDs and PSKs, groups, scripts, attachments with their bytes, schedules and their reports,\n" +
			"registration rules, users with their passwords and API keys (0.x had no roles: they become\n" +
			"admins), options and the audit log. All or nothing: on any error --data-dir is left as it was.\n\n" +
			"Stop the 0.x server first (its files are locked while it runs). --check reads OLD and prints\n" +
			"what it found and every problem, without writing. See docs/upgrade-from-0x.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: DefaultDataDir, EnvVars: []string{"OTTO_DATA_DIR"}, Usage: "the new, empty data directory"},
			&cli.BoolFlag{Name: "check", Usage: "read OLD and report, write nothing"},
			&cli.BoolFlag{Name: "ignore-problems", Usage: "import even if OLD has problems, leaving out what they name"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: otto server import [--check] [--ignore-problems] [--data-dir NEW] OLD", 2)
			}
			out := c.App.Writer
			if c.Bool("check") {
				d, err := importer.Check(c.Args().First())
				if err != nil {
					return err
				}
				printRead(c, d)
				if len(d.Problems) > 0 {
					return cli.Exit("", 1)
				}
				fmt.Fprintln(out, "no problems: ready to import")
				return nil
			}
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
			d, err := importer.Import(c.Context, c.Args().First(), c.String("data-dir"), importer.Options{
				IgnoreProblems: c.Bool("ignore-problems"),
				Log:            log,
			})
			if d != nil && (errors.Is(err, importer.ErrProblems) || err == nil && len(d.Problems) > 0) {
				printRead(c, d)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "imported into %s; start the server with --data-dir %[1]s on the 0.x server's address\n", c.String("data-dir"))
			return nil
		},
	}
}

// printRead prints what legacy.Read found: counts, then each problem.
func printRead(c *cli.Context, d *legacy.Data) {
	fmt.Fprintf(c.App.Writer, "%s (0.x table version %d): %s\n", d.Dir, d.TableVersion, d.Counts())
	for _, p := range d.Problems {
		fmt.Fprintf(c.App.Writer, "problem: %s\n", p)
	}
}
