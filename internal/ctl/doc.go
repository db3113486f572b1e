// Package ctl is ottoctl, the command line for people and shell scripts
// over the otto server's REST API ("otto ctl", or the ottoctl symlink).
//
// It reaches the server only over HTTP, through internal/apiclient, and
// reads and prints the API's own shapes (internal/apitype): --json shows
// what the API answers, with its field names and its string IDs.
//
// The layout:
//
//   - command.go builds the command tree (Command) and holds what every
//     command shares: the connection and output flags, the action wrapper
//     and flags given after arguments.
//   - cmd_*.go hold one family of subcommands each; every Action only
//     calls a plain function that takes its options, the globals and the
//     writers (runHostsLs, runRun, ...).
//   - client.go makes the apiclient.Client of the resolved settings (the
//     envelope, the headers, the live output streams are apiclient's).
//   - settings.go resolves the connection settings: flags, then OTTO_*
//     variables, then the config file ~/.config/otto/ctl.toml.
//   - resolve.go turns names or IDs (opaque strings) into IDs; env.go
//     holds the flags of environment variables; prompt.go and term_*.go
//     ask for passwords (without echo on a terminal, through
//     golang.org/x/sys/unix).
//   - output.go draws tables, JSON and ID lists; exit.go is the one place
//     that maps errors to exit codes and prints them.
//
// docs/ctl.md is the user's documentation, with the exit codes.
package ctl
