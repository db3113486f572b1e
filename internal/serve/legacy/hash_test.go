package legacy

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// fixtureSecrets reads expected/secrets.txt: "<what>: <secret>" lines.
func fixtureSecrets(t testing.TB) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixture(t), "expected", "secrets.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			m[k] = v
		}
	}
	return m
}

// The fixture's hashes are Argon2id made on a 2-CPU machine; alice's API
// key is hashed whole, "otto_" prefix included.
func TestCheckHashFixture(t *testing.T) {
	d := mustRead(t, fixture(t))
	s := fixtureSecrets(t)
	adminPW, alicePW, aliceKey := s["admin password"], s["alice password"], s["alice api key"]
	if adminPW == "" || alicePW == "" || !strings.HasPrefix(aliceKey, "otto_") {
		t.Fatalf("secrets.txt = %q, want admin's and alice's passwords and alice's API key", s)
	}
	for _, tt := range []struct {
		name, stored, secret string
		want                 bool
	}{
		{"admin password", d.Passwords["admin"], adminPW, true},
		{"alice password", d.Passwords["alice"], alicePW, true},
		{"alice API key", d.APIKeys["alice"], aliceKey, true},
		{"admin wrong password", d.Passwords["admin"], adminPW + "x", false},
		{"API key without its prefix", d.APIKeys["alice"], strings.TrimPrefix(aliceKey, "otto_"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(tt.stored, "2$") {
				t.Fatalf("stored hash = %q, want an Argon2id one", tt.stored)
			}
			// A wrong secret tries every thread count, seconds under
			// -race: once is enough (BenchmarkCheckHashWrong times it).
			if tt.want || tt.name == "admin wrong password" {
				if got := CheckHash(tt.stored, tt.secret); got != tt.want {
					t.Errorf("CheckHash(%q, %q) = %t, want %t", tt.stored, tt.secret, got, tt.want)
				}
			}
			if got := CheckHashThreads(tt.stored, tt.secret, 2); got != tt.want {
				t.Errorf("CheckHashThreads(%q, %q, 2) = %t, want %t", tt.stored, tt.secret, got, tt.want)
			}
		})
	}
	// The parallelism is part of the hash: 1 or 4 threads do not match.
	for _, n := range []int{1, 4} {
		if CheckHashThreads(d.Passwords["admin"], adminPW, n) {
			t.Errorf("CheckHashThreads(admin, password, %d) = true, want false", n)
		}
	}
}

func TestCheckHash(t *testing.T) {
	const salt = "0123456789ab" // 12 characters, like 0.x's
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcrypt31 := strings.Replace(string(bc), "$04$", "$31$", 1)
	pb, _ := pbkdf2.Key(sha256.New, "pw", []byte(salt), 4096, 32)
	a7 := argon2.IDKey([]byte("pw"), []byte(salt), 1, 64*1024, 7, 32)
	a40 := argon2.IDKey([]byte("pw"), []byte(salt), 1, 64*1024, 40, 32)
	hexKey := strings.Repeat("ab", 32)

	for _, tt := range []struct {
		name, stored, secret string
		want                 bool
	}{
		{"bcrypt", "1$" + string(bc), "pw", true},
		{"bcrypt wrong", "1$" + string(bc), "pW", false},
		{"bcrypt cost 31 is refused", "1$" + bcrypt31, "pw", false},
		{"bcrypt without its alg", string(bc), "pw", false},
		{"pbkdf2", "3$" + salt + "$" + hex.EncodeToString(pb), "pw", true},
		{"pbkdf2 upper-case hex", "3$" + salt + "$" + strings.ToUpper(hex.EncodeToString(pb)), "pw", true},
		{"pbkdf2 wrong", "3$" + salt + "$" + hex.EncodeToString(pb), "pw ", false},
		{"pbkdf2 other salt", "3$" + salt[1:] + "x$" + hex.EncodeToString(pb), "pw", false},
		// A published PBKDF2-HMAC-SHA256 vector: "password", "salt", 4096 rounds.
		{"pbkdf2 vector", "3$salt$c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a", "password", true},
		{"argon2id 7 threads", "2$" + salt + "$" + hex.EncodeToString(a7), "pw", true},
		{"empty", "", "", false},
		{"alg only", "2", "pw", false},
		{"no key", "2$" + salt, "pw", false},
		{"empty salt", "3$$" + hexKey, "pw", false},
		{"salt too long", "3$" + strings.Repeat("s", 65) + "$" + hexKey, "pw", false},
		{"short key", "3$" + salt + "$abcd", "pw", false},
		{"long key", "2$" + salt + "$" + hexKey + "ab", "pw", false},
		{"not hex", "2$" + salt + "$" + strings.Repeat("zz", 32), "pw", false},
		{"unknown alg", "4$" + salt + "$" + hex.EncodeToString(pb), "pw", false},
		{"bcrypt garbage", "1$$2a$10$short", "pw", false},
		{"bcrypt empty", "1$", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckHash(tt.stored, tt.secret); got != tt.want {
				t.Errorf("CheckHash(%q, %q) = %t, want %t", tt.stored, tt.secret, got, tt.want)
			}
		})
	}

	// 40 threads is not a candidate (a full try is seconds under -race),
	// but can be named.
	if slices.Contains(argon2Candidates(), 40) {
		t.Errorf("argon2Candidates() = %v, want no 40", argon2Candidates())
	}
	if !CheckHashThreads("2$"+salt+"$"+hex.EncodeToString(a40), "pw", 40) {
		t.Errorf("CheckHashThreads(40-thread hash, pw, 40) = false, want true")
	}
	for _, n := range []int{0, -1, 255} {
		if CheckHashThreads("3$"+salt+"$"+hex.EncodeToString(pb), "pw", n) {
			t.Errorf("CheckHashThreads(pbkdf2, pw, %d) = true, want false: the count is out of range", n)
		}
	}
}

// A wrong password tries every candidate thread count, so the candidates
// must stay few, or CheckHash is a way to stall a server.
// BenchmarkCheckHashWrong measures what they cost.
func TestCheckHashBounded(t *testing.T) {
	if n := len(argon2Candidates()); n > 21 {
		t.Errorf("len(argon2Candidates()) = %d, want at most 21", n)
	}
}

// BenchmarkCheckHashFixture is the first login of a user imported from
// 0.x: Argon2id at 64 MiB, with the thread count of this machine.
func BenchmarkCheckHashFixture(b *testing.B) {
	d := mustRead(b, fixture(b))
	pw := fixtureSecrets(b)["admin password"]
	for b.Loop() {
		if !CheckHash(d.Passwords["admin"], pw) {
			b.Fatal("CheckHash(admin, password) = false")
		}
	}
}

func BenchmarkCheckHashWrong(b *testing.B) {
	stored := "2$0123456789ab$" + strings.Repeat("00", 32)
	for b.Loop() {
		if CheckHash(stored, "wrong") {
			b.Fatal("CheckHash(zero key, wrong) = true")
		}
	}
}
