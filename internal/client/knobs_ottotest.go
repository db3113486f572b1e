//go:build ottotest

package client

import "github.com/otto-automation/otto/internal/wire"

// The daemon's test and benchmark knobs, only in a build with -tags
// ottotest (see internal/testbin.Tag); knobs.go is the release build's
// no-op counterpart.

// envHangAt makes the daemon hang at a step of a PSK update
// (hangBeforeRename, hangBeforeAnswer), so that a crash-safety test
// (internal/e2e TestPSKUpdateCrash) can kill it there. A client with it set
// stops answering at its first PSK rotation.
const envHangAt = "OTTO_CLIENT_TEST_HANG_AT"

// knobs are the daemon's test and benchmark knobs; the zero value is none.
type knobs struct {
	hangAt   string // the step of a PSK update at which the daemon stops for good; "" for none
	perFrame bool   // derive the key for every frame, as 0.x clients do
}

// knobsFromEnv returns the knobs that the environment sets.
func knobsFromEnv(getenv func(string) string) knobs {
	return knobs{hangAt: getenv(envHangAt)}
}

// DeriveKeyPerFrame has the daemon derive the key anew (wire.NewKey) for
// every frame it reads or writes, as 0.x clients do, instead of using the
// PSK's cached key: otto-bench measures what that costs. Only a build with
// -tags ottotest has it.
func (o *ServeOptions) DeriveKeyPerFrame() { o.knobs.perFrame = true }

// hangAt blocks forever if step is the knob's hang point.
func (d *daemon) hangAt(step string) {
	if step == d.knobs.hangAt {
		d.log.Warn("hanging for a test", "step", step)
		select {}
	}
}

// frameKey is the key of one connection's frames.
type frameKey struct {
	key      *wire.Key // the PSK's cached key, unless perFrame
	psk      string    // with perFrame
	perFrame bool
}

// frameKey returns the key for a connection under psk.
func (d *daemon) frameKey(psk PSK) frameKey {
	if d.knobs.perFrame {
		return frameKey{psk: string(psk), perFrame: true}
	}
	return frameKey{key: wire.KeyFor(string(psk))}
}

// get returns the key for the next frame.
func (k frameKey) get() *wire.Key {
	if k.perFrame {
		return wire.NewKey(k.psk)
	}
	return k.key
}
