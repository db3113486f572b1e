// Package auth authenticates the callers of the server's API and decides
// what they may do: password hashing (argon2id), API keys and session
// tokens (random, stored only as hashes), login throttling, the CSRF rule
// for cookie-authenticated requests, and the three roles.
//
// Secrets handled here are of type Secret, whose String and LogValue are
// "REDACTED", so a secret that reaches a log line by mistake stays hidden.
package auth
