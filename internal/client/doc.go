// Package client is the otto client, the agent on each host: it listens for
// an otto server on TCP, accepts only the networks in its allow-list, and
// answers protocol 2 requests (internal/wire): heartbeats with the host's
// properties, scripts run through internal/exec with live output, file
// uploads, PSK updates, config reloads, exit, reboot and shutdown.
//
// Its config is a TOML file (see Config); a 0.x otto_client.conf in the
// working directory is upgraded to TOML on first start. A host can also
// register itself with a server over HTTP (REGISTER_HOST, REGISTER_KEY).
//
// The role's entry point is Command; docs/client.md is the user's guide.
package client
