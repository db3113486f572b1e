// Package bench is otto-bench's harness (cmd/otto-bench): it proves the
// budgets of issue 9 on loopback with the real pieces.
//
// The server is the real otto binary, started as a subprocess with a
// temporary data directory, so that its memory (VmHWM, VmRSS, RssAnon from
// /proc/PID/status), CPU time (utime+stime from /proc/PID/stat) and open
// descriptors can be read the way an operator would. The clients are real
// client daemons (client.Serve), many in this one process, each on its own
// 127.0.0.1 listener with its own config file and PSK. Everything talks
// through the REST API of docs/api.md, as ottoctl and scripts do.
//
// Modes:
//
//   - Scale: per fleet size N, the heartbeat sweep, `true` on all, a script
//     printing 1 MiB on 100 hosts and a PSK rotation of every host, and a
//     heartbeat sweep with the protocol key derived per frame (as 0.x
//     peers do) for comparison.
//   - Soak: mixed API load and runs every few seconds for a duration, with
//     the server's RSS and descriptors sampled; they must stay flat.
//   - Hostile: a fuzzer-driven HTTP client against the API; no 500, no
//     panic, the server stays up.
//   - Crash: kill -9 of the server during a fan-out and during PSK
//     rotations; after a restart every host is reachable and every
//     acknowledged change is there.
//
// Every loop is bounded in count and time, all traffic stays on 127.0.0.1,
// and the processes and temporary directories a mode creates are gone when
// it returns.
package bench
