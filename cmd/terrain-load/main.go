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
// The in-process server runs in a child process, and the run reports its
// resident memory: before the measured phase and at its peak (with -url,
// give -server-pid to have a local server's measured). Past -rss-limit the
// server is killed, so that a hostile run cannot exhaust the machine.
//
// -scenario chooses what the devices do:
//
//	sync        (default) sync in a loop, a share of them pushing edits
//	first-sync  every device fetches everything at once, from cursor 0, as
//	            the coordinator who sees every region (-members sets the
//	            data set's size)
//	hostile     every device keeps sending a gzip body of 32 kB that
//	            inflates to 31 MiB of white space before its JSON
//
//	go run ./cmd/terrain-load -devices 50 -duration 10s
//	go run ./cmd/terrain-load -scenario hostile -devices 200 -duration 20s
//	go run ./cmd/terrain-load -scenario first-sync -devices 200 -members 10000
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
	"maps"
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
	if os.Getenv(childEnv) != "" {
		if err := childMain(context.Background(), os.Args[1:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "terrain-load server:", err)
			os.Exit(1)
		}
		return
	}
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

	scenario     string
	members      int
	visits       int
	memoryBudget int64
	rssLimit     int64
	serverPID    int
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
	fs.StringVar(&cfg.scenario, "scenario", "sync", "sync, first-sync or hostile")
	fs.IntVar(&cfg.members, "members", 300, "members of the in-process server's data set")
	fs.IntVar(&cfg.visits, "visits", -1, "visits of the in-process server's data set; 8 per member when not given")
	fs.Int64Var(&cfg.memoryBudget, "memory-budget", 0, "the in-process server's memory budget in bytes; its default when 0")
	rssLimitMiB := fs.Int64("rss-limit", 8192, "MiB of resident memory past which the measured server is killed; 0 for no limit")
	maxRSSMiB := fs.Int64("max-rss", 0, "fail the run when the server's peak resident memory passes this many MiB; 0 not to check")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "with -url: the process id of a server on this machine, to measure its memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.rssLimit = *rssLimitMiB << 20
	if cfg.visits < 0 {
		cfg.visits = 8 * cfg.members
	}
	if cfg.devices < 1 || cfg.duration <= 0 || cfg.write < 0 || cfg.write > 1 || cfg.members < 1 {
		return errors.New("-devices must be positive, -duration positive, -write between 0 and 1, -members positive")
	}
	if !slices.Contains([]string{"sync", "first-sync", "hostile"}, cfg.scenario) {
		return fmt.Errorf("unknown -scenario %q: sync, first-sync or hostile", cfg.scenario)
	}
	if cfg.backend != "badger" && cfg.backend != "postgres" {
		return fmt.Errorf("unknown -backend %q: badger or postgres", cfg.backend)
	}
	if cfg.url == "" && cfg.backend == "postgres" && cfg.pgURL == "" {
		return errors.New("-backend postgres needs -postgres URL (or TERRAIN_TEST_POSTGRES)")
	}
	accounts := []account{}
	base := cfg.url
	pid := cfg.serverPID
	if base == "" {
		c, err := startChild(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.stop()
		base, pid = c.info.URL, c.pid
		for _, a := range c.info.Accounts {
			accounts = append(accounts, account{a.Email, a.Password})
		}
		if cfg.scenario == "first-sync" {
			accounts = []account{{c.info.Admin.Email, c.info.Admin.Password}}
		}
	} else {
		cfg.password = getenv("TERRAIN_LOAD_PASSWORD")
		if cfg.email == "" || cfg.password == "" {
			return errors.New("with -url, give -email and the password in TERRAIN_LOAD_PASSWORD")
		}
		accounts = append(accounts, account{cfg.email, cfg.password})
	}
	var watch func() *rssWatch
	if pid > 0 {
		watch = func() *rssWatch { return watchRSS(pid, cfg.rssLimit) }
	}
	res, err := load(ctx, base, accounts, cfg, watch)
	if res.rss != nil && res.rss.killed.Load() {
		res.print(out, cfg)
		return fmt.Errorf("the server passed -rss-limit (%d MiB) and was killed", cfg.rssLimit>>20)
	}
	if err != nil {
		return err
	}
	res.print(out, cfg)
	if *maxRSSMiB > 0 && res.rss != nil && res.rssPeak > *maxRSSMiB<<20 {
		return fmt.Errorf("the server's peak resident memory, %d MiB, is over -max-rss %d MiB", res.rssPeak>>20, *maxRSSMiB)
	}
	return nil
}

type account struct{ email, password string }

// loadPassword is the password of the in-process server's coordinators.
const loadPassword = "mot de passe du test de charge"

// startServer seeds a fresh backend with the demo data and serves it on a
// loopback port, with the same timeouts as terrain-central serve.
func startServer(ctx context.Context, cfg config) (string, []account, account, func(), error) {
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
			return "", nil, account{}, nil, err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
		db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet})
		if err != nil {
			stop()
			return "", nil, account{}, nil, err
		}
		b = db
	case "postgres":
		if cfg.pgURL == "" {
			return "", nil, account{}, nil, errors.New("-backend postgres needs -postgres URL (or TERRAIN_TEST_POSTGRES)")
		}
		var suffix [6]byte
		_, _ = rand.Read(suffix[:])
		schema := "terrain_load_" + hex.EncodeToString(suffix[:])
		pg, err := postgres.Open(ctx, cfg.pgURL, postgres.Options{Schema: schema, MaxConns: 16})
		if err != nil {
			return "", nil, account{}, nil, err
		}
		cleanup = append(cleanup, func() { dropSchema(cfg.pgURL, schema) })
		b = pg
	default:
		return "", nil, account{}, nil, fmt.Errorf("unknown -backend %q: badger or postgres", cfg.backend)
	}
	cleanup = append(cleanup, func() { b.Close() })
	// Sign-in cost is not what is measured: hash cheaply.
	srv, err := central.New(ctx, b, central.Options{Logger: quiet, Argon2: central.TestArgon2, MemoryBudget: cfg.memoryBudget})
	if err != nil {
		stop()
		return "", nil, account{}, nil, err
	}
	accounts, admin, err := seed(ctx, srv, demo.Size{Members: cfg.members, Visits: cfg.visits, Coordinators: 8})
	if err != nil {
		stop()
		return "", nil, account{}, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return "", nil, account{}, nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	go hs.Serve(ln)
	cleanup = append(cleanup, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	})
	return "http://" + ln.Addr().String(), accounts, admin, stop, nil
}

// seed loads a demo data set of size: members, their visits and
// follow-ups, the demo coordinators, and an administrator who sees every
// region; all get loadPassword.
func seed(ctx context.Context, srv *central.Server, size demo.Size) ([]account, account, error) {
	g := demo.New(1, size, domain.DateOf(time.Now()))
	var accounts []account
	for _, k := range g.Coordinators() {
		if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{ID: k.ID, Name: k.Name, Email: k.Email,
			Regions: k.Regions, Password: []byte(loadPassword)}); err != nil {
			return nil, account{}, err
		}
		accounts = append(accounts, account{k.Email, loadPassword})
	}
	admin := account{"charge-de-projet@terrain-load.example", loadPassword}
	if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: "Chargé de projet", Email: admin.email,
		Admin: true, Password: []byte(loadPassword)}); err != nil {
		return nil, account{}, err
	}
	if err := srv.Import(ctx, g.Members(), nil, nil); err != nil {
		return nil, account{}, err
	}
	var visits []domain.Visit
	if err := g.EachVisit(func(v domain.Visit) error { visits = append(visits, v); return nil }); err != nil {
		return nil, account{}, err
	}
	var fus []domain.FollowUp
	if err := g.EachFollowUp(func(f domain.FollowUp) error { fus = append(fus, f); return nil }); err != nil {
		return nil, account{}, err
	}
	return accounts, admin, srv.Import(ctx, nil, visits, fus)
}

// result is what a run measured.
type result struct {
	requests, errors, pushes, changes int
	// busy counts the answers 503 and 429 (retried after Retry-After), and
	// statuses every answer of a hostile run.
	busy      int
	statuses  map[int]int
	elapsed   time.Duration
	latencies []time.Duration
	rss       *rssWatch
	rssBase   int64
	rssPeak   int64
}

func (r *result) add(o result) {
	r.requests += o.requests
	r.errors += o.errors
	r.pushes += o.pushes
	r.changes += o.changes
	r.busy += o.busy
	r.latencies = append(r.latencies, o.latencies...)
	for k, v := range o.statuses {
		if r.statuses == nil {
			r.statuses = map[int]int{}
		}
		r.statuses[k] += v
	}
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
	fmt.Fprintf(out, "scenario=%s backend=%s devices=%d duration=%s requests=%d errors=%d pushes=%d changes=%d busy=%d\n",
		cfg.scenario, backend, cfg.devices, r.elapsed.Round(time.Millisecond), r.requests, r.errors, r.pushes, r.changes, r.busy)
	fmt.Fprintf(out, "sync requests/s: %.0f  latency p50 %s  p95 %s  p99 %s\n",
		float64(r.requests)/r.elapsed.Seconds(), pct(0.50).Round(time.Microsecond),
		pct(0.95).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	if len(r.statuses) > 0 {
		codes := slices.Sorted(maps.Keys(r.statuses))
		fmt.Fprint(out, "answers:")
		for _, c := range codes {
			fmt.Fprintf(out, " %d×%d", c, r.statuses[c])
		}
		fmt.Fprintln(out)
	}
	if r.rss != nil {
		killed := ""
		if r.rss.killed.Load() {
			killed = " (killed past -rss-limit)"
		}
		fmt.Fprintf(out, "server rss: before %d MiB, peak %d MiB%s\n", r.rssBase>>20, r.rssPeak>>20, killed)
	}
}

// load signs the devices in, prepares them for the scenario, then lets
// them all work at once for cfg.duration (a first sync: until each has
// everything) and counts. watch, when not nil, starts measuring the
// server's memory.
func load(ctx context.Context, base string, accounts []account, cfg config, watch func() *rssWatch) (result, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.devices, MaxConnsPerHost: cfg.devices, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 5 * time.Minute}
	devices := make([]*device, cfg.devices)
	for i := range devices {
		d, err := newDevice(ctx, client, base, accounts[i%len(accounts)], cfg.seed+int64(i))
		if err != nil {
			return result{}, fmt.Errorf("device %d: %w", i, err)
		}
		if cfg.scenario == "sync" {
			if _, err := d.sync(ctx, nil); err != nil { // first sync: the whole scope, not measured
				return result{}, fmt.Errorf("device %d, first sync: %w", i, err)
			}
		}
		devices[i] = d
	}
	var hostile []byte
	if cfg.scenario == "hostile" {
		hostile = inflatingPrefix()
	}
	var total result
	if watch != nil {
		total.rss = watch()
	}
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine result
			switch cfg.scenario {
			case "first-sync":
				st, err := d.sync(ctx, nil)
				mine.requests, mine.changes, mine.busy, mine.latencies = st.requests, st.changes, st.busy, st.latencies
				if err != nil {
					mine.errors++
				}
			case "hostile":
				mine.statuses = map[int]int{}
				for time.Now().Before(deadline) && ctx.Err() == nil {
					status, took, err := d.hostile(ctx, hostile)
					mine.requests++
					if err != nil {
						mine.errors++
						continue
					}
					mine.statuses[status]++
					mine.latencies = append(mine.latencies, took)
				}
			default:
				for time.Now().Before(deadline) && ctx.Err() == nil {
					muts := d.edits(cfg.write)
					st, err := d.sync(ctx, muts)
					mine.requests += st.requests
					mine.changes += st.changes
					mine.busy += st.busy
					mine.latencies = append(mine.latencies, st.latencies...)
					if len(muts) > 0 {
						mine.pushes++
					}
					if err != nil {
						mine.errors++
					}
				}
			}
			mu.Lock()
			total.add(mine)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	if total.rss != nil {
		total.rssBase, total.rssPeak = total.rss.stop()
	}
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
