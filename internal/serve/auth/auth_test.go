package auth

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestArgon2id(t *testing.T) {
	for _, a := range []Argon2id{{}, {Time: 1, MemoryKiB: 64, Threads: 1}} {
		hash, err := a.Hash("correct horse")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=") {
			t.Errorf("Hash() = %q, want a PHC argon2id string", hash)
		}
		if !a.Check(hash, "correct horse") {
			t.Errorf("Check(hash, right) = false, want true")
		}
		if a.Check(hash, "correct horsE") {
			t.Errorf("Check(hash, wrong) = true, want false")
		}
		if again, _ := a.Hash("correct horse"); again == hash {
			t.Errorf("two hashes of one password are equal: the salt is not random")
		}
	}
	if h, _ := (Argon2id{}).Hash("x"); !strings.Contains(h, "m=19456,t=2,p=1") {
		t.Errorf("default Hash() = %q, want m=19456,t=2,p=1", h)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("old 0.x password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !(Argon2id{}).Check(string(bc), "old 0.x password") || (Argon2id{}).Check(string(bc), "nope") {
		t.Errorf("Check does not handle bcrypt hashes")
	}
	for _, bad := range []string{"", "x", "$argon2id$v=19$m=64,t=1,p=1$$", "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if (Argon2id{}).Check(bad, "") {
			t.Errorf("Check(%q, \"\") = true, want false", bad)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2-secret")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "s", s, "in", struct{ P Secret }{s})
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "s", s)
	out := buf.String() + fmt.Sprintf("%v %s %+v %#v %q", s, s, s, s, s)
	if strings.Contains(out, "hunter2") {
		t.Errorf("a Secret printed its value: %s", out)
	}
	if s.Reveal() != "hunter2-secret" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestTokens(t *testing.T) {
	k, h := NewAPIKey()
	if len(k.Reveal()) != 43 || len(h) != 64 {
		t.Errorf("NewAPIKey() = %d chars, hash %d, want 43 and 64", len(k.Reveal()), len(h))
	}
	if !CheckToken(h, k) || CheckToken(h, k+"x") || CheckToken("", "") {
		t.Errorf("CheckToken does not tell keys apart")
	}
	if NewToken() == NewToken() {
		t.Errorf("NewToken() repeats")
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	th := NewThrottle(func() time.Time { return now })
	for i := 0; i < 5; i++ {
		th.Fail("addr:a", "user:u")
		if w := th.Wait("addr:a"); w != 0 {
			t.Fatalf("after %d failures Wait = %v, want 0", i+1, w)
		}
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
		th.Fail("addr:a")
		if got := th.Wait("addr:a", "addr:other"); got != want {
			t.Errorf("after %d failures Wait = %v, want %v", 6+i, got, want)
		}
	}
	if got := th.Wait("user:u"); got != 0 {
		t.Errorf("Wait(user:u) = %v, want 0 (5 failures)", got)
	}
	now = now.Add(30 * time.Second)
	if got := th.Wait("addr:a"); got != 30*time.Second {
		t.Errorf("30 s later Wait = %v, want 30s", got)
	}
	th.Succeed("addr:a")
	if got := th.Wait("addr:a"); got != 0 {
		t.Errorf("after Succeed Wait = %v, want 0", got)
	}
	// Forgotten after Forget.
	for i := 0; i < 6; i++ {
		th.Fail("addr:b")
	}
	now = now.Add(20 * time.Minute)
	th.Fail("addr:b")
	if got := th.Wait("addr:b"); got != 0 {
		t.Errorf("a failure 20 min after the last one Wait = %v, want 0 (count restarted)", got)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewRateLimit(3, time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("Allow #%d = false", i+1)
		}
	}
	if ok, wait := l.Allow("a"); ok || wait != time.Minute {
		t.Errorf("4th Allow = %v, %v, want false, 1m", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Errorf("another key is limited too")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.Allow("a"); !ok {
		t.Errorf("Allow in the next window = false")
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4:5678":             "addr:1.2.3.4",
		"[2001:db8:1:2:3::4]:80":   "addr:2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::]:81": "addr:2001:db8:1:2::/64",
		"unix":                     "addr:unix",
	} {
		if got := AddrKey(in); got != want {
			t.Errorf("AddrKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckCSRF(t *testing.T) {
	for _, tt := range []struct {
		method, origin, csrf string
		via                  Via
		serverURL            string
		ok                   bool
	}{
		{"GET", "", "", ViaSession, "", true},
		{"GET", "https://evil", "", ViaSession, "", true},
		{"POST", "", "", ViaSession, "", false},
		{"POST", "", "1", ViaSession, "", true},
		{"POST", "", "yes", ViaSession, "", false},
		{"POST", "http://otto.lan:8080", "", ViaSession, "", true},
		{"DELETE", "http://OTTO.lan:8080", "", ViaSession, "", true},
		{"POST", "https://evil.example", "1", ViaSession, "", false},
		{"POST", "https://otto.example.com", "", ViaSession, "https://otto.example.com", true},
		{"POST", "http://otto.example.com", "", ViaSession, "https://otto.example.com", false},
		{"POST", "null", "", ViaSession, "", false},
		{"POST", "", "", ViaAPIKey, "", true},
		{"POST", "https://evil.example", "", ViaAPIKey, "", true},
		{"POST", "", "", ViaNone, "", true},
		{"POST", "https://evil.example", "", ViaNone, "", false},
	} {
		r := httptest.NewRequest(tt.method, "http://otto.lan:8080/api/x", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.csrf != "" {
			r.Header.Set(HeaderCSRF, tt.csrf)
		}
		err := CheckCSRF(r, tt.via, func() string { return tt.serverURL })
		if (err == nil) != tt.ok {
			t.Errorf("CheckCSRF(%s, Origin %q, CSRF %q, via %d, %q) = %v, want ok %v", tt.method, tt.origin, tt.csrf, tt.via, tt.serverURL, err, tt.ok)
		}
	}
}

func TestAllowed(t *testing.T) {
	for _, tt := range []struct {
		role string
		p    Permission
		want bool
	}{
		{"viewer", Read, true}, {"viewer", Edit, false}, {"viewer", Run, false}, {"viewer", Admin, false},
		{"operator", Edit, true}, {"operator", Run, true}, {"operator", Admin, false},
		{"admin", Admin, true}, {"admin", Edit, true}, {"", Read, false}, {"root", Read, false},
	} {
		if got := Allowed(tt.role, tt.p); got != tt.want {
			t.Errorf("Allowed(%q, %s) = %v, want %v", tt.role, tt.p, got, tt.want)
		}
	}
}
