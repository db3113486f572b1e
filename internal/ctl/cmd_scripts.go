package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

// validAfter reports whether s is an after-run action of a script
// (Script.AfterExecution); "" is none.
func validAfter(s string) bool {
	switch s {
	case "", "reboot", "shutdown", "exit_client", "update_psk":
		return true
	}
	return false
}

func newScriptsCommand() *cli.Command {
	scriptFlags := func(edit bool) []cli.Flag {
		f := []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, TakesFile: true, Usage: "the script's body is `FILE` (- for stdin)"},
			&cli.StringFlag{Name: "executable", Usage: "run the script as `PROGRAM` SCRIPTFILE (default: the #! line's program, else /bin/sh)"},
			&cli.StringFlag{Name: "uid", Usage: "run as user `UID` (a number) instead of the client's user"},
			&cli.StringFlag{Name: "gid", Usage: "run as group `GID` (a number)"},
			&cli.StringFlag{Name: "workdir", Usage: "run in `DIR` (absolute)"},
			&cli.StringFlag{Name: "after", Usage: "then do `ACTION`: reboot, shutdown, exit_client, update_psk (\"\" for none)"},
			namesFlag("attachment", "place `ATTACHMENT` on the host first (name or ID; repeat or separate with commas)"),
			namesFlag("group", "let `GROUP`'s hosts run the script"),
		}
		if edit {
			f = append([]cli.Flag{&cli.StringFlag{Name: "name", Usage: "rename the script to `NAME`"},
				&cli.BoolFlag{Name: "inherit", Usage: "run as the client's user again (undoes --uid and --gid)"}}, f...)
			f = append(f, enableFlags("script")...)
		} else {
			f = append(f, &cli.BoolFlag{Name: "disable", Usage: "add the script disabled"})
		}
		return append(f, envFlags(edit)...)
	}
	return &cli.Command{
		Name:  "scripts",
		Usage: "list, add, change and remove scripts",
		Description: describe("A script is a program body that hosts run: \"ottoctl run\" runs it now, schedules\n"+
			"run it on a pattern. Hosts may run it through their groups.",
			[]string{"ottoctl scripts add uptime --file uptime.sh --group webservers", "ottoctl scripts show uptime --body"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the scripts",
				Description: describe("Lists every script.", []string{"ottoctl scripts ls"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runScriptsLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one script", ArgsUsage: "SCRIPT",
				Description: describe("Shows a script by name or ID, its body last. --body prints only the body, as it is.",
					[]string{"ottoctl scripts show uptime", "ottoctl scripts show uptime --body > uptime.sh"}, ""),
				Flags: []cli.Flag{&cli.BoolFlag{Name: "body", Usage: "print only the script's body"}},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runScriptsShow(ctx, args[0], c.Bool("body"), g, c.App.Writer)
				}),
			},
			{
				Name: "add", Usage: "add a script", ArgsUsage: "NAME",
				Description: describe("Adds a script whose body is --file. It runs as the client's user unless --uid is given.",
					[]string{"ottoctl scripts add uptime --file uptime.sh --group webservers",
						"echo 'df -h' | ottoctl scripts add disk-usage --file - --executable /bin/sh"}, ""),
				Flags: scriptFlags(false),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := scriptOptsFrom(c, g)
					if err != nil {
						return err
					}
					o.name = &args[0]
					return runScriptsAdd(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "edit", Usage: "change a script", ArgsUsage: "SCRIPT",
				Description: describe("Changes what the flags say and keeps the rest. --attachment and --group replace the\n"+
					"script's attachments and groups.",
					[]string{"ottoctl scripts edit uptime --file uptime.sh", "ottoctl scripts edit uptime --disable"}, ""),
				Flags: scriptFlags(true),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o, err := scriptOptsFrom(c, g)
					if err != nil {
						return err
					}
					return runScriptsEdit(ctx, args[0], o, g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove scripts", ArgsUsage: "SCRIPT...",
				Description: describe("Removes scripts.", []string{"ottoctl scripts rm uptime"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runRemove(ctx, scriptKind(), args, g, c.App.Writer)
				}),
			},
		},
	}
}

type scriptOpts struct {
	name, body, executable, workdir, after *string
	uid, gid                               *uint32
	inherit                                bool
	attachments, groups                    []string
	attachmentsSet, groupsSet              bool
	env                                    envChange
	enabled                                *bool
}

func scriptOptsFrom(c *cli.Context, g *globals) (scriptOpts, error) {
	var o scriptOpts
	for _, f := range []struct {
		flag string
		dst  **string
	}{{"name", &o.name}, {"executable", &o.executable}, {"workdir", &o.workdir}, {"after", &o.after}} {
		if hasFlag(c.Command.Flags, f.flag) && c.IsSet(f.flag) {
			*f.dst = ptr(c.String(f.flag))
		}
	}
	if o.after != nil && !validAfter(*o.after) {
		return o, usagef("--after %q: use one of reboot, shutdown, exit_client, update_psk, or \"\"", *o.after)
	}
	for _, f := range []struct {
		flag string
		dst  **uint32
	}{{"uid", &o.uid}, {"gid", &o.gid}} {
		if c.IsSet(f.flag) {
			n, err := parseUint32(c.String(f.flag))
			if err != nil {
				return o, usagef("--%s %q: %v", f.flag, c.String(f.flag), err)
			}
			*f.dst = &n
		}
	}
	if hasFlag(c.Command.Flags, "inherit") {
		o.inherit = c.Bool("inherit")
		if o.inherit && (o.uid != nil || o.gid != nil) {
			return o, usagef("--inherit excludes --uid and --gid")
		}
	}
	if c.IsSet("file") {
		body, err := readFileArg(c.String("file"), g.stdin)
		if err != nil {
			return o, err
		}
		o.body = &body
	}
	o.attachments, o.attachmentsSet = list(c, "attachment"), c.IsSet("attachment")
	o.groups, o.groupsSet = list(c, "group"), c.IsSet("group")
	var err error
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

// readFileArg reads a file named on the command line, - for stdin.
func readFileArg(path string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return string(b), nil
}

// shebang returns the program of a "#!" first line; an error when it has
// arguments, which Executable cannot carry.
func shebang(body string) (string, error) {
	if !strings.HasPrefix(body, "#!") {
		return "", nil
	}
	line, _, _ := strings.Cut(body[2:], "\n")
	parts := strings.Fields(line)
	switch {
	case len(parts) == 0:
		return "", nil
	case len(parts) > 1:
		return "", usagef("the script's first line %q has arguments; pass --executable with the program that runs it", "#!"+line)
	}
	return parts[0], nil
}

func runScriptsLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	scripts, err := cl.Scripts(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, scripts)
	case g.quiet:
		return writeIDs(out, idsOf(scripts, scriptKind())...)
	}
	return renderScripts(out, scripts)
}

func fmtRunAs(r apitype.RunAs) string {
	if r.Inherit {
		return "client"
	}
	return fmt.Sprintf("%d:%d", r.UID, r.GID)
}

func renderScripts(w io.Writer, scripts []apitype.Script) error {
	t := newTable(w, "ID", "NAME", "EXECUTABLE", "RUN AS", "AFTER", "ENABLED")
	for _, s := range scripts {
		t.row(string(s.ID), s.Name, s.Executable, fmtRunAs(s.RunAs), orDash(s.AfterExecution), yesNo(s.Enabled))
	}
	return t.flush()
}

func runScriptsShow(ctx context.Context, arg string, bodyOnly bool, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	s, err := newResolver(cl, scriptKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, s)
	case g.quiet:
		return writeIDs(out, s.ID)
	case bodyOnly:
		_, err := io.WriteString(out, s.Script)
		return err
	}
	atts, err := newResolver(cl, attachmentKind()).names(ctx)
	if err != nil {
		return err
	}
	groups, err := cl.ScriptGroups(ctx, string(s.ID))
	if err != nil {
		return err
	}
	return renderScript(out, s, groups, atts)
}

func renderScript(w io.Writer, s apitype.Script, groups []apitype.Group, atts map[apitype.ID]string) error {
	gnames := make([]string, len(groups))
	for i, gr := range groups {
		gnames[i] = gr.Name
	}
	f := newFields(w)
	f.add("ID", string(s.ID))
	f.add("Name", s.Name)
	f.add("Executable", s.Executable)
	f.add("Run as", fmtRunAs(s.RunAs))
	f.add("Working directory", orDash(s.WorkingDirectory))
	f.add("After", orDash(s.AfterExecution))
	f.add("Attachments", fmtNames(s.AttachmentIDs, atts))
	f.add("Groups", orDash(strings.Join(gnames, ",")))
	f.add("Enabled", yesNo(s.Enabled))
	f.add("Environment", fmtEnv(s.Environment))
	if err := f.flush(); err != nil {
		return err
	}
	body := s.Script
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	_, err := fmt.Fprintf(w, "--- script ---\n%s", body)
	return err
}

func runScriptsAdd(ctx context.Context, o scriptOpts, g *globals, out io.Writer) error {
	if o.body == nil {
		return usagef("--file is required: the script's body (- for stdin)")
	}
	req := apitype.ScriptRequest{Name: *o.name, Script: *o.body, RunAs: apitype.RunAs{Inherit: true}, Enabled: o.enabled,
		Environment: o.env.apply(nil)}
	var err error
	switch {
	case o.executable != nil:
		req.Executable = *o.executable
	default:
		if req.Executable, err = shebang(*o.body); err != nil {
			return err
		}
		if req.Executable == "" {
			req.Executable = "/bin/sh"
		}
	}
	if o.uid != nil || o.gid != nil {
		req.RunAs = apitype.RunAs{UID: deref(o.uid), GID: deref(o.gid)}
	}
	if o.workdir != nil {
		req.WorkingDirectory = *o.workdir
	}
	if o.after != nil {
		req.AfterExecution = *o.after
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	if req.AttachmentIDs, err = newResolver(cl, attachmentKind()).ids(ctx, o.attachments); err != nil {
		return err
	}
	gids, err := newResolver(cl, groupKind()).ids(ctx, o.groups)
	if err != nil {
		return err
	}
	s, err := cl.CreateScript(ctx, req)
	if err != nil {
		return err
	}
	if len(gids) > 0 {
		if err := cl.SetScriptGroups(ctx, string(s.ID), gids); err != nil {
			return fmt.Errorf("added script %s (ID %s), but setting its groups failed: %w", s.Name, s.ID, err)
		}
	}
	return done(out, g, s, s.ID, "added script %s (ID %s)", s.Name, s.ID)
}

func runScriptsEdit(ctx context.Context, arg string, o scriptOpts, g *globals, out io.Writer) error {
	if o.name == nil && o.body == nil && o.executable == nil && o.workdir == nil && o.after == nil &&
		o.uid == nil && o.gid == nil && !o.inherit && !o.attachmentsSet && !o.groupsSet && o.env.empty() && o.enabled == nil {
		return usagef("nothing to change: give the flags of what to change (see \"ottoctl scripts edit --help\")")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	s, err := newResolver(cl, scriptKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	req := apitype.ScriptRequest{ID: s.ID, Name: s.Name, Executable: s.Executable, Script: s.Script, Environment: o.env.apply(s.Environment),
		RunAs: s.RunAs, WorkingDirectory: s.WorkingDirectory, AfterExecution: s.AfterExecution,
		AttachmentIDs: s.AttachmentIDs, Enabled: o.enabled}
	for _, f := range []struct {
		src *string
		dst *string
	}{{o.name, &req.Name}, {o.body, &req.Script}, {o.executable, &req.Executable}, {o.workdir, &req.WorkingDirectory}, {o.after, &req.AfterExecution}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	switch {
	case o.inherit:
		req.RunAs = apitype.RunAs{Inherit: true}
	case o.uid != nil || o.gid != nil:
		req.RunAs.Inherit = false
		if o.uid != nil {
			req.RunAs.UID = *o.uid
		}
		if o.gid != nil {
			req.RunAs.GID = *o.gid
		}
	}
	if o.attachmentsSet {
		if req.AttachmentIDs, err = newResolver(cl, attachmentKind()).ids(ctx, o.attachments); err != nil {
			return err
		}
	}
	var gids []apitype.ID
	if o.groupsSet {
		if gids, err = newResolver(cl, groupKind()).ids(ctx, o.groups); err != nil {
			return err
		}
	}
	if s, err = cl.EditScript(ctx, string(s.ID), req); err != nil {
		return err
	}
	if o.groupsSet {
		if err := cl.SetScriptGroups(ctx, string(s.ID), gids); err != nil {
			return err
		}
	}
	return done(out, g, s, s.ID, "changed script %s (ID %s)", s.Name, s.ID)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// parseUint32 reads a user or group ID.
func parseUint32(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, errors.New("not a number from 0 to 4294967295")
	}
	return uint32(n), nil
}
