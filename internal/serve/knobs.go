//go:build !ottotest

package serve

import (
	"log/slog"

	"github.com/otto-automation/otto/internal/serve/fleet"
)

// setFleetKnobs sets the fleet's benchmark knobs from the environment. A
// release build has none, so it does nothing; knobs_ottotest.go, built
// only with -tags ottotest (see internal/testbin.Tag), has the real one.
func setFleetKnobs(*fleet.Config, *slog.Logger) {}
