package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/otto-automation/otto/internal/serve/api"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
	"github.com/otto-automation/otto/internal/serve/store"
	"github.com/otto-automation/otto/internal/version"
)

// SocketName is the unix socket in the data directory on which a running
// server answers "otto server backup" (mode 0600: its owner only).
const SocketName = "otto.sock"

// defaultMemoryLimit is the soft memory limit of the server's Go runtime
// when GOMEMLIMIT does not set one. It is no hard cap: a live heap above it
// costs GC time, not failures. The fleet keeps what it holds for runs in
// flight to a few tens of MiB (frame and live-output budgets), so the heap
// of a busy server stays under it with its RSS under 150 MiB.
const defaultMemoryLimit = 100 << 20

// shutdownGrace is how long in-flight requests get to finish at shutdown.
const shutdownGrace = 10 * time.Second

// newLogger returns the server's logger: text lines on w.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// run serves until ctx ends, then shuts down: stop accepting, let
// in-flight requests finish (up to shutdownGrace), close the store. It is
// the server's one way out; its error is the process's.
func run(ctx context.Context, cfg Config, stdout, stderr io.Writer) (err error) {
	log := newLogger(stderr, cfg.Verbose)
	if os.Getenv("GOMEMLIMIT") == "" {
		// Scrypt's 32 MiB per derived key and the whole-output snapshots
		// of protocol 2 are short-lived garbage; by default the GC lets
		// the heap grow to twice what is live before collecting it. A
		// soft limit has it collected, and returned, sooner.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	st, err := store.Open(cfg.DataDir, store.Options{Logger: log})
	if errors.Is(err, domain.ErrInUse) {
		return fmt.Errorf("data directory %s is in use by another otto server; stop it first, or use another --data-dir", cfg.DataDir)
	}
	if err != nil {
		return fmt.Errorf("opening the data directory %s: %w", cfg.DataDir, err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}()

	// Each argon2id hash holds 19 MiB: one per CPU at a time, for logins
	// and user changes alike.
	passwords := auth.NewBounded(auth.DefaultArgon2id, runtime.GOMAXPROCS(0))
	svc := &domain.Service{Store: st, Passwords: passwords, Log: log}
	if err := prepare(ctx, svc, cfg, log); err != nil {
		return err
	}
	ln, scheme, err := listen(cfg)
	if err != nil {
		return err
	}
	serverURL := scheme + "://" + ln.Addr().String()
	fcfg := fleet.Config{Store: st, Logger: log, Version: version.Version, ServerURL: func() string { return serverURL }}
	setFleetKnobs(&fcfg, log)
	fl, err := fleet.New(ctx, fcfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("starting the connection to clients: %w", err)
	}
	fleetCtx, stopFleet := context.WithCancel(ctx)
	fleetDone := make(chan struct{})
	go func() {
		defer close(fleetDone)
		_ = fl.Run(fleetCtx)
	}()
	apiSrv := api.New(api.Config{Service: svc, Fleet: fl, Auth: auth.New(svc, log, nil), Log: log,
		Version: version.Version, TLS: cfg.TLSCert != ""})
	httpSrv := &http.Server{
		Handler:           apiSrv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 2)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(),
		"data_dir", cfg.DataDir, "version", version.Version)

	sockSrv := &http.Server{Handler: apiSrv.BackupHandler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	sock, err := listenSocket(filepath.Join(cfg.DataDir, SocketName))
	if err != nil {
		log.Warn("no backup socket: \"otto server backup\" will not reach this server; use GET /api/backup", "err", err)
	} else {
		go func() { errc <- sockSrv.Serve(sock) }()
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", shutdownGrace)
	case err = <-errc:
		err = fmt.Errorf("serving: %w", err)
		log.Error("server failed; shutting down", "err", err)
	}
	// Stop the background loop, then end the runs in flight (their
	// results are stored, and their live streams end), then the requests.
	stopFleet()
	<-fleetDone
	_ = fl.Close()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if serr := httpSrv.Shutdown(sctx); serr != nil {
		log.Warn("requests still running at the end of the grace period were cut off", "err", serr)
		_ = httpSrv.Close()
	}
	if sock != nil {
		_ = sockSrv.Shutdown(sctx)
		_ = os.Remove(filepath.Join(cfg.DataDir, SocketName))
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// prepare readies the store for serving: first-start records, a
// ServerStarted event, and clean-up of what a crash can leave behind
// (expired sessions, attachment data no record names).
func prepare(ctx context.Context, svc *domain.Service, cfg Config, log *slog.Logger) error {
	password, mustChange := cfg.AdminPassword, false
	if password == "" {
		password, mustChange = auth.NewToken().Reveal()[:20], true
	}
	created, err := svc.Bootstrap(ctx, password, mustChange)
	if err != nil {
		return fmt.Errorf("preparing the store: %w", err)
	}
	switch {
	case created && mustChange:
		// The one place a secret is logged, on purpose: nobody else can
		// know it. It works once: the first login must change it.
		log.Warn("first start: created the user admin with this one-time password; log in and change it now, it is not shown again",
			"username", "admin", "password", password)
	case created:
		log.Info("first start: created the user admin with the password from OTTO_ADMIN_PASSWORD", "username", "admin")
	}
	now := time.Now()
	err = svc.Store.Update(ctx, func(tx domain.Tx) error {
		return tx.DeleteSessions(func(s domain.Session) bool { return !s.Expires.After(now) })
	})
	if err != nil {
		return fmt.Errorf("removing expired sessions: %w", err)
	}
	atts, err := svc.Attachments(ctx)
	if err != nil {
		return err
	}
	keep := make(map[string]bool, len(atts))
	for _, a := range atts {
		keep[a.BlobKey] = true
	}
	if err := svc.Store.GCBlobs(ctx, func(k string) bool { return keep[k] }); err != nil {
		log.Warn("removing unused attachment data failed", "err", err)
	}
	return svc.Event(ctx, "", domain.EventServerStarted, map[string]string{"Version": version.Version, "Listen": cfg.Listen})
}

// listen opens the API's listener, with TLS when configured.
func listen(cfg Config) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	if cfg.TLSCert == "" {
		return ln, "http", nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("loading the TLS certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return tls.NewListener(ln, tc), "https", nil
}

// listenSocket opens the backup socket, replacing one a crashed server
// left (the store's lock proves no other server uses this directory).
func listenSocket(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
