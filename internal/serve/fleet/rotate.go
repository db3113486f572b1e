package fleet

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/wire"
)

// ErrRotationUnconfirmed means a PSK rotation could not be confirmed: the
// new PSK was sent but neither key works now (the host went away), so it
// stays pending and the next contact settles it.
var ErrRotationUnconfirmed = errors.New("fleet: the client did not confirm the new PSK; it stays pending until the next contact")

// ErrRotationRefused means the client refused the new PSK (for example it
// cannot write its config file) and keeps the current one.
var ErrRotationRefused = errors.New("fleet: the client refused the new PSK")

// NewPSK returns a fresh random PSK: 32 bytes from crypto/rand, base64url.
func NewPSK() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// rotationDue reports whether the sweep should rotate h's PSK: rotation is
// enabled and h asked for it at its first contact (a host a user added by
// hand) or its last rotation is FrequencyDays old.
func rotationDue(o domain.Options, h domain.Host, now time.Time) bool {
	r := o.Security.RotatePSK
	if !r.Enabled {
		return false
	}
	return h.RotateOnContact || now.Sub(h.LastPSKRotate) >= time.Duration(r.FrequencyDays)*24*time.Hour
}

// RotatePSK gives host hostID a new PSK now and returns it. It waits for
// the runs in flight on the host to end first (or for ctx).
//
// The new PSK is stored as the host's pending PSK before it is sent, and
// becomes its PSK once the client acknowledged it; if the acknowledgement
// is lost, a heartbeat right after finds out which key the client holds.
// When that cannot be told either, RotatePSK returns
// ErrRotationUnconfirmed and the pending PSK is settled at the next
// contact, so the host is never stranded.
func (s *Service) RotatePSK(ctx context.Context, hostID int64) (string, error) {
	unlock, err := s.locks.lock(ctx, hostID)
	if err != nil {
		return "", err
	}
	defer unlock()
	var (
		opts domain.Options
		h    domain.Host
	)
	err = s.store.View(ctx, func(tx domain.Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		opts = withDefaults(o)
		h, err = tx.Host(hostID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("fleet: rotating the psk of host %d: %w", hostID, err)
	}
	return s.rotate(ctx, s.dialer(opts.Network), h)
}

// rotate replaces h's PSK. The caller holds h's lock exclusively.
func (s *Service) rotate(ctx context.Context, d Dialer, h domain.Host) (string, error) {
	if h.PendingPSK != "" {
		// Learn which key the client holds before making a third one.
		if _, err := s.heartbeatWithKeys(ctx, d, &h); err != nil {
			return "", err
		}
		if h.PendingPSK != "" {
			return "", fmt.Errorf("%w: the new PSK of an earlier rotation is still pending; try again in a few minutes",
				ErrRotationUnconfirmed)
		}
	}
	psk := NewPSK()
	err := s.retryUpdate(ctx, "pending psk", func(tx domain.Tx) error {
		cur, err := tx.Host(h.ID)
		if err != nil {
			return err
		}
		if cur.PSK != h.PSK || cur.PendingPSK != "" {
			return errKeysChanged
		}
		sent := s.now()
		cur.PendingPSK, cur.PendingSince = psk, &sent
		if err := tx.PutHost(&cur); err != nil {
			return err
		}
		h = cur
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fleet: storing the pending psk of host %d: %w", h.ID, err)
	}

	res, err := d.Trigger(ctx, target(h, h.PSK), wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: psk})
	if err == nil && res.ScriptResult.Success {
		s.settle(ctx, &h, true)
		if h.PendingPSK != "" || h.PSK != psk {
			return "", fmt.Errorf("fleet: host %d was edited during its psk rotation; its keys were left as edited", h.ID)
		}
		s.log.Info("psk rotated", hostAttrs(h))
		return psk, nil
	}

	// Refused, or no acknowledgement: ask the client which key it holds.
	// This must never drop a key the client may hold, so it goes through
	// the same settling as any contact.
	if ctx.Err() != nil {
		s.log.Warn("psk rotation interrupted; the new psk stays pending", hostAttrs(h))
		return "", ctx.Err()
	}
	if err == nil {
		// An answer under the current PSK that refuses the new one: the
		// client did not store it, so it need not stay pending.
		refusal := fmt.Errorf("%w: %s", ErrRotationRefused, res.ScriptResult.ExecError)
		s.settle(ctx, &h, false)
		s.log.Warn("psk rotation refused; the client keeps its current psk", hostAttrs(h), "err", refusal)
		return "", refusal
	}
	refusal := err
	if _, hbErr := s.heartbeatWithKeys(ctx, d, &h); hbErr != nil {
		s.log.Warn("psk rotation unconfirmed; the new psk stays pending", hostAttrs(h), "err", refusal, "heartbeat_err", hbErr)
		return "", fmt.Errorf("%w (%v)", ErrRotationUnconfirmed, refusal)
	}
	if h.PSK == psk {
		s.log.Info("psk rotated; the acknowledgement was lost", hostAttrs(h), "err", refusal)
		return psk, nil
	}
	if h.PendingPSK != "" {
		// The old key still works, but the client may be storing the new
		// one right now: it stays pending (see pendingGrace).
		s.log.Warn("psk rotation unconfirmed; the new psk stays pending", hostAttrs(h), "err", refusal)
		return "", fmt.Errorf("%w (%v)", ErrRotationUnconfirmed, refusal)
	}
	s.log.Warn("psk rotation failed; the client keeps its current psk", hostAttrs(h), "err", refusal)
	if errors.Is(refusal, ErrRotationRefused) {
		return "", refusal
	}
	return "", fmt.Errorf("fleet: rotating the psk of host %d: %w", h.ID, refusal)
}
