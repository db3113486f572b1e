package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
)

// Secret is a password, API key or session token. It prints and logs as
// REDACTED; use Reveal where the value itself is needed.
type Secret string

// String hides the value from fmt.
func (Secret) String() string { return "REDACTED" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return "REDACTED" }

// LogValue hides the value from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// NewToken returns a random token of 32 bytes as unpadded base64url: a
// session token or an API key.
func NewToken() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return Secret(base64.RawURLEncoding.EncodeToString(b))
}

// HashToken is how tokens and API keys are stored: hex SHA-256. They are
// 256 random bits, so a slow hash would add nothing.
func HashToken(t Secret) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// CheckToken reports, in constant time, whether t hashes to hash.
func CheckToken(hash string, t Secret) bool {
	got := HashToken(t)
	return hash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(got)) == 1
}

// NewAPIKey returns a new API key and the hash to store.
func NewAPIKey() (Secret, string) {
	k := NewToken()
	return k, HashToken(k)
}
