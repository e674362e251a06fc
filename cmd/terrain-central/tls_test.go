package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn.
func writeCert(t *testing.T, certFile, keyFile, cn string, mtime time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCertificateReloadedWithoutRestart: serve reads its certificate files
// again when they change, so a renewal needs no restart; it speaks HTTP/2
// and refuses TLS 1.1.
func TestCertificateReloadedWithoutRestart(t *testing.T) {
	defer func(d time.Duration) { reloadCheck = d }(reloadCheck)
	reloadCheck = 0
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "first", time.Now().Add(-time.Minute))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	var out, errb bytes.Buffer
	env := map[string]string{"TERRAIN_CENTRAL_DATA": filepath.Join(dir, "data"), "TERRAIN_CENTRAL_ADDR": "127.0.0.1:0",
		"TERRAIN_CENTRAL_TLS_CERT": certFile, "TERRAIN_CENTRAL_TLS_KEY": keyFile, "TERRAIN_CENTRAL_LOG_LEVEL": "warn"}
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] },
		argon: central.TestArgon2, ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, []string{"serve"}) }()
	var base string
	select {
	case base = <-addr:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
	served := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", base, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := served(); cn != "first" {
		t.Fatalf("first certificate: %q", cn)
	}
	writeCert(t, certFile, keyFile, "second", time.Now())
	if cn := served(); cn != "second" {
		t.Fatalf("after the files changed a new connection got %q, want the new certificate", cn)
	}

	hc := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://" + base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
	if conn, err := tls.Dial("tcp", base, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 connection was accepted")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d: %s", code, errb.String())
	}
}

// TestACMECacheInDataDirectory: the ACME cache defaults to acme/ inside
// the data directory, and the embedded database still opens with it there.
func TestACMECacheInDataDirectory(t *testing.T) {
	data := t.TempDir()
	cache := defaultACMECache(data)
	if cache != filepath.Join(data, "acme") {
		t.Fatalf("cache = %q", cache)
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "acme_account+key"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := badgerdb.Open(data, badgerdb.Options{GCInterval: -1})
	if err != nil {
		t.Fatalf("badger with acme/ in its directory: %v", err)
	}
	db.Close()
	if got := acmeDomains(" Central.Example.org, ,b.example.org"); strings.Join(got, "|") != "central.example.org|b.example.org" {
		t.Errorf("acmeDomains = %q", got)
	}
	expect(t, run(t, nil, "", "serve", "--postgres", "postgres://x", "--acme-domain", "a.example.org"), exitUsage, "--acme-cache")

	// The ACME configuration answers tls-alpn-01 challenges on the serving
	// port and offers HTTP/2; obtaining a certificate needs a reachable
	// authority (docs/operations.md has the manual check).
	cfg, err := serverTLS(context.Background(), tlsOptions{acmeDomains: []string{"a.example.org"}, acmeCache: cache}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetCertificate == nil || cfg.MinVersion != tls.VersionTLS12 || !slices.Contains(cfg.NextProtos, "acme-tls/1") || !slices.Contains(cfg.NextProtos, "h2") {
		t.Errorf("ACME TLS config: min %x, protos %v", cfg.MinVersion, cfg.NextProtos)
	}
	if _, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.example.org"}); err == nil {
		t.Error("a certificate was sought for a name not in --acme-domain")
	}
}
