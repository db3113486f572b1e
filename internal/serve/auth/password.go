package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/legacy"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id hashes passwords with argon2id into PHC strings such as
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>". Its Check also accepts
// bcrypt hashes ("$2a$..."), so passwords hashed by other tools keep
// working, and the hashes of passwords and API keys imported from 0.x
// (legacy.HashPrefix; see legacy.CheckHash). The zero value uses
// DefaultArgon2id's parameters.
type Argon2id struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon2id has the parameters OWASP recommends for argon2id
// (19 MiB, two passes, one thread): about 30 ms a hash on a current CPU.
var DefaultArgon2id = Argon2id{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on the parameters read back from a stored hash, so a damaged
	// or planted hash cannot make a login allocate gigabytes.
	maxMemoryKiB = 1 << 20
	maxTime      = 16
)

func (a Argon2id) params() Argon2id {
	if a.Time == 0 || a.MemoryKiB == 0 || a.Threads == 0 {
		return DefaultArgon2id
	}
	return a
}

// Hash returns the encoded hash of password with a new random salt.
func (a Argon2id) Hash(password string) (string, error) {
	p := a.params()
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check reports whether password matches hash. The comparison is constant
// time; a malformed hash matches nothing.
func (a Argon2id) Check(hash, password string) bool {
	if h, ok := strings.CutPrefix(hash, legacy.HashPrefix); ok {
		return legacy.CheckHash(h, password)
	}
	if strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	p, salt, want, err := decodeArgon2id(hash)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Bounded is a password hasher that runs at most n hashes and checks at
// once (at least 1): each argon2id one holds 19 MiB for ~30 ms, so a burst
// of logins or user changes queues instead of growing the heap. Of those,
// one at most checks a hash imported from 0.x, which may try many Argon2id
// thread counts at 64 MiB apiece: a burst of wrong guesses for imported
// users cannot take every slot.
type Bounded struct {
	hasher domain.PasswordHasher
	slots  chan struct{}
	legacy sync.Mutex
}

// NewBounded returns h limited to n concurrent hashes and checks.
func NewBounded(h domain.PasswordHasher, n int) *Bounded {
	return &Bounded{hasher: h, slots: make(chan struct{}, max(1, n))}
}

// Hash is the hasher's Hash, in turn.
func (b *Bounded) Hash(password string) (string, error) {
	b.slots <- struct{}{}
	defer func() { <-b.slots }()
	return b.hasher.Hash(password)
}

// Check is the hasher's Check, in turn.
func (b *Bounded) Check(hash, password string) bool {
	if strings.HasPrefix(hash, legacy.HashPrefix) {
		b.legacy.Lock()
		defer b.legacy.Unlock()
	}
	b.slots <- struct{}{}
	defer func() { <-b.slots }()
	return b.hasher.Check(hash, password)
}

var errBadHash = errors.New("auth: malformed argon2id hash")

func decodeArgon2id(hash string) (Argon2id, []byte, []byte, error) {
	var p Argon2id
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > maxMemoryKiB || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
