package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/testbin"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otto test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, keyFile
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testbin.Output{}
	done := make(chan error, 1)
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", TLSCert: cert, TLSKey: key, AdminPassword: testAdminPassword}
	go func() { done <- run(ctx, cfg, io.Discard, logs) }()
	var url string
	waitFor(t, "the listening line", func() bool {
		m := testbin.ServerListening.FindStringSubmatch(logs.String())
		if m != nil {
			url = m[2]
		}
		return m != nil
	})
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("url = %s, want https", url)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Post(url+"/api/login", "application/json", strings.NewReader(`{"Username":"admin","Password":"`+testAdminPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Header.Get("Set-Cookie"); resp.StatusCode != 200 || !strings.Contains(c, "; Secure") {
		t.Errorf("login over TLS = %d, Set-Cookie %q, want 200 and a Secure cookie", resp.StatusCode, c)
	}
	// Plain HTTP on the TLS port gets nowhere.
	if resp, err := http.Get(strings.Replace(url, "https", "http", 1) + "/api/state"); err == nil {
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP on the TLS port answered 200")
		}
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
	cfg.TLSKey = filepath.Join(t.TempDir(), "missing.pem")
	if err := run(context.Background(), cfg, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "loading the TLS certificate") {
		t.Errorf("run with a missing key = %v, want an error naming the TLS files", err)
	}
}
