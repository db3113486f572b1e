// Package api is the server's REST API: the routes, field names and
// {"code", "error", "data"} envelope of otto 0.x, over the domain's
// service. Handlers are thin: decode an apitype request, call the domain,
// answer an apitype value. convert.go is the one place where domain types
// become apitype shapes and back (and where secrets are left out, by
// role); errors.go the one table from errors to HTTP statuses. Every route
// is one entry of a route table (method, pattern, permission, handler),
// held to apitype.Routes; authentication, the permission check, the CSRF
// rule, body limits and error mapping are applied to all of them in one
// place, so a table test can walk every route. docs/api.md documents them.
package api
