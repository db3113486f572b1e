package client

import (
	"context"
	"errors"
	"log/slog"
	"net"
)

// ServeOptions are how Serve runs a client daemon inside another program.
type ServeOptions struct {
	// ConfigPath is the client's TOML config file (see docs/client.md). It
	// is read at the start; PSK updates are written to it and reloads read
	// it, as with "otto client --config". Its listen_addr is not used:
	// Serve's listener is. Required.
	ConfigPath string

	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger

	// knobs are the test and benchmark knobs, which only a build with
	// -tags ottotest has (see DeriveKeyPerFrame in knobs_ottotest.go).
	knobs knobs
}

// Serve runs a real client daemon on ln, which it closes, until ctx ends or
// the server asks it to exit (Exit, UploadFileAndExit), and returns the
// exit status "otto client" would exit with (0, or ExitRestart). It is
// what "otto client" does after its start-up, without the signals, the
// log file and self-registration, so that a program (otto-bench) can run
// many clients in one process, each on its own listener with its own
// config and PSK.
//
// Serve does not derive the PSK's key up front as "otto client" does; the
// caller may call wire.KeyFor with the PSK first, so that the first
// request does not wait for it.
func Serve(ctx context.Context, ln net.Listener, opts ServeOptions) (int, error) {
	if opts.ConfigPath == "" {
		ln.Close()
		return 1, errors.New("client: Serve needs ServeOptions.ConfigPath")
	}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		ln.Close()
		return 1, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := newDaemon(log, opts.ConfigPath, cfg)
	d.knobs = opts.knobs
	return d.serveOn(ctx, ln)
}
