package serve

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Command is the "otto server" command.
func Command() *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "the otto server: hosts, scripts, schedules, web UI and REST API",
		Description: "Serves the REST API on --listen and keeps everything in --data-dir. On the first start\n" +
			"it creates the group \"Otto Clients\" and the user admin, whose password is OTTO_ADMIN_PASSWORD\n" +
			"or, without it, a random one printed once to the log. See docs/server.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: DefaultDataDir, EnvVars: []string{"OTTO_DATA_DIR"}, Usage: "the directory of the database and attachments"},
			&cli.StringFlag{Name: "listen", Value: DefaultListen, EnvVars: []string{"OTTO_LISTEN"}, Usage: "the address to serve on (port 0 picks a free port)"},
			&cli.StringFlag{Name: "config", EnvVars: []string{"OTTO_CONFIG"}, TakesFile: true, Usage: "a TOML file with the settings (flags override it)"},
			&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"OTTO_TLS_CERT"}, TakesFile: true, Usage: "PEM certificate chain; with --tls-key, serve HTTPS"},
			&cli.StringFlag{Name: "tls-key", EnvVars: []string{"OTTO_TLS_KEY"}, TakesFile: true, Usage: "PEM private key of --tls-cert"},
			&cli.BoolFlag{Name: "verbose", EnvVars: []string{"OTTO_VERBOSE"}, Usage: "log every request (debug level)"},
			&cli.BoolFlag{Name: "no-scheduler", EnvVars: []string{"OTTO_NO_SCHEDULER"}, Usage: "do not run schedules (another server does)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("otto server takes no arguments; did you mean \"otto server backup FILE\"?", 2)
			}
			cfg, err := configFrom(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, cfg, c.App.Writer, c.App.ErrWriter)
		},
		Subcommands: []*cli.Command{backupCommand(), importCommand()},
	}
}

// configFrom builds the configuration: defaults, config file, then the
// flags that were set (on the command line or through their variables).
func configFrom(c *cli.Context) (Config, error) {
	cfg := DefaultConfig()
	if path := c.String("config"); path != "" {
		var err error
		if cfg, err = LoadConfig(path, cfg); err != nil {
			return cfg, err
		}
	}
	for _, f := range []struct {
		flag string
		dst  *string
	}{{"data-dir", &cfg.DataDir}, {"listen", &cfg.Listen}, {"tls-cert", &cfg.TLSCert}, {"tls-key", &cfg.TLSKey}} {
		if c.IsSet(f.flag) {
			*f.dst = c.String(f.flag)
		}
	}
	if c.IsSet("verbose") {
		cfg.Verbose = c.Bool("verbose")
	}
	if c.IsSet("no-scheduler") {
		cfg.NoScheduler = c.Bool("no-scheduler")
	}
	cfg.AdminPassword = os.Getenv("OTTO_ADMIN_PASSWORD")
	return cfg, cfg.check()
}
