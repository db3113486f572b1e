package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/sysinfo"
	"github.com/otto-automation/otto/internal/version"
	"github.com/otto-automation/otto/internal/wire"
)

// Environment twins of the flags, for service files.
const (
	envConfig  = "OTTO_CLIENT_CONFIG"
	envVerbose = "OTTO_CLIENT_VERBOSE"
)

// rootConfigPath is the default config file when the client runs as root.
const rootConfigPath = "/etc/otto/client.toml"

// Command returns the client role: "otto client" runs the daemon, "otto
// client setup" writes a config interactively, "otto client info" prints
// what the server will see of this host.
func Command() *cli.Command {
	defaultConfig := configNameNoRoot
	if os.Geteuid() == 0 {
		defaultConfig = rootConfigPath
	}
	configBase := func() string {
		if v := os.Getenv(envConfig); v != "" {
			return v
		}
		return defaultConfig
	}
	configFlag := func() cli.Flag {
		return &cli.StringFlag{
			Name:      "config",
			Usage:     "the TOML config file",
			Value:     defaultConfig,
			EnvVars:   []string{envConfig},
			TakesFile: true,
		}
	}
	return &cli.Command{
		Name:      "client",
		Usage:     "the otto client: the agent that runs scripts on this host",
		UsageText: "otto client [--config FILE] [--verbose]\notto client setup [--config FILE]\notto client info",
		Description: "Runs the agent: it listens for an otto server (protocol 2) and runs the scripts it sends.\n\n" +
			"Configure it with \"otto client setup\", a TOML file (see docs/client.md), or by self-registration:\n" +
			"with no config file and REGISTER_HOST and REGISTER_KEY set, it registers with the server, writes\n" +
			"the config, runs the server's first-run scripts and exits (REGISTER_NO_TLS_VERIFY=1 skips the\n" +
			"certificate check, OTTO_CLIENT_PORT sets the port, REGISTER_DONT_EXIT_ON_FINISH=1 keeps it running).\n" +
			"Without a TOML file, a 0.x otto_client.conf in the working directory is upgraded to otto_client.toml.\n\n" +
			"EXIT STATUS\n" +
			"   0   stopped by a signal or by the server's Exit action, or registered\n" +
			"   1   an error: a bad config, the port taken, registration refused\n" +
			fmt.Sprintf("   %d  the server uploaded a file (a new binary) and asked for a restart", ExitRestart),
		Flags: []cli.Flag{
			configFlag(),
			&cli.BoolFlag{Name: "verbose", Usage: "log debug messages too", EnvVars: []string{envVerbose}},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("client: unknown command %q; see \"otto client --help\"", c.Args().First()), 2)
			}
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			opts := options{
				configPath: c.String("config"),
				verbose:    c.Bool("verbose"),
				workDir:    wd,
				getenv:     os.Getenv,
				reload:     hup,
			}
			return run(ctx, opts, c.App.Writer, c.App.ErrWriter)
		},
		Subcommands: []*cli.Command{
			{
				Name:      "setup",
				Usage:     "ask for the listen address, PSK and allowed networks, and write the config",
				UsageText: "otto client setup [--config FILE]",
				Flags:     []cli.Flag{configFlag()},
				Action: func(c *cli.Context) error {
					return runSetup(subcommandConfig(c, configBase()), os.Stdin, c.App.Writer)
				},
			},
			{
				Name:  "info",
				Usage: "print the version, the protocol version and the host properties a server sees",
				Action: func(c *cli.Context) error {
					return runInfo(c.App.Writer)
				},
			},
		},
	}
}

// subcommandConfig returns the --config of a subcommand of "otto client":
// the one given after the subcommand, else the one given before it, else
// base (from the environment or the default). A value other than base was
// given on the command line.
func subcommandConfig(c *cli.Context, base string) string {
	if v := c.String("config"); v != base {
		return v
	}
	if l := c.Lineage(); len(l) > 1 {
		if v := l[1].String("config"); v != "" {
			return v
		}
	}
	return base
}

// options are the daemon's settings from the command line and environment.
type options struct {
	configPath string
	verbose    bool
	workDir    string              // where a 0.x otto_client.conf would be
	getenv     func(string) string // the environment, for self-registration (and a test build's knobs)
	reload     <-chan os.Signal    // SIGHUP: reload the config
}

// exitStatus is a daemon exit with a status other than 0 or 1.
type exitStatus int

func (e exitStatus) Error() string {
	return fmt.Sprintf("client: exiting with status %d so that the supervisor starts the client again", int(e))
}

// ExitCode makes exitStatus a cli.ExitCoder.
func (e exitStatus) ExitCode() int { return int(e) }

// run is the client daemon from start to exit: the config (or registration),
// the log, then serving until ctx is done or the server asks it to exit.
func run(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	cfg, path, migrated, err := loadConfig(opts.configPath, opts.workDir)
	if errors.Is(err, ErrNoConfig) {
		reg, rerr := registrationFromEnv(opts.getenv)
		if rerr != nil {
			return rerr
		}
		if reg == nil {
			return fmt.Errorf(`%w; run "otto client setup", or set REGISTER_HOST and REGISTER_KEY to register with a server`, err)
		}
		log, _, _ := newLogger("", stderr, opts.verbose)
		if err := selfRegister(ctx, log, reg, opts.configPath, stdout); err != nil {
			return err
		}
		if !reg.dontExit {
			return nil
		}
		cfg, path, migrated, err = loadConfig(opts.configPath, opts.workDir)
	}
	if err != nil {
		return err
	}

	log, closer, err := newLogger(cfg.LogPath, stderr, opts.verbose)
	if err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	defer closer.Close()
	if migrated != "" {
		log.Info("upgraded the 0.x config", "from", migrated, "to", path)
	}
	log.Info("starting", "version", version.Version, "protocol", wire.ProtocolVersion, "pid", os.Getpid(), "uid", os.Geteuid())
	prepareKey(cfg.PSK)

	d := newDaemon(log, path, cfg)
	d.reloadSignal = opts.reload
	d.knobs = knobsFromEnv(opts.getenv)
	status, err := d.serve(ctx)
	if err != nil {
		log.Error("stopped", attrErr(err))
		return err
	}
	log.Info("stopped", keyCode, status)
	if status != 0 {
		return exitStatus(status)
	}
	return nil
}

// runInfo prints what "otto client info" shows: the version, the protocol
// and the five properties exactly as a heartbeat carries them.
func runInfo(w io.Writer) error {
	props, err := sysinfo.Properties()
	fmt.Fprintf(w, "version: %s\nprotocol: %d\n", version.Version, wire.ProtocolVersion)
	for _, k := range []string{sysinfo.KeyHostname, sysinfo.KeyKernelName, sysinfo.KeyKernelVersion, sysinfo.KeyDistributionName, sysinfo.KeyDistributionVersion} {
		fmt.Fprintf(w, "%s: %s\n", k, props[k])
	}
	if err != nil {
		return fmt.Errorf("reading host properties: %w", err)
	}
	return nil
}
