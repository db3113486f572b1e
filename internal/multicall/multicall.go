// Package multicall is the otto binary's command line above the roles: it
// puts the role commands (server, client, ctl) under one cli.App, adds
// "version" and "links", and turns the outcome into one exit code.
package multicall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/version"
)

// Links maps the names the binary answers to when called through a symlink
// to the role each name stands for.
var Links = map[string]string{
	"otto-server": "server",
	"otto-client": "client",
	"ottoctl":     "ctl",
}

// Exit codes shared by every role.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Args rewrites a symlinked call into the "otto ROLE ..." form: argv[0]
// "ottoctl" with args "hosts ls" becomes "otto ctl hosts ls". Only the base
// name counts, so a chain of symlinks answers to its first link.
func Args(argv []string) []string {
	if len(argv) == 0 {
		return []string{"otto"}
	}
	if role, ok := Links[filepath.Base(argv[0])]; ok {
		return append([]string{"otto", role}, argv[1:]...)
	}
	return argv
}

// Run runs the otto command line with the given role commands and returns
// the process exit code.
func Run(ctx context.Context, argv []string, stdout, stderr io.Writer, roles ...*cli.Command) int {
	argv = Args(argv)
	app := newApp(stdout, stderr, roles)
	if len(argv) < 2 || !isCommand(app, argv[1]) {
		if len(argv) >= 2 && (argv[1] == "-h" || argv[1] == "--help" || argv[1] == "help") {
			_ = app.RunContext(ctx, argv)
			return ExitOK
		}
		if len(argv) >= 2 {
			fmt.Fprintf(stderr, "otto: unknown role or command %q\n\n", argv[1])
		}
		fmt.Fprint(stderr, rolesText(roles))
		return ExitUsage
	}
	err := app.RunContext(ctx, argv)
	return report(stderr, err)
}

func newApp(stdout, stderr io.Writer, roles []*cli.Command) *cli.App {
	for _, r := range roles {
		addVersion(r)
	}
	cmds := append([]*cli.Command{}, roles...)
	cmds = append(cmds, versionCommand(""), linksCommand())
	return &cli.App{
		Name:            "otto",
		Usage:           "run scripts on many Unix hosts from one place",
		Description:     "One binary, three roles. Call it as \"otto ROLE\" or through a symlink named otto-server, otto-client or ottoctl (see \"otto links\").",
		Version:         version.Version,
		HideVersion:     true,
		Commands:        cmds,
		Writer:          stdout,
		ErrWriter:       stderr,
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: false,
		// Completion of flags and commands for ottoctl's bash, zsh and
		// fish scripts ("ottoctl completion").
		EnableBashCompletion: true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
	}
}

func isCommand(app *cli.App, name string) bool {
	for _, c := range app.Commands {
		if c.HasName(name) {
			return true
		}
	}
	return false
}

func rolesText(roles []*cli.Command) string {
	var b strings.Builder
	b.WriteString("usage: otto ROLE [arguments]   (or a symlink: otto-server, otto-client, ottoctl)\n\nroles:\n")
	for _, r := range roles {
		fmt.Fprintf(&b, "  %-8s %s\n", r.Name, r.Usage)
	}
	b.WriteString("  version  print the version\n  links    create the otto-server, otto-client and ottoctl symlinks\n")
	return b.String()
}

// usageError marks a command line the user got wrong.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// UsageError wraps err so that the process exits with ExitUsage.
func UsageError(err error) error { return usageError{err} }

func report(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ue usageError
	var ec cli.ExitCoder
	code := ExitError
	switch {
	case errors.As(err, &ue):
		code = ExitUsage
	case errors.As(err, &ec):
		code = ec.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "otto: %s\n", msg)
	}
	return code
}

// addVersion gives a role its own "version" subcommand, so "otto-server
// version" answers with the role it was called as.
func addVersion(role *cli.Command) {
	for _, c := range role.Subcommands {
		if c.HasName("version") {
			return
		}
	}
	role.Subcommands = append(role.Subcommands, versionCommand(role.Name))
}

func versionCommand(role string) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, protocol version, Go runtime and platform",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			fmt.Fprintf(w, "otto %s\n", version.Version)
			if role != "" {
				fmt.Fprintf(w, "role: %s\n", role)
			}
			fmt.Fprintf(w, "protocol: %d\n", version.Protocol)
			fmt.Fprintf(w, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// NotImplemented stands in for a role whose issue has not landed yet.
func NotImplemented(name, usage string) *cli.Command {
	return &cli.Command{
		Name:  name,
		Usage: usage + " (not implemented yet)",
		Action: func(*cli.Context) error {
			return cli.Exit(fmt.Sprintf("the %s role is not implemented yet", name), ExitUsage)
		},
	}
}

func linksCommand() *cli.Command {
	return &cli.Command{
		Name:      "links",
		Usage:     "create the otto-server, otto-client and ottoctl symlinks",
		ArgsUsage: "[DIR]",
		Description: "Creates otto-server, otto-client and ottoctl as symlinks to this binary, in DIR or,\n" +
			"without DIR, next to the binary. Existing links to this binary are left alone;\n" +
			"anything else in the way is an error unless --force.\n\n" +
			"Example:\n   sudo otto links /usr/local/bin",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Usage: "replace files or links that are in the way"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return UsageError(errors.New("links takes at most one directory"))
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding this binary: %w", err)
			}
			if s, err := filepath.EvalSymlinks(self); err == nil {
				self = s
			}
			dir := c.Args().First()
			if dir == "" {
				dir = filepath.Dir(self)
			}
			return makeLinks(c.App.Writer, self, dir, c.Bool("force"))
		},
	}
}

func makeLinks(w io.Writer, target, dir string, force bool) error {
	for _, name := range []string{"otto-server", "otto-client", "ottoctl"} {
		link := filepath.Join(dir, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			fmt.Fprintf(w, "%s -> %s (already there)\n", link, target)
			continue
		}
		if _, err := os.Lstat(link); err == nil {
			if !force {
				return fmt.Errorf("%s exists and is not a link to %s; use --force to replace it", link, target)
			}
			if err := os.Remove(link); err != nil {
				return err
			}
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s -> %s\n", link, target)
	}
	return nil
}
