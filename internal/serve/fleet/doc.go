// Package fleet is the server's side of protocol 2: it dials out to the
// otto client on each host to send heartbeats, rotate PSKs, run scripts
// with live output, and perform one-off actions (exit, reboot, shutdown).
//
// It has two layers.
//
// The connection layer speaks wire and nothing else. A Dialer makes one TCP
// connection per exchange (Heartbeat, Run, Trigger), with a deadline on the
// dial and on every read, which each received frame (keepalives included)
// extends. A canceled Run sends CancelAction on its connection and still
// reads the client's result. Every failure is a *ConnError whose kind tells
// "could not connect" (ErrConnect) from "connected, but the client closed
// without answering, likely a wrong PSK" (ErrNoAnswer), a timeout
// (ErrTimeout), a client lost mid-action (ErrDisconnected) and a protocol
// error (ErrProtocol); Reason turns one into the sentence users see.
//
// The Service orchestrates over the domain.Store:
//
//   - Sweep heartbeats every enabled host this server owns (see Leader)
//     through a bounded pool of workers (Options.Network.MaxParallel, 64 by
//     default), so a slow or dead host costs one worker its timeout and
//     nothing more; statuses reach the store in batches, one transaction
//     for up to 200 hosts.
//   - PSK rotation never strands a host: the new PSK is stored as pending
//     before it is sent and becomes the PSK once the client acknowledged
//     it. Any contact with a host that has a pending PSK tries the current
//     PSK and, if the client closes without answering, the pending one,
//     and keeps whichever the client accepts.
//   - StartRuns creates one run record per host of a request, sharing a
//     batch ID, and runs them in the background through a pool per batch.
//     Subscribe and SubscribeBatch follow runs live; Wait waits for one;
//     Cancel stops one. Run states and results reach the store in batches;
//     a run whose record is left pending or running by a crash is marked
//     failed by the next New.
//   - Run is the background loop: sweeps every HeartbeatFrequency minutes,
//     rotations when due, and the run history's retention.
//
// Per-host locks keep a PSK rotation from interleaving with anything else
// on that host, while heartbeats and runs share a host freely (see
// hostLocks). Logs never contain a PSK.
package fleet
