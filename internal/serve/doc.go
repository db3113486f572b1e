// Package serve is the otto server role: Command builds "otto server"
// (flags, config file, the backup subcommand), and run wires the store,
// the domain service, authentication and the REST API together, serves
// until its context ends, and shuts down in order. The pieces live in the
// sub-packages: domain (entities and rules), store (bbolt), auth, api.
package serve
