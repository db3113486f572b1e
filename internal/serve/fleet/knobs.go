//go:build !ottotest

package fleet

import "github.com/otto-automation/otto/internal/wire"

// knobs are the benchmark knobs of the exchanges with clients. A release
// build has none: this file is their no-op counterpart, and
// knobs_ottotest.go, built only with -tags ottotest (see
// internal/testbin.Tag), has the real ones.
type knobs struct{}

// exchangeKey returns the key of an exchange under psk: the PSK's cached
// key (wire bounds concurrent derivations).
func (knobs) exchangeKey(psk string) *wire.Key { return wire.KeyFor(psk) }

// k returns the key for the next frame.
func (x *exchange) k() *wire.Key { return x.key }
