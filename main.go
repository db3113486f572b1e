// Command otto is the otto automation toolkit: one binary that is the
// server, the client (agent) and ottoctl, chosen by the name it is called
// by or by its first argument. See README.md.
package main

import (
	"context"
	"os"

	"github.com/otto-automation/otto/internal/client"
	"github.com/otto-automation/otto/internal/ctl"
	"github.com/otto-automation/otto/internal/demo"
	"github.com/otto-automation/otto/internal/multicall"
	"github.com/otto-automation/otto/internal/serve"
)

func main() {
	os.Exit(multicall.Run(context.Background(), os.Args, os.Stdout, os.Stderr,
		serve.Command(),
		client.Command(),
		ctl.Command(),
		demo.Command(),
	))
}
