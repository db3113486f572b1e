//go:build !ottotest

package client

import "github.com/otto-automation/otto/internal/wire"

// knobs are the daemon's test and benchmark knobs. A release build has
// none: this file is their no-op counterpart, and knobs_ottotest.go, built
// only with -tags ottotest (see internal/testbin.Tag), has the real ones.
type knobs struct{}

// knobsFromEnv returns the knobs that the environment sets: none.
func knobsFromEnv(func(string) string) knobs { return knobs{} }

// hangAt does nothing: only a test build hangs at a step of a PSK update.
func (d *daemon) hangAt(string) {}

// frameKey is the key of one connection's frames: the PSK's cached key.
type frameKey struct {
	key *wire.Key
}

// frameKey returns the key for a connection under psk.
func (d *daemon) frameKey(psk PSK) frameKey {
	return frameKey{key: wire.KeyFor(string(psk))}
}

// get returns the key for the next frame.
func (k frameKey) get() *wire.Key { return k.key }
