// Command bench compares Terrain's sync with CouchDB-style replication
// (a PouchDB 9.0.0 client against pouchdb-server 4.2.0 in memory) on the
// same documents, through the same simulated links, and prints one table.
//
// It starts terrain-central in process (embedded Badger backend, and
// PostgreSQL when -postgres or TERRAIN_TEST_POSTGRES gives a server),
// installs the peer's npm packages into bench/peer/node_modules, starts
// pouchdb-server, and puts a link simulator (link.go) in front of every
// server. Each laptop is a real one: Terrain's encrypted store and sync
// engine, or PouchDB on LevelDB in a Node process (bench/peer/client.js).
// The measurements also go to bench/results.jsonl. See docs/benchmarks.md.
//
//	go run ./bench              # everything (about 20 minutes)
//	go run ./bench -quick       # 300 members, loopback and satellite, PouchDB tuned
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run1(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	quick      bool
	pgURL      string
	peerDir    string
	out        string
	budget     time.Duration
	links      []Link
	sizes      []int
	systems    string
	npmCI      bool
	cpuProfile string
}

func parse(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg config
	var links, sizes string
	quickEnv, _ := strconv.ParseBool(getenv("BENCH_QUICK"))
	fs.BoolVar(&cfg.quick, "quick", quickEnv, "only the 300-member workloads, on loopback and satellite, PouchDB tuned only (BENCH_QUICK=1)")
	fs.StringVar(&cfg.pgURL, "postgres", getenv("TERRAIN_TEST_POSTGRES"), "PostgreSQL URL: also measure Terrain on PostgreSQL")
	fs.StringVar(&cfg.peerDir, "peer", "bench/peer", "directory of the peer's package.json and client.js")
	fs.StringVar(&cfg.out, "out", "bench/results.jsonl", "where to write the measurements")
	fs.DurationVar(&cfg.budget, "budget", 5*time.Minute, "longest measurement allowed on a slow link (estimated from loopback)")
	fs.StringVar(&links, "links", "", "links to measure: loopback,4g,satellite (default all; quick: loopback,satellite)")
	fs.StringVar(&sizes, "sizes", "", "first-sync sizes besides 300: 10000,100000 (default both; quick: none)")
	fs.StringVar(&cfg.systems, "systems", "terrain,pouchdb", "systems to measure: terrain, pouchdb or both")
	fs.BoolVar(&cfg.npmCI, "npm-ci", false, "run npm ci even when node_modules is current")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the Go side (Terrain's server and client)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if links == "" {
		links = "loopback,4g,satellite"
		if cfg.quick {
			links = "loopback,satellite"
		}
	}
	all := map[string]Link{loopback.Name: loopback, link4G.Name: link4G, satellite.Name: satellite}
	for _, name := range strings.Split(links, ",") {
		l, ok := all[strings.TrimSpace(name)]
		if !ok {
			return cfg, fmt.Errorf("unknown link %q", name)
		}
		cfg.links = append(cfg.links, l)
	}
	if sizes == "" && !cfg.quick {
		sizes = "10000,100000"
	}
	for _, s := range strings.Split(sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("bad size %q", s)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	return cfg, nil
}

func run1(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	started := time.Now()
	cfg, err := parse(args, getenv)
	if err != nil {
		return err
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "[%5.0fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, a...))
	}

	var systems []System
	if strings.Contains(cfg.systems, "terrain") {
		systems = append(systems, &terrainSystem{backend: "badger"})
		if cfg.pgURL != "" {
			systems = append(systems, &terrainSystem{backend: "postgres", pgURL: cfg.pgURL})
		} else {
			logf("no PostgreSQL (-postgres or TERRAIN_TEST_POSTGRES): Terrain on Badger only")
		}
	}
	if strings.Contains(cfg.systems, "pouchdb") {
		if err := installPeer(ctx, cfg.peerDir, cfg.npmCI, stderr); err != nil {
			return err
		}
		srv, err := startPeerServer(ctx, cfg.peerDir)
		if err != nil {
			return err
		}
		defer srv.Close()
		configs := []string{"default", "tuned"}
		if cfg.quick {
			configs = []string{"tuned"} // the peer at its best; the full run has both
		}
		for _, c := range configs {
			systems = append(systems, &peerSystem{config: c, server: srv, peerDir: cfg.peerDir})
		}
	}
	if len(systems) == 0 {
		return errors.New("no system to measure")
	}

	today := domain.DateOf(time.Now())
	r := &run{budget: cfg.budget, log: logf}
	order := []string{fmt.Sprintf(wFirstSync, 300)}
	for _, n := range cfg.sizes {
		order = append(order, fmt.Sprintf(wFirstSync, n))
	}
	order = append(order, fmt.Sprintf(wCut, 300), wQuiet, wPush, wEdits)

	ds, err := newDataset(300, today)
	if err != nil {
		return err
	}
	// Loopback first, one measurement at a time: there the CPU is what is
	// measured, and the slow links' estimates come from it.
	links := orderLinks(cfg.links)
	if links[0] == loopback {
		for _, sys := range systems {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.runJobs(ctx, r.consortiumJobs(ctx, sys, loopback, ds), false)
		}
	}
	// The large data sets stay on their servers for every link.
	worlds := map[int][]World{}
	defer func() {
		for _, ws := range worlds {
			for _, w := range ws {
				w.Close()
			}
		}
	}()
	for _, n := range cfg.sizes {
		big, err := newDataset(n, today)
		if err != nil {
			return err
		}
		for _, sys := range systems {
			if err := ctx.Err(); err != nil {
				return err
			}
			seedStart := time.Now()
			world, err := sys.NewWorld(ctx, fmt.Sprintf("members%d", n), big.members, true)
			if err != nil {
				return fmt.Errorf("%s %s: seed %d members: %w", sys.Name(), sys.Variant(), n, err)
			}
			worlds[n] = append(worlds[n], world)
			logf("%s %s: %d members seeded in %.1f s", sys.Name(), sys.Variant(), n, time.Since(seedStart).Seconds())
			if links[0] == loopback {
				r.firstSync(ctx, sys, world, loopback, n)
			}
		}
	}
	// Slow links: one measurement at a time too, so that none takes CPU
	// from another.
	for _, link := range links {
		if link == loopback {
			continue
		}
		for _, sys := range systems {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.runJobs(ctx, r.consortiumJobs(ctx, sys, link, ds), false)
		}
		for _, n := range cfg.sizes {
			for i, sys := range systems {
				if err := ctx.Err(); err != nil {
					return err
				}
				r.firstSync(ctx, sys, worlds[n][i], link, n)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if err := writeJSONL(cfg.out, r.results); err != nil {
		return fmt.Errorf("write %s: %w", cfg.out, err)
	}
	fmt.Fprintln(stdout)
	printTable(stdout, r.results, order)
	fmt.Fprintf(stdout, "\nRound trips: HTTP request/response exchanges plus new TCP connections, as the link saw them;\n"+
		"each measurement starts on a warm connection. Ratios are PouchDB / Terrain (Badger); above 1, Terrain wins.\n"+
		"Links: loopback; 4g = 50 ms each way, 10 Mbit/s; satellite = 300 ms each way, 1 Mbit/s.\n"+
		"Limit = (bytes up + down) / bandwidth + one round trip (a cut sync: three, for the request, a new\n"+
		"connection and a new request). Each package's own benchmarks: make bench-local (docs/benchmarks.md).\n")
	fmt.Fprintf(stdout, "%d measurements in %s; written to %s\n", countMeasured(r.results),
		time.Since(started).Round(time.Second), cfg.out)
	return nil
}

// orderLinks puts loopback first: the slow links' estimates come from it.
func orderLinks(links []Link) []Link {
	out := slices.Clone(links)
	slices.SortStableFunc(out, func(a, b Link) int { return int(a.Delay - b.Delay) })
	return out
}

func countMeasured(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Skipped == "" {
			n++
		}
	}
	return n
}

// newGenerator is the demo data set of n members, with visits enough for
// the push workload when n is today's size.
func newGenerator(n int, today domain.Date) *demo.Generator {
	size := demo.Size{Members: n, Coordinators: 1}
	if n <= 1000 {
		size.Visits = 1200
	}
	return demo.New(1, size, today)
}
