package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

func newUsersCommand() *cli.Command {
	return &cli.Command{
		Name:  "users",
		Usage: "list, add, change and remove users; issue API keys",
		Description: describe("Users sign in to the web UI and call the API. Roles: admin (everything), operator\n"+
			"(run scripts, change hosts, groups, scripts, schedules) and viewer (read only).",
			[]string{"ottoctl users add alice --role operator --email alice@example.com"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the users",
				Description: describe("Lists every user (admins only).", []string{"ottoctl users ls"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runUsersLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one user", ArgsUsage: "USERNAME",
				Description: describe("Shows a user. Anyone may see themselves; admins see everyone.",
					[]string{"ottoctl users show alice"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runUsersShow(ctx, args[0], g, c.App.Writer)
				}),
			},
			{
				Name: "add", Usage: "add a user", ArgsUsage: "USERNAME",
				Description: describe("Adds a user. The password is asked on the terminal, or read as one line from\n"+
					"stdin when stdin is not a terminal.",
					[]string{"ottoctl users add alice --role operator --email alice@example.com",
						"printf '%s\\n' \"$PW\" | ottoctl users add bob --role viewer --must-change-password"}, ""),
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "role", Value: "viewer", Usage: "the user's `ROLE`: admin, operator or viewer"},
					&cli.StringFlag{Name: "email", Usage: "the user's `EMAIL` address"},
					&cli.BoolFlag{Name: "must-change-password", Usage: "make the user choose a new password at the first login"},
					&cli.BoolFlag{Name: "disable", Usage: "add the user unable to log in"},
				},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					req := apitype.UserRequest{Username: args[0], Role: c.String("role")}
					if c.IsSet("email") {
						req.Email = ptr(c.String("email"))
					}
					if c.Bool("must-change-password") {
						req.MustChangePassword = ptr(true)
					}
					if c.Bool("disable") {
						req.CanLogIn = ptr(false)
					}
					return runUsersAdd(ctx, req, g, c.App.Writer)
				}),
			},
			{
				Name: "edit", Usage: "change a user", ArgsUsage: "USERNAME",
				Description: describe("Changes what the flags say and keeps the rest. --password asks for a new password\n"+
					"(or reads it from stdin). --disable stops the user from logging in.",
					[]string{"ottoctl users edit alice --role admin", "ottoctl users edit bob --password --must-change-password"}, ""),
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "role", Usage: "the user's `ROLE`: admin, operator or viewer"},
					&cli.StringFlag{Name: "email", Usage: "the user's `EMAIL` address"},
					&cli.BoolFlag{Name: "password", Usage: "set a new password (asked, or read from stdin)"},
					&cli.BoolFlag{Name: "must-change-password", Usage: "make the user choose a new password at the next login (=false to undo)"},
				}, enableFlags("user's login")...),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					var req apitype.UserRequest
					req.Role = c.String("role")
					if c.IsSet("email") {
						req.Email = ptr(c.String("email"))
					}
					if c.IsSet("must-change-password") {
						req.MustChangePassword = ptr(c.Bool("must-change-password"))
					}
					en, err := enabledFrom(c)
					if err != nil {
						return err
					}
					req.CanLogIn = en
					return runUsersEdit(ctx, args[0], req, c.Bool("password"), g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove users", ArgsUsage: "USERNAME...",
				Description: describe("Removes users (not yourself).", []string{"ottoctl users rm bob"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runUsersRm(ctx, args, g, c.App.Writer)
				}),
			},
			{
				Name: "apikey", Usage: "issue a new API key", ArgsUsage: "[USERNAME]",
				Description: describe("Issues a new API key for USERNAME (default: yourself) and prints it; it is shown\n"+
					"only this once. The user's previous key stops working. --save stores it in the\n"+
					"config file as ottoctl's own key (for yourself only).",
					[]string{"ottoctl users apikey --save", "ottoctl users apikey deploy-bot --quiet"}, ""),
				Flags: []cli.Flag{&cli.BoolFlag{Name: "save", Usage: "save the key in the config file (your own key only)"}},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 1); err != nil {
						return err
					}
					var user string
					if len(args) == 1 {
						user = args[0]
					}
					return runUsersAPIKey(ctx, user, c.Bool("save"), g, c.App.Writer)
				}),
			},
		},
	}
}

// apiKey is what users apikey --json prints: a new key, shown once.
type apiKey struct {
	Username string
	APIKey   string
}

func runUsersLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	users, err := cl.Users(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, users)
	case g.quiet:
		for _, u := range users {
			fmt.Fprintln(out, u.Username)
		}
		return nil
	}
	return renderUsers(out, users, g)
}

func renderUsers(w io.Writer, users []apitype.User, g *globals) error {
	t := newTable(w, "ID", "USERNAME", "ROLE", "EMAIL", "CAN LOG IN", "LAST LOGIN")
	for _, u := range users {
		t.row(string(u.ID), u.Username, u.Role, orDash(u.Email), yesNo(u.CanLogIn), fmtTime(u.LastLogin, g.loc))
	}
	return t.flush()
}

func runUsersShow(ctx context.Context, name string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	u, err := cl.User(ctx, name)
	if err != nil {
		return err
	}
	return printUser(out, u, g)
}

func printUser(out io.Writer, u apitype.User, g *globals) error {
	switch {
	case g.json:
		return writeJSON(out, u)
	case g.quiet:
		_, err := fmt.Fprintln(out, u.Username)
		return err
	}
	f := newFields(out)
	f.add("ID", string(u.ID))
	f.add("Username", u.Username)
	f.add("Role", u.Role)
	f.add("Email", orDash(u.Email))
	f.add("Can log in", yesNo(u.CanLogIn))
	f.add("Must change password", yesNo(u.MustChangePassword))
	f.add("Created", fmtTime(u.Created, g.loc))
	f.add("Last login", fmtTime(u.LastLogin, g.loc))
	return f.flush()
}

func runUsersAdd(ctx context.Context, req apitype.UserRequest, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	if req.Password, err = askPassword(ctx, g.stdin, g.stderr, fmt.Sprintf("Password for %s: ", req.Username), true); err != nil {
		return err
	}
	u, err := cl.CreateUser(ctx, req)
	if err != nil {
		return err
	}
	if g.quiet {
		_, err := fmt.Fprintln(out, u.Username)
		return err
	}
	return done(out, g, u, u.ID, "added user %s (ID %s, role %s)", u.Username, u.ID, u.Role)
}

func runUsersEdit(ctx context.Context, name string, req apitype.UserRequest, newPassword bool, g *globals, out io.Writer) error {
	if req.Role == "" && req.Email == nil && req.MustChangePassword == nil && req.CanLogIn == nil && !newPassword {
		return usagef("nothing to change: give the flags of what to change (see \"ottoctl users edit --help\")")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	if newPassword {
		if req.Password, err = askPassword(ctx, g.stdin, g.stderr, fmt.Sprintf("New password for %s: ", name), true); err != nil {
			return err
		}
	}
	u, err := cl.EditUser(ctx, name, req)
	if err != nil {
		return err
	}
	if g.quiet {
		_, err := fmt.Fprintln(out, u.Username)
		return err
	}
	return done(out, g, u, u.ID, "changed user %s (ID %s)", u.Username, u.ID)
}

func runUsersRm(ctx context.Context, names []string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	removed := []string{}
	for _, n := range names {
		if err := cl.DeleteUser(ctx, n); err != nil {
			return err
		}
		removed = append(removed, n)
		if !g.json {
			if g.quiet {
				fmt.Fprintln(out, n)
			} else {
				fmt.Fprintf(out, "removed user %s\n", n)
			}
		}
	}
	if g.json {
		return writeJSON(out, removed)
	}
	return nil
}

func runUsersAPIKey(ctx context.Context, user string, save bool, g *globals, out io.Writer) error {
	s, err := g.settings()
	if err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	if user == "" {
		user = s.Username
	}
	if save && user != s.Username {
		return usagef("--save stores your own key only; %s is not %s", user, s.Username)
	}
	cl, err := newClient(s, 0)
	if err != nil {
		return err
	}
	key, err := cl.NewAPIKey(ctx, user)
	if err != nil {
		return err
	}
	k := apiKey{Username: user, APIKey: key}
	if save {
		cf, path, err := g.config()
		if err != nil {
			return err
		}
		cf.URL, cf.Username, cf.APIKey = s.URL, k.Username, k.APIKey
		if s.Insecure {
			cf.Insecure = true
		}
		if err := saveConfig(path, cf); err != nil {
			return fmt.Errorf("the new API key is %s, but saving it failed: %w", k.APIKey, err)
		}
		if !g.json && !g.quiet {
			fmt.Fprintf(g.stderr, "saved the new API key in %s\n", path)
		}
	}
	switch {
	case g.json:
		return writeJSON(out, k)
	case g.quiet:
		_, err := fmt.Fprintln(out, k.APIKey)
		return err
	}
	_, err = fmt.Fprintf(out, "API key of %s (shown once; the previous one no longer works):\n%s\n", k.Username, k.APIKey)
	return err
}
