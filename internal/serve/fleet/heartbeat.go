package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// SweepResult summarizes one heartbeat sweep.
type SweepResult struct {
	Hosts     int // hosts contacted
	Reachable int // hosts that answered
	Rotated   int // PSKs rotated on the way
	Duration  time.Duration
}

// Sweep sends a heartbeat to every enabled host this server owns (see
// Leader), through a pool of Options.Network.MaxParallel workers, and
// records each host's status; statuses reach the store in batches. A host
// that answers and whose PSK is due for rotation (Options.Security.RotatePSK,
// or Host.RotateOnContact) gets a new PSK right after, unless a run holds
// the host: then the next sweep tries again.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	start := time.Now()
	var (
		opts  domain.Options
		hosts []domain.Host
	)
	err := s.store.View(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		opts = withDefaults(o)
		all, err := tx.Hosts()
		for _, h := range all {
			if h.Enabled && s.leader.Owns(h.ID) {
				hosts = append(hosts, h)
			}
		}
		return err
	})
	if err != nil {
		return SweepResult{}, fmt.Errorf("fleet: sweep: %w", err)
	}

	d := s.dialer(opts.Network)
	statuses := newBatcher(func(b []domain.HostStatus) { s.flushStatuses(ctx, b) })
	var reachable, rotated atomic.Int64
	fanOut(ctx, opts.Network.MaxParallel, hosts, func(ctx context.Context, h domain.Host) {
		if ctx.Err() != nil {
			return // the server stops: keep the last known status
		}
		st, err := s.heartbeatHost(ctx, d, &h)
		if ctx.Err() != nil {
			return // cut short by the stop, which says nothing about the host
		}
		statuses.add(st)
		if err != nil {
			return
		}
		reachable.Add(1)
		if rotationDue(opts, h, s.now()) {
			if unlock, ok := s.locks.tryLock(h.ID); ok {
				_, err := s.rotate(ctx, d, h)
				unlock()
				if err == nil {
					rotated.Add(1)
				}
			}
		}
	})
	statuses.close()
	res := SweepResult{Hosts: len(hosts), Reachable: int(reachable.Load()), Rotated: int(rotated.Load()), Duration: time.Since(start)}
	return res, ctx.Err()
}

// Heartbeat contacts one host now (enabled or not), stores and returns its
// status, and rotates its PSK if that is due. A host that cannot be
// reached is not an error: the status says so, with the reason in Error.
func (s *Service) Heartbeat(ctx context.Context, hostID string) (domain.HostStatus, error) {
	var (
		opts domain.Options
		h    domain.Host
	)
	err := s.store.View(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		opts = withDefaults(o)
		h, err = tx.Host(hostID)
		return err
	})
	if err != nil {
		return domain.HostStatus{}, fmt.Errorf("fleet: heartbeat of host %s: %w", hostID, err)
	}
	d := s.dialer(opts.Network)
	st, hbErr := s.heartbeatHost(ctx, d, &h)
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	var stored domain.HostStatus
	err = s.retryUpdate(ctx, "host status", func(tx domain.Tx) error {
		var err error
		stored, err = mergeStatus(tx, st)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("fleet: storing status of host %s: %w", hostID, err)
	}
	if hbErr == nil && rotationDue(opts, h, s.now()) {
		if unlock, ok := s.locks.tryLock(h.ID); ok {
			s.rotate(ctx, d, h) // logged; the status is what the caller asked for
			unlock()
		}
	}
	return stored, nil
}

// heartbeatHost sends one heartbeat to h under its shared lock, trying a
// pending PSK if h has one (and updating *h if that settles it), and
// returns the status to record. The status of a failed heartbeat carries
// only what changed: IsReachable, LastAttempt and Error; mergeStatus keeps
// the rest of the previous one.
func (s *Service) heartbeatHost(ctx context.Context, d Dialer, h *domain.Host) (domain.HostStatus, error) {
	st := domain.HostStatus{HostID: h.ID, Address: h.Address, LastAttempt: s.now()}
	unlock, err := s.locks.rlock(ctx, h.ID)
	if err != nil {
		st.Error = Reason(err)
		return st, err
	}
	defer unlock()
	resp, err := s.heartbeatWithKeys(ctx, d, h)
	if err != nil {
		st.Error = Reason(err)
		s.log.Debug("heartbeat failed", hostAttrs(*h), "err", err)
		return st, err
	}
	st.IsReachable = true
	st.LastReply = s.now()
	st.Version = resp.ClientVersion
	st.Properties = resp.Properties
	return st, nil
}

// heartbeatWithKeys sends a heartbeat to h with its PSK or, when h has a
// pending PSK, with the pending one first and then the current one, and
// records which of the two the client holds (see settle): the pending PSK
// becomes the PSK when it works, and is dropped when the current one works
// and the pending one was sent more than pendingGrace ago. The caller holds
// h's lock, shared or exclusive.
func (s *Service) heartbeatWithKeys(ctx context.Context, d Dialer, h *domain.Host) (wire.MessageHeartbeatResponse, error) {
	if h.PendingPSK == "" {
		return d.Heartbeat(ctx, target(*h, h.PSK), s.version)
	}
	resp, err := d.Heartbeat(ctx, target(*h, h.PendingPSK), s.version)
	if err == nil {
		s.settle(ctx, h, true)
		return resp, nil
	}
	if !keyRejected(err) {
		return resp, err // nothing learned about the keys
	}
	resp, err = d.Heartbeat(ctx, target(*h, h.PSK), s.version)
	if err != nil {
		return resp, err
	}
	if h.PendingSince == nil || s.now().Sub(*h.PendingSince) >= pendingGrace {
		s.settle(ctx, h, false)
	}
	return resp, nil
}

// settle records which key a client with a pending PSK accepted: with
// pendingWorks the pending PSK becomes the PSK (the client stored it but
// its acknowledgement was lost), otherwise the pending PSK is dropped (the
// client never stored it). It changes the store only if the host's keys are
// still those in *h, and updates *h.
func (s *Service) settle(ctx context.Context, h *domain.Host, pendingWorks bool) {
	now := s.now()
	err := s.retryUpdate(ctx, "host psk", func(tx domain.Tx) error {
		cur, err := tx.Host(h.ID)
		if err != nil {
			return err
		}
		if cur.PSK != h.PSK || cur.PendingPSK != h.PendingPSK {
			return errKeysChanged
		}
		if pendingWorks {
			cur.PSK, cur.LastPSKRotate, cur.RotateOnContact = cur.PendingPSK, now, false
		}
		cur.PendingPSK, cur.PendingSince = "", nil
		if err := tx.PutHost(&cur); err != nil {
			return err
		}
		*h = cur
		return nil
	})
	switch {
	case errors.Is(err, errKeysChanged):
		// Someone edited the host meanwhile; their keys stand.
	case err != nil:
		s.log.Error("settling a pending PSK failed", hostAttrs(*h), "err", err)
	case pendingWorks:
		s.log.Info("pending PSK confirmed: the client had stored it", hostAttrs(*h))
	default:
		s.log.Info("pending PSK dropped: the client still uses the current one", hostAttrs(*h))
	}
}

var errKeysChanged = errors.New("fleet: host keys changed meanwhile")

// pendingGrace is how long after sending a new PSK the server keeps it
// pending even though the client still answers to the current one: a
// client whose acknowledgement was lost may still be deriving the new key
// and writing its config (seconds on a small host), and dropping the
// pending PSK then would strand it once it switches. Past the grace, a
// client that answers to the current PSK never stored the new one.
const pendingGrace = 2 * time.Minute

// flushStatuses stores a batch of heartbeat results in one transaction.
func (s *Service) flushStatuses(ctx context.Context, batch []domain.HostStatus) {
	s.retryUpdate(ctx, "host statuses", func(tx domain.Tx) error {
		for _, st := range batch {
			if _, err := mergeStatus(tx, st); err != nil && !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

// mergeStatus stores st over the host's previous status: a failed attempt
// keeps the last reply's time, version and properties. A host deleted
// meanwhile is ErrNotFound.
func mergeStatus(tx domain.Tx, st domain.HostStatus) (domain.HostStatus, error) {
	if _, err := tx.Host(st.HostID); err != nil {
		return st, err
	}
	if !st.IsReachable {
		prev, err := tx.HostStatus(st.HostID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return st, err
		}
		st.LastReply, st.Version, st.Properties = prev.LastReply, prev.Version, maps.Clone(prev.Properties)
	}
	return st, tx.PutHostStatus(st)
}
