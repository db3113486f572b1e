package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
)

func newLoginCommand() *cli.Command {
	return &cli.Command{
		Name:  "login",
		Usage: "log in with your password and save an API key for ottoctl",
		Description: describe("Asks for your password (on the terminal without echo, or one line from stdin), logs\n"+
			"in, issues a new API key for you and saves the URL, your username and the key in the\n"+
			"config file (~/.config/otto/ctl.toml, mode 0600). Your previous API key stops working.\n"+
			"The URL and username come from the flags, the OTTO_* variables or the config file, or\n"+
			"are asked for. A password that must be changed first is changed here, on a terminal.",
			[]string{"ottoctl login --url https://otto.example.com --username admin",
				"printf '%s\\n' \"$PASSWORD\" | ottoctl login --url http://127.0.0.1:8080 --username admin"}, ""),
		Flags: without(connectionFlags(false), "api-key"),
		Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
			if err := needArgs(c, args, 0, 0); err != nil {
				return err
			}
			return runLogin(ctx, g, c.App.Writer, c.App.ErrWriter)
		}),
	}
}

// without returns flags without the one named name.
func without(flags []cli.Flag, name string) []cli.Flag {
	var out []cli.Flag
	for _, f := range flags {
		if f.Names()[0] != name {
			out = append(out, f)
		}
	}
	return out
}

// loginResult is what login --json prints; never the key.
type loginResult struct {
	URL        string
	Username   string
	ConfigFile string
}

func runLogin(ctx context.Context, g *globals, out, errOut io.Writer) error {
	cf, path, err := g.config()
	if err != nil {
		return err
	}
	g.flags.APIKey = ptr("") // login uses a password, never a stored key
	s, err := resolveSettings(g.flags, g.getenv, cf)
	if err != nil {
		return err
	}
	_, tty := terminal(g.stdin)
	if s.URL == "" {
		if !tty {
			return usagef("no server URL: pass --url or set %s (stdin is not a terminal to ask on)", envURL)
		}
		u, err := askLine(ctx, g.stdin, errOut, "Server URL (like https://otto.example.com): ")
		if err != nil {
			return err
		}
		if u == "" {
			return usagef("no server URL: pass --url or set %s", envURL)
		}
		g.flags.URL = &u
		if s, err = resolveSettings(g.flags, g.getenv, cf); err != nil {
			return err
		}
	}
	if s.Username == "" {
		if !tty {
			return usagef("no username: pass --username or set %s (stdin is not a terminal to ask on)", envUsername)
		}
		if s.Username, err = askLine(ctx, g.stdin, errOut, "Username: "); err != nil {
			return err
		}
		if s.Username == "" {
			return usagef("no username: pass --username or set %s", envUsername)
		}
	}
	password, err := askPassword(ctx, g.stdin, errOut, fmt.Sprintf("Password for %s at %s: ", s.Username, s.URL), false)
	if err != nil {
		return err
	}
	cl, err := newClient(s, 0)
	if err != nil {
		return err
	}
	mustChange, err := cl.Login(ctx, s.Username, password)
	if err != nil {
		return err
	}
	if mustChange {
		if password, err = changePassword(ctx, cl, g, errOut, s.Username, password); err != nil {
			return err
		}
		if _, err := cl.Login(ctx, s.Username, password); err != nil {
			return err
		}
	}
	key, err := cl.NewAPIKey(ctx, s.Username)
	if err != nil {
		return fmt.Errorf("logged in, but issuing an API key failed: %w", err)
	}
	_ = cl.Logout(ctx) // the key is what ottoctl keeps
	cf = configFile{URL: s.URL, Username: s.Username, APIKey: key, Insecure: s.Insecure}
	if err := saveConfig(path, cf); err != nil {
		return err
	}
	res := loginResult{URL: s.URL, Username: s.Username, ConfigFile: path}
	switch {
	case g.json:
		return writeJSON(out, res)
	case g.quiet:
		return nil
	}
	_, err = fmt.Fprintf(out, "logged in to %s as %s; the new API key is saved in %s\n", s.URL, s.Username, path)
	return err
}

// changePassword is the way out of a login whose password must change:
// on a terminal it asks for a new one and sets it.
func changePassword(ctx context.Context, cl *apiclient.Client, g *globals, errOut io.Writer, user, old string) (string, error) {
	if _, ok := terminal(g.stdin); !ok {
		return "", fmt.Errorf("the server wants a new password for %s first: log in to the web UI (or run \"ottoctl login\" on a terminal) to set it, then log in again", user)
	}
	fmt.Fprintf(errOut, "The server asks you to choose a new password for %s.\n", user)
	p, err := askPassword(ctx, g.stdin, errOut, "New password: ", true)
	if err != nil {
		return "", err
	}
	if err := cl.ResetPassword(ctx, old, p); err != nil {
		return "", err
	}
	return p, nil
}
