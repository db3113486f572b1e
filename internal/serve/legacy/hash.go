package legacy

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The 0.x hash format, fixed by what 0.x wrote: "<alg>$<salt>$<hex key>",
// the salt (12 characters) used as its bytes, or "1$<bcrypt string>". API
// keys are hashed the same way, over the whole key including its "otto_"
// prefix.
const (
	algBcrypt   = "1"
	algArgon2id = "2"
	algPBKDF2   = "3"

	argon2Time      = 1
	argon2MemoryKiB = 64 * 1024
	// maxArgon2Threads is 0.x's cap on its CPU count, the parallelism.
	maxArgon2Threads = 254
	keyLen           = 32 // of both Argon2id and PBKDF2
	pbkdf2Rounds     = 4096
)

// Bounds of our own on a stored hash, so a damaged or planted one cannot
// make a check costly: the Argon2id and PBKDF2 parameters are not in the
// hash, so only the bcrypt cost and the salt come from it.
const (
	// maxBcryptCost is 64 times bcrypt's default cost (a few seconds), far
	// above what 0.x used and far below the hours cost 31 takes.
	maxBcryptCost = 16
	maxSaltLen    = 64
)

// CheckHash reports whether secret (a password, or a whole API key)
// matches stored, a 0.x hash. The comparison is constant time, and a
// malformed hash matches nothing.
//
// 0.x's Argon2id used the old machine's CPU count as its parallelism, and
// the result depends on it, but it did not store it. So CheckHash tries, in
// turn, this machine's CPU count (an import often runs where 0.x ran), 1 to
// 16, and 24, 32, 48 and 64: at most 21 hashes of 30 to 70 ms each on a
// 2-core machine, one 64 MiB buffer at a time. That covers nearly every
// machine 0.x ran on and keeps a wrong secret to about a second; all 254
// counts would take 8 to 18 s per wrong secret. So CheckHash suits a
// one-off check; to check logins, learn the count once (from a secret that
// matched, or from the operator) and use CheckHashThreads: one hash.
func CheckHash(stored, secret string) bool {
	return checkHash(stored, secret, argon2Candidates())
}

// CheckHashThreads is CheckHash with the Argon2id parallelism known: the
// CPU count (at most 254) of the machine 0.x ran on.
func CheckHashThreads(stored, secret string, threads int) bool {
	if threads < 1 || threads > maxArgon2Threads {
		return false
	}
	return checkHash(stored, secret, []uint8{uint8(threads)})
}

func argon2Candidates() []uint8 {
	c := []uint8{uint8(min(runtime.NumCPU(), maxArgon2Threads))}
	for t := uint8(1); t <= 16; t++ {
		if t != c[0] {
			c = append(c, t)
		}
	}
	for _, t := range []uint8{24, 32, 48, 64} {
		if t != c[0] {
			c = append(c, t)
		}
	}
	return c
}

func checkHash(stored, secret string, threads []uint8) bool {
	alg, rest, ok := strings.Cut(stored, "$")
	if !ok {
		return false
	}
	if alg == algBcrypt {
		cost, err := bcrypt.Cost([]byte(rest))
		return err == nil && cost <= maxBcryptCost &&
			bcrypt.CompareHashAndPassword([]byte(rest), []byte(secret)) == nil
	}
	salt, hexKey, ok := strings.Cut(rest, "$")
	if !ok || salt == "" || len(salt) > maxSaltLen || len(hexKey) != 2*keyLen {
		return false
	}
	want, err := hex.DecodeString(hexKey)
	if err != nil {
		return false
	}
	switch alg {
	case algArgon2id:
		for _, t := range threads {
			got := argon2.IDKey([]byte(secret), []byte(salt), argon2Time, argon2MemoryKiB, t, keyLen)
			if subtle.ConstantTimeCompare(got, want) == 1 {
				return true
			}
		}
	case algPBKDF2:
		got, err := pbkdf2.Key(sha256.New, secret, []byte(salt), pbkdf2Rounds, keyLen)
		return err == nil && subtle.ConstantTimeCompare(got, want) == 1
	}
	return false
}

// HashPrefix marks a 0.x hash kept by an importer in our user records, so
// a login can tell it from ours and check it with CheckHash.
const HashPrefix = "otto0x:"
