package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// Errors of the Service.
var (
	// ErrClosed means the Service was closed.
	ErrClosed = errors.New("fleet: service closed")
	// ErrScriptDisabled means a run of a disabled script was asked for.
	ErrScriptDisabled = errors.New("fleet: script is disabled")
	// ErrNoTargets means a run request names no enabled host.
	ErrNoTargets = errors.New("fleet: no enabled host to run on")
	// ErrUnknownAction means Action got a name it does not know.
	ErrUnknownAction = errors.New("fleet: unknown action")
	// ErrRunNotActive means Cancel named a run that is not pending or
	// running in this server.
	ErrRunNotActive = errors.New("fleet: run is not running")
)

// Leader says which hosts this server looks after in the background
// (heartbeat sweeps, automatic PSK rotation). A server alone owns every
// host; servers sharing one database will divide the hosts through leases
// held there, each answering Owns from its current leases.
type Leader interface {
	Owns(hostID string) bool
}

// AllHosts is the Leader of a server that works alone.
type AllHosts struct{}

// Owns reports true: a lone server owns every host.
func (AllHosts) Owns(string) bool { return true }

// Config holds what a Service is made with.
type Config struct {
	Store  domain.Store
	Logger *slog.Logger // nil discards
	// Clock gives the time stamped on statuses and runs; nil means
	// time.Now. Deadlines on connections always use the real clock.
	Clock domain.Clock
	// Version is the server's version: sent in heartbeats and set as
	// OTTO_SERVER_VERSION.
	Version string
	// ServerURL gives OTTO_SERVER_URL when Options.General.ServerURL is
	// empty (for example from the address the server listens on). Nil
	// means "".
	ServerURL func() string
	// Leader picks the hosts whose background work is this server's; nil
	// means AllHosts.
	Leader Leader

	// knobs are the benchmark knobs, which only a build with -tags
	// ottotest has (see DeriveKeyPerFrame in knobs_ottotest.go).
	knobs knobs
}

// Service is the server's side of talking to clients: heartbeats, PSK
// rotation, runs with live output and the one-off actions. Its methods are
// safe for concurrent use. Start it with New, run its background loop with
// Run, and stop it with Close.
type Service struct {
	store     domain.Store
	log       *slog.Logger
	now       domain.Clock
	version   string
	serverURL func() string
	leader    Leader
	knobs     knobs
	frames    *budget // shared by every exchange's large frames

	locks   hostLocks
	broker  *broker
	results *batcher[runRecord]

	// base is the context of background runs; Close cancels it.
	base context.Context
	stop context.CancelFunc

	mu        sync.Mutex // guards closed and runs' Add against Close's Wait
	closed    bool
	runs      sync.WaitGroup
	lastPrune time.Time
}

// New returns a Service over cfg.Store. It first marks the runs that a
// previous server left pending or running (it stopped or crashed during
// them) as failed, so that no run stays "running" forever.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("fleet: no store")
	}
	s := &Service{
		store:     cfg.Store,
		log:       cfg.Logger,
		now:       cfg.Clock,
		version:   cfg.Version,
		serverURL: cfg.ServerURL,
		leader:    cfg.Leader,
		knobs:     cfg.knobs,
		frames:    newBudget(frameBudget),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.broker = newBroker(func(id string) (domain.Run, error) { return s.storedRun(context.Background(), id) })
	if s.now == nil {
		s.now = time.Now
	}
	if s.serverURL == nil {
		s.serverURL = func() string { return "" }
	}
	if s.leader == nil {
		s.leader = AllHosts{}
	}
	if err := s.recoverRuns(ctx); err != nil {
		return nil, err
	}
	s.base, s.stop = context.WithCancel(context.Background())
	s.results = newSizedBatcher(s.flushRuns, func(r runRecord) int { return len(r.run.Stdout) + len(r.run.Stderr) })
	return s, nil
}

// Close cancels the runs in flight (each client is sent a CancelAction),
// waits until their results are stored (as failed: "server stopped during
// the run"), and stops the Service. It returns within about CancelGrace
// plus the network timeout. End Run's context first, and close the store
// only after Close returned.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.runs.Wait()
	s.results.close()
	return nil
}

// pruneEvery is how often Run applies the run history's retention.
const pruneEvery = time.Hour

// Run is the background loop: a heartbeat sweep every
// Options.Network.HeartbeatFrequency minutes (re-read before each wait),
// rotating the PSKs that are due on the way, and the run history's
// retention every hour. It returns nil when ctx ends. Call it once.
func (s *Service) Run(ctx context.Context) error {
	for {
		if res, err := s.Sweep(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("heartbeat sweep failed", "err", err)
		} else {
			s.log.Info("heartbeat sweep done", "hosts", res.Hosts, "reachable", res.Reachable,
				"rotated", res.Rotated, "duration", res.Duration)
		}
		if time.Since(s.lastPrune) >= pruneEvery {
			if n, err := s.Prune(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Error("run history retention failed", "err", err)
			} else {
				s.lastPrune = time.Now()
				if n > 0 {
					s.log.Info("run history pruned", "runs", n)
				}
			}
		}
		every := 5 * time.Minute
		if o, err := s.options(ctx); err == nil && o.Network.HeartbeatFrequency > 0 {
			every = time.Duration(o.Network.HeartbeatFrequency) * time.Minute
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// options reads the current options, with defaults for unset numbers.
func (s *Service) options(ctx context.Context) (domain.Options, error) {
	var o domain.Options
	err := s.store.View(ctx, func(tx domain.Tx) error {
		var err error
		o, err = tx.Options()
		return err
	})
	if err != nil {
		return o, fmt.Errorf("fleet: reading options: %w", err)
	}
	return withDefaults(o), nil
}

// withDefaults fills the numbers of o that are unset (zero or less) with
// those of domain.DefaultOptions.
func withDefaults(o domain.Options) domain.Options {
	def := domain.DefaultOptions()
	if o.Network.Timeout <= 0 {
		o.Network.Timeout = def.Network.Timeout
	}
	if o.Network.HeartbeatFrequency <= 0 {
		o.Network.HeartbeatFrequency = def.Network.HeartbeatFrequency
	}
	if o.Network.MaxParallel <= 0 {
		o.Network.MaxParallel = DefaultMaxParallel
	}
	if o.Runs.OutputMaxBytes <= 0 {
		o.Runs.OutputMaxBytes = def.Runs.OutputMaxBytes
	}
	if o.Security.RotatePSK.FrequencyDays <= 0 {
		o.Security.RotatePSK.FrequencyDays = def.Security.RotatePSK.FrequencyDays
	}
	return o
}

// url is the OTTO_SERVER_URL of a run.
func (s *Service) url(o domain.Options) string {
	if o.General.ServerURL != "" {
		return o.General.ServerURL
	}
	return s.serverURL()
}

// dialer returns the Dialer for the network options o.
func (s *Service) dialer(o domain.NetworkOptions) Dialer {
	d := NewDialer(o)
	d.knobs = s.knobs
	d.frames = s.frames
	return d
}

// target is where host h listens, with psk.
func target(h domain.Host, psk string) Target {
	port := h.Port
	if port == 0 {
		port = domain.DefaultClientPort
	}
	return Target{Address: h.Address, Port: port, PSK: psk}
}

// hostAttrs are the log attributes of a host; never its PSKs.
func hostAttrs(h domain.Host) slog.Attr {
	return slog.Group("host", "id", h.ID, "name", h.Name, "address", h.Address, "port", h.Port)
}

// retryUpdate runs one store Update, retrying a failed commit a few times:
// the results it carries exist nowhere else. An error fn returns itself is
// its decision, returned at once. It ignores ctx's cancellation, so
// that a result is stored even while the server stops.
func (s *Service) retryUpdate(ctx context.Context, what string, fn func(tx domain.Tx) error) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	for attempt, wait := 0, 50*time.Millisecond; attempt < 4; attempt, wait = attempt+1, wait*4 {
		if attempt > 0 {
			time.Sleep(wait)
		}
		var fnErr error
		err = s.store.Update(ctx, func(tx domain.Tx) error {
			fnErr = fn(tx)
			return fnErr
		})
		if fnErr != nil {
			return err // fn's own answer (a record gone, keys changed): no retry
		}
		if err == nil || errors.Is(err, domain.ErrStoreClosed) {
			break
		}
		s.log.Warn("store update failed, retrying", "what", what, "attempt", attempt+1, "err", err)
	}
	if err != nil {
		s.log.Error("store update failed", "what", what, "err", err)
	}
	return err
}
