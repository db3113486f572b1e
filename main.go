// Command otto is the otto automation toolkit: one binary that is the
// server, the client (agent) and ottoctl, chosen by the name it is called
// by or by its first argument. See README.md.
package main

import (
	"context"
	"os"

	"github.com/otto-automation/otto/internal/multicall"
)

func main() {
	os.Exit(multicall.Run(context.Background(), os.Args, os.Stdout, os.Stderr,
		multicall.NotImplemented("server", "the otto server: hosts, scripts, schedules, web UI and REST API"),
		multicall.NotImplemented("client", "the otto client: the agent that runs scripts on this host"),
		multicall.NotImplemented("ctl", "ottoctl: the command line for the server's REST API"),
	))
}
