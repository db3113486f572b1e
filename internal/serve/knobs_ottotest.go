//go:build ottotest

package serve

import (
	"log/slog"
	"os"

	"github.com/otto-automation/otto/internal/serve/fleet"
)

// envDerivePerFrame=1 has the server derive the protocol key anew (scrypt,
// ~90 ms of CPU and 32 MiB) for every frame sent to or read from a client,
// as 0.x servers did, instead of once per PSK: otto-bench compares the two
// (docs/benchmarks.md). Only a build with -tags ottotest (see
// internal/testbin.Tag) reads it; knobs.go is the release build's no-op
// counterpart.
const envDerivePerFrame = "OTTO_BENCH_DERIVE_PER_FRAME"

// setFleetKnobs sets the fleet's benchmark knobs from the environment.
func setFleetKnobs(c *fleet.Config, log *slog.Logger) {
	if os.Getenv(envDerivePerFrame) == "1" {
		log.Warn("benchmark mode: deriving the key for every frame, as 0.x did; this is slow", "env", envDerivePerFrame)
		c.DeriveKeyPerFrame()
	}
}
