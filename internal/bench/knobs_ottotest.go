//go:build ottotest

package bench

import "github.com/otto-automation/otto/internal/client"

// PerFrameBuilt reports whether this build can run clients that derive
// the key for every frame: this one, built with -tags ottotest, can (see
// internal/testbin.Tag).
const PerFrameBuilt = true

// derivePerFrame has o's daemon derive the key for every frame.
func derivePerFrame(o *client.ServeOptions) { o.DeriveKeyPerFrame() }
