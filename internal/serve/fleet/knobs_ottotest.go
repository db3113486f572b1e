//go:build ottotest

package fleet

import "github.com/otto-automation/otto/internal/wire"

// The benchmark knobs of the exchanges with clients, only in a build with
// -tags ottotest (see internal/testbin.Tag); knobs.go is the release build's
// no-op counterpart.

// knobs are the benchmark knobs; the zero value is none.
type knobs struct {
	perFrame bool // derive the key for every frame, as 0.x peers do
}

// DeriveKeyPerFrame has the Service derive the key anew (wire.NewKey) for
// every frame sealed or opened, as 0.x peers do, instead of using one
// cached key per exchange: otto-bench measures what that costs. Only a
// build with -tags ottotest has it.
func (c *Config) DeriveKeyPerFrame() { c.knobs.perFrame = true }

// exchangeKey returns the key of an exchange under psk: the PSK's cached
// key (wire bounds concurrent derivations), or nil when derived per frame.
func (k knobs) exchangeKey(psk string) *wire.Key {
	if k.perFrame {
		return nil
	}
	return wire.KeyFor(psk)
}

// k returns the key for the next frame.
func (x *exchange) k() *wire.Key {
	if x.d.knobs.perFrame {
		return wire.NewKey(x.t.PSK)
	}
	return x.key
}
