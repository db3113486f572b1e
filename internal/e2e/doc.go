// Package e2e holds otto's end-to-end tests: the real binary, built once by
// internal/testbin, run as "otto server", as "otto client" and as "otto
// demo" on loopback, and driven through the REST API as a user would (see
// STYLE.md item 23). The package has no code of its own; the harness is in
// harness_test.go and each test reads as a script:
//
//	env := newEnv(t)
//	srv := env.StartServer()
//	cl := env.StartClient()
//	h := srv.MustAddHost(cl)
//	srv.AwaitHeartbeat(h)
//	run := srv.MustRun("echo hi", h)
//	run.AwaitOutput("hi")
//
// Every wait polls with a deadline; every process is started in its own
// session and stopped (SIGTERM, then SIGKILL) at the end of its test, and a
// test fails if any process of such a session outlives it or if a goroutine
// of the harness does.
package e2e
