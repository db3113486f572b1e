//go:build !ottotest

package bench

import "github.com/otto-automation/otto/internal/client"

// PerFrameBuilt reports whether this build can run clients that derive
// the key for every frame, which only a build with -tags ottotest can (see
// internal/testbin.Tag): Run refuses a per-frame sweep otherwise.
const PerFrameBuilt = false

// derivePerFrame would have o's daemon derive the key per frame; this
// build cannot, and Run does not get this far (see PerFrameBuilt).
func derivePerFrame(*client.ServeOptions) {}
