// Command terrain-load measures how many sync requests per second one
// terrain-central sustains: simulated devices on loopback sync in a loop for
// a bounded time, a quarter of the requests carrying an edit (a new visit or
// a member's notes), and every page of every sync counting as one request.
//
// By default it starts its own server, on the embedded backend or on
// PostgreSQL (-backend postgres -postgres URL), seeded with the demo data;
// with -url it loads a running server instead (-email, password in
// TERRAIN_LOAD_PASSWORD).
//
//	go run ./cmd/terrain-load -devices 50 -duration 10s
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/central/postgres"
	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "terrain-load:", err)
		os.Exit(1)
	}
}

// config is what a run measures.
type config struct {
	devices  int
	duration time.Duration
	write    float64
	backend  string
	pgURL    string
	url      string
	email    string
	password string
	seed     int64
}

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("terrain-load", flag.ContinueOnError)
	var cfg config
	fs.IntVar(&cfg.devices, "devices", 50, "simulated devices")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long to measure")
	fs.Float64Var(&cfg.write, "write", 0.25, "share of requests that push an edit")
	fs.StringVar(&cfg.backend, "backend", "badger", "backend of the in-process server: badger or postgres")
	fs.StringVar(&cfg.pgURL, "postgres", getenv("TERRAIN_TEST_POSTGRES"), "PostgreSQL URL for -backend postgres")
	fs.StringVar(&cfg.url, "url", "", "load this running server instead of starting one")
	fs.StringVar(&cfg.email, "email", "", "with -url: the coordinator every device signs in as")
	fs.Int64Var(&cfg.seed, "seed", 1, "seed of the devices' choices")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.devices < 1 || cfg.duration <= 0 || cfg.write < 0 || cfg.write > 1 {
		return errors.New("-devices must be positive, -duration positive, -write between 0 and 1")
	}
	accounts := []account{}
	base := cfg.url
	if base == "" {
		srvBase, accts, stop, err := startServer(ctx, cfg)
		if err != nil {
			return err
		}
		defer stop()
		base, accounts = srvBase, accts
	} else {
		cfg.password = getenv("TERRAIN_LOAD_PASSWORD")
		if cfg.email == "" || cfg.password == "" {
			return errors.New("with -url, give -email and the password in TERRAIN_LOAD_PASSWORD")
		}
		accounts = append(accounts, account{cfg.email, cfg.password})
	}
	res, err := load(ctx, base, accounts, cfg)
	if err != nil {
		return err
	}
	res.print(out, cfg)
	return nil
}

type account struct{ email, password string }

// loadPassword is the password of the in-process server's coordinators.
const loadPassword = "mot de passe du test de charge"

// startServer seeds a fresh backend with the demo data and serves it on a
// loopback port, with the same timeouts as terrain-central serve.
func startServer(ctx context.Context, cfg config) (string, []account, func(), error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var b central.Backend
	var cleanup []func()
	stop := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	switch cfg.backend {
	case "badger":
		dir, err := os.MkdirTemp("", "terrain-load-*")
		if err != nil {
			return "", nil, nil, err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
		db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet})
		if err != nil {
			stop()
			return "", nil, nil, err
		}
		b = db
	case "postgres":
		if cfg.pgURL == "" {
			return "", nil, nil, errors.New("-backend postgres needs -postgres URL (or TERRAIN_TEST_POSTGRES)")
		}
		var suffix [6]byte
		_, _ = rand.Read(suffix[:])
		schema := "terrain_load_" + hex.EncodeToString(suffix[:])
		pg, err := postgres.Open(ctx, cfg.pgURL, postgres.Options{Schema: schema, MaxConns: 16})
		if err != nil {
			return "", nil, nil, err
		}
		cleanup = append(cleanup, func() { dropSchema(cfg.pgURL, schema) })
		b = pg
	default:
		return "", nil, nil, fmt.Errorf("unknown -backend %q: badger or postgres", cfg.backend)
	}
	cleanup = append(cleanup, func() { b.Close() })
	// Sign-in cost is not what is measured: hash cheaply.
	srv, err := central.New(ctx, b, central.Options{Logger: quiet, Argon2: central.TestArgon2})
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	accounts, err := seed(ctx, srv)
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	go hs.Serve(ln)
	cleanup = append(cleanup, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	})
	return "http://" + ln.Addr().String(), accounts, stop, nil
}

// seed loads the demo data set: 300 members, their visits and follow-ups,
// and the demo coordinators, who all get loadPassword.
func seed(ctx context.Context, srv *central.Server) ([]account, error) {
	g := demo.New(1, demo.Small(), domain.DateOf(time.Now()))
	var accounts []account
	for _, k := range g.Coordinators() {
		if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{ID: k.ID, Name: k.Name, Email: k.Email,
			Regions: k.Regions, Password: []byte(loadPassword)}); err != nil {
			return nil, err
		}
		accounts = append(accounts, account{k.Email, loadPassword})
	}
	if err := srv.Import(ctx, g.Members(), nil, nil); err != nil {
		return nil, err
	}
	var visits []domain.Visit
	if err := g.EachVisit(func(v domain.Visit) error { visits = append(visits, v); return nil }); err != nil {
		return nil, err
	}
	var fus []domain.FollowUp
	if err := g.EachFollowUp(func(f domain.FollowUp) error { fus = append(fus, f); return nil }); err != nil {
		return nil, err
	}
	return accounts, srv.Import(ctx, nil, visits, fus)
}

// result is what a run measured.
type result struct {
	requests, errors, pushes, changes int
	elapsed                           time.Duration
	latencies                         []time.Duration
}

func (r result) print(out io.Writer, cfg config) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	backend := cfg.backend
	if cfg.url != "" {
		backend = cfg.url
	}
	fmt.Fprintf(out, "backend=%s devices=%d duration=%s requests=%d errors=%d pushes=%d changes=%d\n",
		backend, cfg.devices, r.elapsed.Round(time.Millisecond), r.requests, r.errors, r.pushes, r.changes)
	fmt.Fprintf(out, "sync requests/s: %.0f  latency p50 %s  p95 %s  p99 %s\n",
		float64(r.requests)/r.elapsed.Seconds(), pct(0.50).Round(time.Microsecond),
		pct(0.95).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
}

// load signs the devices in, brings each up to date, then lets them all
// sync in a loop for cfg.duration and counts.
func load(ctx context.Context, base string, accounts []account, cfg config) (result, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.devices, MaxConnsPerHost: cfg.devices, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	devices := make([]*device, cfg.devices)
	for i := range devices {
		d, err := newDevice(ctx, client, base, accounts[i%len(accounts)], cfg.seed+int64(i))
		if err != nil {
			return result{}, fmt.Errorf("device %d: %w", i, err)
		}
		if _, err := d.sync(ctx, nil); err != nil { // first sync: the whole scope, not measured
			return result{}, fmt.Errorf("device %d, first sync: %w", i, err)
		}
		devices[i] = d
	}
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var mu sync.Mutex
	var total result
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine result
			for time.Now().Before(deadline) && ctx.Err() == nil {
				muts := d.edits(cfg.write)
				st, err := d.sync(ctx, muts)
				mine.requests += st.requests
				mine.changes += st.changes
				mine.latencies = append(mine.latencies, st.latencies...)
				if len(muts) > 0 {
					mine.pushes++
				}
				if err != nil {
					mine.errors++
				}
			}
			mu.Lock()
			total.requests += mine.requests
			total.errors += mine.errors
			total.pushes += mine.pushes
			total.changes += mine.changes
			total.latencies = append(total.latencies, mine.latencies...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	if ctx.Err() != nil {
		return total, ctx.Err()
	}
	return total, nil
}

// dropSchema removes a schema made for one run; a failure leaves it behind
// in a throwaway database, which is not worth stopping for.
func dropSchema(url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = postgres.DropSchema(ctx, url, schema)
}
