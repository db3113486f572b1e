// Package api is the server's REST API: the routes, field names and
// {"code", "error", "data"} envelope of otto 0.x, over the domain's
// service. Handlers are thin: decode the request, call the domain, encode
// the answer. Every route is one entry of a route table (method, pattern,
// permission, handler); authentication, the permission check, the CSRF
// rule, body limits and error mapping are applied to all of them in one
// place, so a table test can walk every route. docs/api.md documents them.
package api
