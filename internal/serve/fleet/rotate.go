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
// cannot write its config file) and still answers to the current one. The
// new PSK stays pending until a later contact proves it unneeded.
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
// The new PSK is stored as the host's pending PSK before it is sent. Then,
// whatever the client answered (or if the answer was lost), a heartbeat
// with the new PSK, then the current one, finds out which key the client
// holds: the new one becomes the host's PSK only when it works, and is
// dropped only by a contact that proves the client never stored it (see
// heartbeatWithKeys). When that cannot be told, RotatePSK returns
// ErrRotationUnconfirmed and the next contact settles it, so the host is
// never stranded.
func (s *Service) RotatePSK(ctx context.Context, hostID string) (string, error) {
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
		return "", fmt.Errorf("fleet: rotating the psk of host %s: %w", hostID, err)
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
		return "", fmt.Errorf("fleet: storing the pending psk of host %s: %w", h.ID, err)
	}

	res, err := d.Trigger(ctx, target(h, h.PSK), wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: psk})
	if ctx.Err() != nil {
		s.log.Warn("psk rotation interrupted; the new psk stays pending", hostAttrs(h))
		return "", ctx.Err()
	}
	// The answer says nothing certain about the key the client holds: a
	// 0.x client that stored the new PSK answers with a zero ScriptResult,
	// an answer may be lost, a refusal may come after a store. Only a
	// contact tells, and until one proves it unneeded the new PSK stays
	// pending (see heartbeatWithKeys).
	refusal := err
	if err == nil && res.ScriptResult.ExecError != "" {
		refusal = fmt.Errorf("%w: %s", ErrRotationRefused, res.ScriptResult.ExecError)
	}
	if _, hbErr := s.heartbeatWithKeys(ctx, d, &h); hbErr != nil {
		s.log.Warn("psk rotation unconfirmed; the new psk stays pending", hostAttrs(h), "err", refusal, "heartbeat_err", hbErr)
		if refusal == nil {
			return "", fmt.Errorf("%w (%v)", ErrRotationUnconfirmed, hbErr)
		}
		return "", fmt.Errorf("%w (%v)", ErrRotationUnconfirmed, refusal)
	}
	switch {
	case h.PSK == psk && refusal == nil:
		s.log.Info("psk rotated", hostAttrs(h))
		return psk, nil
	case h.PSK == psk:
		s.log.Info("psk rotated; the client's answer was lost or odd, the new psk works", hostAttrs(h), "err", refusal)
		return psk, nil
	case errors.Is(refusal, ErrRotationRefused):
		// The client answers to the current PSK and said it keeps it; the
		// new one stays pending until a contact past pendingGrace drops it.
		s.log.Warn("psk rotation refused; the client keeps its current psk", hostAttrs(h), "err", refusal)
		return "", refusal
	default:
		// The current PSK still works, but the client may be storing the
		// new one right now: it stays pending (see pendingGrace).
		if refusal == nil {
			refusal = errors.New("the client still answers to the current psk")
		}
		s.log.Warn("psk rotation unconfirmed; the new psk stays pending", hostAttrs(h), "err", refusal)
		return "", fmt.Errorf("%w (%v)", ErrRotationUnconfirmed, refusal)
	}
}
