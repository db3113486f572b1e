// Package version holds the build's version, stamped at link time.
package version

import "github.com/otto-automation/otto/internal/wire"

// Version is the otto release, set by the Makefile with
// -ldflags "-X github.com/otto-automation/otto/internal/version.Version=...".
// A plain "go build" leaves it at "dev".
var Version = "dev"

// Protocol is the wire protocol version this build speaks.
const Protocol = wire.ProtocolVersion
