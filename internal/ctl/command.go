package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
)

// Command is "otto ctl", which the ottoctl symlink calls. Every call builds
// a new tree: nothing is shared between two runs.
func Command() *cli.Command {
	cmd := &cli.Command{
		Name:  "ctl",
		Usage: "ottoctl: the command line for the server's REST API",
		Description: "Manages an otto server over its REST API: hosts, groups, scripts, attachments, schedules,\n" +
			"registration rules, users and options, and runs scripts on hosts with live output.\n\n" +
			"Connection settings come from the flags below, then the variables OTTO_URL, OTTO_USERNAME,\n" +
			"OTTO_API_KEY and OTTO_INSECURE, then the config file ~/.config/otto/ctl.toml (or\n" +
			"$XDG_CONFIG_HOME/otto/ctl.toml; OTTO_CTL_CONFIG or --config names another), which\n" +
			"\"ottoctl login\" writes. They may be given before the command or after it.\n\n" +
			"Every command takes --json (stable field names, those of the API) and --quiet (IDs only).\n" +
			"Wherever an ID is expected, a name works too: an argument is the ID it equals, else a name.\n\n" +
			"Examples:\n" +
			"   ottoctl login --url https://otto.example.com --username admin\n" +
			"   ottoctl hosts ls\n" +
			"   ottoctl run uptime --group webservers\n\n" +
			exitStatusHelp + "\n   ottoctl run exits 1 when a script failed and 3 when a host was unreachable.\n" +
			"   Treat any other code as a failure too.",
		Flags: append(connectionFlags(false), outputFlags()...),
		Subcommands: []*cli.Command{
			newLoginCommand(),
			newRunCommand(),
			newRunsCommand(),
			newHostsCommand(),
			newGroupsCommand(),
			newScriptsCommand(),
			newAttachmentsCommand(),
			newSchedulesCommand(),
			newRulesCommand(),
			newUsersCommand(),
			newOptionsCommand(),
			newEventsCommand(),
			newCompletionCommand(),
		},
	}
	finish(cmd, true)
	return cmd
}

// connectionFlags are the flags that say which server and who. Leaf
// commands take them too, hidden from their help, so they may follow the
// command: "ottoctl hosts ls --url URL".
func connectionFlags(hidden bool) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "url", Hidden: hidden, Usage: "the server's URL, like https://otto.example.com (env OTTO_URL)"},
		&cli.StringFlag{Name: "username", Hidden: hidden, Usage: "the user the API key belongs to (env OTTO_USERNAME)"},
		&cli.StringFlag{Name: "api-key", Hidden: hidden, Usage: "the API key; prefer OTTO_API_KEY or the config file, which other users cannot see in ps (env OTTO_API_KEY)"},
		&cli.BoolFlag{Name: "insecure", Hidden: hidden, Usage: "do not verify the server's TLS certificate (env OTTO_INSECURE)"},
		&cli.StringFlag{Name: "config", Hidden: hidden, TakesFile: true, Usage: "the config file (env OTTO_CTL_CONFIG; default ~/.config/otto/ctl.toml)"},
	}
}

// outputFlags choose the output form; every command takes them.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print JSON (the API's field names) instead of tables; errors too, on stderr"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only IDs (or nothing but errors)"},
	}
}

// finish completes a command tree: leaves get the common flags and the
// usage error handler; commands with subcommands get an Action that shows
// their help or refuses an unknown subcommand.
func finish(cmd *cli.Command, root bool) {
	cmd.HideHelpCommand = true
	cmd.OnUsageError = onUsageError
	if len(cmd.Subcommands) == 0 {
		if !root {
			for _, f := range append(outputFlags(), connectionFlags(true)...) {
				if !hasFlag(cmd.Flags, f.Names()[0]) {
					cmd.Flags = append(cmd.Flags, f)
				}
			}
		}
		return
	}
	if cmd.Action == nil {
		cmd.Action = groupAction
	}
	for _, sub := range cmd.Subcommands {
		finish(sub, false)
	}
}

// groupAction is the Action of a command with subcommands: with no
// argument it shows the help, else the argument is no subcommand.
func groupAction(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowSubcommandHelp(c)
	}
	name := c.Args().First()
	if name == "help" {
		if c.Args().Len() > 1 && c.Command.Command(c.Args().Get(1)) != nil {
			return cli.ShowCommandHelp(c, c.Args().Get(1))
		}
		return cli.ShowSubcommandHelp(c)
	}
	var names []string
	for _, s := range c.Command.VisibleCommands() {
		names = append(names, s.Name)
	}
	return exit(c, false, usagef("%q is not a command of %q; the commands are %s (see %q)",
		name, helpName(c), strings.Join(names, ", "), helpName(c)+" --help"))
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	return exit(c, false, usagef("%v; see %q", err, helpName(c)+" --help"))
}

// helpName is the command's name as people type it: "ottoctl hosts add"
// (urfave/cli knows it as "otto ctl hosts add").
func helpName(c *cli.Context) string {
	name := c.Command.HelpName
	if name == "" {
		name = c.Command.Name
	}
	f := strings.Fields(name)
	for i, w := range f {
		if w == "ctl" {
			return strings.Join(append([]string{"ottoctl"}, f[i+1:]...), " ")
		}
	}
	return name
}

// exit reports err on the error writer and turns it into the exit code.
func exit(c *cli.Context, asJSON bool, err error) error {
	if err == nil {
		return nil
	}
	code := report(c.App.ErrWriter, asJSON, err)
	return cli.Exit("", code)
}

// globals is what every command's core gets besides its own options: the
// output choice and the way to the server, read from the flags, the
// environment and the config file.
type globals struct {
	json, quiet bool
	flags       connFlags
	configPath  string
	getenv      func(string) string
	stdin       io.Reader
	stderr      io.Writer
	loc         *time.Location
}

func newGlobals(c *cli.Context) (*globals, error) {
	g := &globals{getenv: os.Getenv, stdin: c.App.Reader, stderr: c.App.ErrWriter, loc: time.Local}
	if g.stdin == nil {
		g.stdin = os.Stdin
	}
	if g.stderr == nil {
		g.stderr = os.Stderr
	}
	g.json = flagBool(c, "json")
	g.quiet = flagBool(c, "quiet")
	if g.json && g.quiet {
		return g, usagef("--json and --quiet exclude each other")
	}
	for _, f := range []struct {
		name string
		dst  **string
	}{{"url", &g.flags.URL}, {"username", &g.flags.Username}, {"api-key", &g.flags.APIKey}} {
		if x := setIn(c, f.name); x != nil {
			v := x.String(f.name)
			*f.dst = &v
		}
	}
	if x := setIn(c, "insecure"); x != nil {
		v := x.Bool("insecure")
		g.flags.Insecure = &v
	}
	switch x := setIn(c, "config"); {
	case x != nil:
		g.configPath = x.String("config")
	case g.getenv(envConfig) != "":
		g.configPath = g.getenv(envConfig)
	}
	return g, nil
}

// setIn finds the context, the command's own or a parent's, where the
// flag name was given; nil when it was not.
func setIn(c *cli.Context, name string) *cli.Context {
	for _, x := range c.Lineage() {
		if x.Command == nil || !hasFlag(x.Command.Flags, name) {
			continue
		}
		if x.IsSet(name) {
			return x
		}
	}
	return nil
}

func flagBool(c *cli.Context, name string) bool {
	if x := setIn(c, name); x != nil {
		return x.Bool(name)
	}
	return false
}

func hasFlag(flags []cli.Flag, name string) bool {
	return findFlag(flags, name) != nil
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// config reads the config file; a missing one is an empty one.
func (g *globals) config() (configFile, string, error) {
	path := g.configPath
	if path == "" {
		var err error
		if path, err = defaultConfigPath(g.getenv); err != nil {
			return configFile{}, "", err
		}
	}
	cf, err := loadConfig(path)
	if errors.Is(err, ErrNoConfig) {
		return configFile{}, path, nil
	}
	if err != nil {
		return cf, path, &usageError{msg: err.Error()}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 && cf.APIKey != "" {
		fmt.Fprintf(g.stderr, "ottoctl: warning: %s holds an API key and others may read it; run: chmod 600 %s\n", path, path)
	}
	return cf, path, nil
}

// settings resolves the connection settings.
func (g *globals) settings() (settings, error) {
	cf, _, err := g.config()
	if err != nil {
		return settings{}, err
	}
	return resolveSettings(g.flags, g.getenv, cf)
}

// client returns an API client with the resolved settings, or a usage
// error saying what is missing.
func (g *globals) client() (*apiclient.Client, error) {
	return g.clientIdle(0)
}

// clientIdle is client whose streams fail after streamIdle of silence.
func (g *globals) clientIdle(streamIdle time.Duration) (*apiclient.Client, error) {
	s, err := g.settings()
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return newClient(s, streamIdle)
}

// errHelpShown ends an action whose flags asked for help.
var errHelpShown = errors.New("help shown")

// act makes a leaf command's Action from its core: it takes flags given
// after the arguments, builds the globals, turns Ctrl-C and SIGTERM into
// the context's cancellation, and reports the error with its exit code.
func act(core func(ctx context.Context, c *cli.Context, g *globals, args []string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		args, err := interspersed(c)
		if errors.Is(err, errHelpShown) {
			return nil
		}
		var g *globals
		if err == nil {
			g, err = newGlobals(c)
		}
		if err == nil {
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			err = core(ctx, c, g, args)
			if err != nil && ctx.Err() != nil && c.Context.Err() == nil && !isInterrupted(err) {
				err = &interruptedError{msg: "interrupted"}
			}
			stop()
		}
		asJSON := flagBool(c, "json")
		if g != nil {
			asJSON = g.json
		}
		return exit(c, asJSON, err)
	}
}

func isInterrupted(err error) bool {
	var ie *interruptedError
	return errors.As(err, &ie)
}

// interspersed takes the flags that come after the first argument (Go's
// flag package stops at it), so that "ottoctl run uptime --host web1"
// works, and returns the arguments. "--" ends the flags.
func interspersed(c *cli.Context) ([]string, error) {
	in := c.Args().Slice()
	if c.Bool("help") {
		_ = cli.ShowCommandHelp(c.Lineage()[1], c.Command.Name)
		return nil, errHelpShown
	}
	if afterDashDash(c) {
		return in, nil
	}
	var pos []string
	for i := 0; i < len(in); i++ {
		a := in[i]
		if a == "--" {
			pos = append(pos, in[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			_ = cli.ShowCommandHelp(c.Lineage()[1], c.Command.Name)
			return nil, errHelpShown
		}
		f := findFlag(c.Command.Flags, name)
		if f == nil {
			return nil, usagef("flag provided but not defined: %s; see %q", a, helpName(c)+" --help")
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			if !hasVal {
				val = "true"
			}
		} else if !hasVal {
			if i+1 >= len(in) {
				return nil, usagef("flag needs an argument: %s", a)
			}
			i++
			val = in[i]
		}
		if err := c.Set(f.Names()[0], val); err != nil {
			return nil, usagef("invalid value %q for flag %s: %v", val, a, err)
		}
	}
	return pos, nil
}

// afterDashDash reports whether Go's flag parsing stopped at a "--",
// which it drops: then every argument left is an argument, even one that
// starts with "-". The command's raw arguments are its parent's.
func afterDashDash(c *cli.Context) bool {
	lin := c.Lineage()
	if len(lin) < 2 {
		return false
	}
	raw := lin[1].Args().Tail()
	consumed := len(raw) - c.Args().Len()
	return consumed > 0 && consumed <= len(raw) && raw[consumed-1] == "--"
}

// listFlag is a repeatable flag: each use adds values, and with split set
// a comma-separated value adds each part ("--host a,b").
type listFlag struct {
	values []string
	split  bool
}

func (l *listFlag) Set(v string) error {
	if !l.split {
		l.values = append(l.values, v)
		return nil
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l.values = append(l.values, p)
		}
	}
	return nil
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ",")
}

// Get is for flag.Getter.
func (l *listFlag) Get() any { return l.values }

// names is a repeatable flag of names or IDs, commas allowed.
func namesFlag(name, usage string, aliases ...string) *cli.GenericFlag {
	return &cli.GenericFlag{Name: name, Aliases: aliases, Value: &listFlag{split: true}, Usage: usage}
}

// repeated is a repeatable flag whose values are taken whole (values may
// hold commas).
func repeatedFlag(name, usage string) *cli.GenericFlag {
	return &cli.GenericFlag{Name: name, Value: &listFlag{}, Usage: usage}
}

// list returns the values of a listFlag.
func list(c *cli.Context, name string) []string {
	if l, ok := c.Generic(name).(*listFlag); ok && l != nil {
		return l.values
	}
	return nil
}

// describe is a command's Description: its text, its examples, and the
// EXIT STATUS paragraph (exitStatusHelp unless one is given).
func describe(text string, examples []string, exitStatus string) string {
	var b strings.Builder
	b.WriteString(text)
	if len(examples) > 0 {
		if len(examples) == 1 {
			b.WriteString("\n\nExample:\n")
		} else {
			b.WriteString("\n\nExamples:\n")
		}
		for _, e := range examples {
			b.WriteString("   " + e + "\n")
		}
	} else {
		b.WriteString("\n")
	}
	if exitStatus == "" {
		exitStatus = exitStatusHelp
	}
	b.WriteString("\n" + exitStatus)
	return b.String()
}

func argsWanted(c *cli.Context, n int) string {
	if c.Command.ArgsUsage != "" {
		return c.Command.ArgsUsage
	}
	return fmt.Sprintf("%d argument(s)", n)
}

// needArgs checks the number of arguments.
func needArgs(c *cli.Context, args []string, min, max int) error {
	switch {
	case len(args) < min && min == max:
		return usagef("%s needs %s (see %q)", helpName(c), argsWanted(c, min), helpName(c)+" --help")
	case len(args) < min:
		return usagef("%s needs %s (see %q)", helpName(c), argsWanted(c, min), helpName(c)+" --help")
	case max >= 0 && len(args) > max:
		if max == 0 {
			return usagef("%s takes no arguments, got %q", helpName(c), args)
		}
		return usagef("%s takes %s, got %q", helpName(c), c.Command.ArgsUsage, args)
	}
	return nil
}
