package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"leconsortium.coop/terrain/central"
)

// Server timeouts: a slow or stalled client never holds a connection for
// long, and an idle one is closed after a minute, so that a thousand
// sockets cost little. A request body has its own deadlines (15 s without
// a byte, 60 s in all: central.Options.BodyStall and BodyTimeout), answered
// 408; readTimeout only backs them up for requests whose body the handler
// does not read.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 75 * time.Second
	writeTimeout      = 5 * time.Minute
	idleTimeout       = time.Minute
	shutdownTimeout   = 30 * time.Second
)

func (c *cli) serve(ctx context.Context, args []string) (err error) {
	f := c.flags("serve")
	addr := f.str("addr", "127.0.0.1:8470", "address to listen on")
	sf := f.store()
	certFile := f.str("tls-cert", "", "TLS certificate (PEM)")
	keyFile := f.str("tls-key", "", "TLS private key (PEM)")
	acmeDomain := f.str("acme-domain", "", "public DNS name(s), comma-separated, to get certificates for from an ACME authority "+
		"(Let's Encrypt); needs port 443 reachable from the Internet")
	acmeCache := f.str("acme-cache", "", "directory of ACME keys and certificates (default: acme/ in --data)")
	acmeEmail := f.str("acme-email", "", "contact address given to the ACME authority (expiry warnings)")
	acmeURL := f.str("acme-directory", "", "ACME directory URL (default: Let's Encrypt's production directory)")
	plain := f.boolean("allow-plain-http", "serve plain HTTP on a non-loopback address (behind a TLS proxy)")
	addrFailures := f.str("addr-failures", "20", "failed sign-ins one client address may make in an hour before it is slowed down; "+
		"0 for no per-address limit (behind a reverse proxy every client has the proxy's address)")
	budget := f.str("memory-budget", strconv.Itoa(central.DefaultMemoryBudget>>20), "MiB of memory requests may make the server hold; "+
		"past it a request is answered 503 with Retry-After, which the app waits out")
	retention := f.retentionFlag()
	metricsAddr := f.str("metrics-addr", "", "address of a second listener serving GET /metrics (Prometheus), "+
		"e.g. 127.0.0.1:9470; none when empty. Keep it off the Internet")
	level := f.str("log-level", "info", "debug, info, warn or error")
	format := f.str("log-format", "text", "text or json")
	if _, err := f.parse(args, 0, ""); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return usagef("give both --tls-cert and --tls-key, or neither")
	}
	tlsOpt := tlsOptions{certFile: *certFile, keyFile: *keyFile, acmeDomains: acmeDomains(*acmeDomain),
		acmeCache: cmp.Or(*acmeCache, defaultACMECache(*sf.data)), acmeEmail: *acmeEmail, acmeURL: *acmeURL}
	if len(tlsOpt.acmeDomains) > 0 && *certFile != "" {
		return usagef("give --acme-domain or --tls-cert/--tls-key, not both")
	}
	if len(tlsOpt.acmeDomains) > 0 && tlsOpt.acmeCache == "" {
		return usagef("--acme-domain with --postgres needs --acme-cache DIR, where the certificates are kept")
	}
	perAddr, err := strconv.Atoi(*addrFailures)
	if err != nil || perAddr < 0 {
		return usagef("--addr-failures is a number of attempts, 0 or more (0: no per-address limit), not %q", *addrFailures)
	}
	if perAddr == 0 {
		perAddr = -1 // central.Options reads 0 as "the default"
	}
	budgetMiB, err := strconv.ParseInt(*budget, 10, 64)
	if err != nil || budgetMiB < 16 || budgetMiB > 1<<20 {
		return usagef("--memory-budget is a number of MiB, at least 16, not %q", *budget)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(central.SoftMemoryLimit(budgetMiB << 20))
	}
	months, err := parseRetention(*retention)
	if err != nil {
		return err
	}
	log, err := c.logger(*level, *format)
	if err != nil {
		return err
	}
	tlsConfig, err := serverTLS(ctx, tlsOpt, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if tlsConfig == nil && !*plain && !loopback(ln.Addr()) {
		ln.Close()
		return usagef("refusing to serve plain HTTP on %s, which is not loopback: give --tls-cert and --tls-key, or --allow-plain-http behind a TLS proxy", ln.Addr())
	}
	srv, backend, err := c.open(ctx, sf, central.Options{Logger: log, AddrFailures: perAddr, VisitRetentionMonths: months,
		MemoryBudget: budgetMiB << 20})
	if err != nil {
		ln.Close()
		return err
	}
	defer closeAll(backend, &err)
	// Visits past the retention period are erased now and every day; the
	// purge stops before the backend closes.
	rctx, stopRetention := context.WithCancel(ctx)
	retained := make(chan struct{})
	go func() {
		defer close(retained)
		srv.KeepRetention(rctx, retentionPeriod)
	}()
	defer func() {
		stopRetention()
		<-retained
	}()

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	scheme := "http"
	serve := func() error { return hs.Serve(ln) }
	if tlsConfig != nil {
		// ServeTLS, unlike Serve over a TLS listener, offers HTTP/2.
		scheme = "https"
		serve = func() error { return hs.ServeTLS(ln, "", "") }
	}
	served := make(chan error, 1)
	go func() { served <- serve() }()
	if *metricsAddr != "" {
		ms, err := serveMetrics(*metricsAddr, srv, log)
		if err != nil {
			hs.Close()
			<-served
			return err
		}
		defer ms.Close()
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "epoch", srv.Epoch())
	fmt.Fprintf(c.stdout, "terrain-central listening on %s://%s\n", scheme, ln.Addr())
	if c.ready != nil {
		c.ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

func loopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// serveMetrics serves GET /metrics on its own plain-HTTP listener, for a
// Prometheus on the internal network.
func serveMetrics(addr string, srv *central.Server, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler())
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := ms.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return ms, nil
}
