package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// tlsOptions are serve's TLS flags.
type tlsOptions struct {
	certFile, keyFile string
	// acmeDomains, when set, get certificates from an ACME authority (Let's
	// Encrypt by default) kept in acmeCache.
	acmeDomains []string
	acmeCache   string
	acmeEmail   string
	acmeURL     string
}

// serverTLS returns the TLS configuration of serve (nil for plain HTTP):
// TLS 1.2 at least, HTTP/2 offered (http.Server.ServeTLS adds "h2"), and
// certificates that change without a restart, either renewed by ACME or
// reloaded from disk when the files change or on SIGHUP.
func serverTLS(ctx context.Context, o tlsOptions, log *slog.Logger) (*tls.Config, error) {
	switch {
	case len(o.acmeDomains) > 0:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(o.acmeDomains...),
			Cache:      autocert.DirCache(o.acmeCache),
			Email:      o.acmeEmail,
		}
		if o.acmeURL != "" {
			m.Client = &acme.Client{DirectoryURL: o.acmeURL}
		}
		cfg := m.TLSConfig() // answers the tls-alpn-01 challenge on this port
		cfg.MinVersion = tls.VersionTLS12
		return cfg, nil
	case o.certFile != "":
		r, err := newCertReloader(o.certFile, o.keyFile, log)
		if err != nil {
			return nil, err
		}
		go r.watch(ctx)
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
	}
	return nil, nil
}

// acmeDomains splits --acme-domain's comma-separated list.
func acmeDomains(s string) []string {
	var out []string
	for d := range strings.SplitSeq(s, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, strings.ToLower(d))
		}
	}
	return out
}

// defaultACMECache is where ACME keys and certificates live by default: in
// the data directory, which the service already owns and backs up.
func defaultACMECache(data string) string {
	if data == "" {
		return ""
	}
	return filepath.Join(data, "acme")
}

// certReloader serves a certificate read from files, read again when
// they change (checked at most every reloadCheck, at a handshake) or when
// the process receives SIGHUP. A failed reload keeps the certificate in
// use and logs why: a renewal half written is not fatal.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string // size and mtime of both files when loaded
	checkedAt time.Time
}

// reloadCheck is a variable for the tests, which check at every handshake.
var reloadCheck = time.Second

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) fileStamp() string {
	var b strings.Builder
	for _, name := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(name); err == nil {
			fmt.Fprintf(&b, "%d@%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// load reads the files; the caller holds mu, or is the constructor.
func (r *certReloader) load() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	r.cert, r.stamp = &cert, stamp
	return nil
}

// reload loads the files again if forced or if they changed.
func (r *certReloader) reload(force bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkedAt = time.Now()
	if !force && r.fileStamp() == r.stamp {
		return
	}
	if err := r.load(); err != nil {
		r.log.Error("TLS certificate not reloaded; the previous one is still served", "err", err)
		return
	}
	if leaf := r.cert.Leaf; leaf != nil {
		r.log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	} else {
		r.log.Info("TLS certificate reloaded")
	}
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	due := time.Since(r.checkedAt) >= reloadCheck
	r.mu.Unlock()
	if due {
		r.reload(false)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert == nil {
		return nil, errors.New("no TLS certificate")
	}
	return r.cert, nil
}

// watch reloads on SIGHUP until ctx ends (on Windows no SIGHUP comes; the
// files are still checked at handshakes).
func (r *certReloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload(true)
		}
	}
}
