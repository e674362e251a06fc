package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// Benchmarks of the budgets in docs/benchmarks.md that the interface answers for,
// with 20,000 members (and, unless TERRAIN_BENCH_VISITS=0, their 500,000
// visits):
//
//	go test -tags ci,migrated_fynedo -run '^$' -bench . -benchtime 10x ./app/
//
// The profile is built once per process, or once per TERRAIN_APP_FIXTURES
// directory when that is set. Under Fyne's test driver nothing is painted:
// the figures are the app's own work (store, index, widgets, layout).

var (
	largeOnce sync.Once
	largeDir  string
	largeErr  error
)

const benchPassphrase = "bench passphrase"

// largeProfile returns a closed profile with demo.Large()'s members and,
// unless TERRAIN_BENCH_VISITS=0, its visits and follow-ups.
func largeProfile(b *testing.B) string {
	b.Helper()
	largeOnce.Do(func() {
		visits := os.Getenv("TERRAIN_BENCH_VISITS") != "0"
		root := os.Getenv("TERRAIN_APP_FIXTURES")
		if root == "" {
			root, largeErr = os.MkdirTemp("", "terrain-app-bench-")
			if largeErr != nil {
				return
			}
		}
		largeDir = filepath.Join(root, fmt.Sprintf("large-visits-%v", visits))
		if store.Exists(largeDir) {
			return
		}
		os.RemoveAll(largeDir)
		start := time.Now()
		largeErr = buildLarge(largeDir, visits)
		b.Logf("large profile built in %v", time.Since(start).Round(time.Second))
	})
	if largeErr != nil {
		b.Fatal(largeErr)
	}
	return largeDir
}

func buildLarge(dir string, withVisits bool) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Create(dir, []byte(benchPassphrase), store.Options{Now: fixedNow, Logger: quiet, GCInterval: -1})
	if err != nil {
		return err
	}
	defer st.Close()
	g := demo.New(demoSeed, demo.Large(), domain.DateOf(fixedNow()))
	if err := st.Import(g.Members(), nil, nil); err != nil {
		return err
	}
	if withVisits {
		var batch []domain.Visit
		flush := func() error {
			err := st.Import(nil, batch, nil)
			batch = batch[:0]
			return err
		}
		err := g.EachVisit(func(v domain.Visit) error {
			batch = append(batch, v)
			if len(batch) == 10000 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
	}
	return st.Close()
}

// BenchmarkColdStart20k measures, per op, a start on the large profile:
// unlocking (Argon2id by design, then Badger and the member index), then
// building the main window down to the first screen of the members list.
func BenchmarkColdStart20k(b *testing.B) {
	dir := largeProfile(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var lat p95
	for b.Loop() {
		start := time.Now()
		a := test.NewTempApp(b)
		w := a.NewWindow("")
		w.Resize(fyne.NewSize(1280, 800))
		u := New(a, w, Config{Profile: dir, Lang: "fr", Passphrase: benchPassphrase, Now: fixedNow, Logger: quiet})
		u.post = uiq.post
		u.Start()
		for !u.ready.Load() {
			uiq.drain()
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
		if n := len(u.members.rows); n != 20000 {
			b.Fatalf("listed %d members", n)
		}
		b.StopTimer()
		if err := u.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	lat.report(b)
}

// BenchmarkSearchKeystroke20k types into the search box, one keystroke per
// op, and measures until the list and the count show the new result.
func BenchmarkSearchKeystroke20k(b *testing.B) {
	dir := largeProfile(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := test.NewTempApp(b)
	w := a.NewWindow("")
	w.Resize(fyne.NewSize(1280, 800))
	u := New(a, w, Config{Profile: dir, Lang: "fr", Passphrase: benchPassphrase, Now: fixedNow, Logger: quiet})
	u.post = uiq.post
	b.Cleanup(func() { u.Close() })
	u.Start()
	for !u.ready.Load() {
		uiq.drain()
		time.Sleep(time.Millisecond)
	}
	m := u.members
	var keys []string
	for _, text := range []string{"coopérative de solidarité", "montreal", "mutuelle", "ILES", "sept-iles"} {
		for _, r := range text {
			keys = append(keys, string(r))
		}
		keys = append(keys, "") // empty the box: the whole list again
	}
	var lat p95
	results := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		start := time.Now()
		if k == "" {
			m.search.SetText("")
		} else {
			test.Type(m.search, k)
		}
		lat = append(lat, time.Since(start))
		results += len(m.rows)
	}
	lat.report(b)
	b.ReportMetric(float64(results)/float64(len(lat)), "rows/op")
}

// p95 records durations and reports their 95th percentile.
type p95 []time.Duration

func (p *p95) report(b *testing.B) {
	if len(*p) == 0 {
		return
	}
	s := slices.Clone(*p)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, "p50-ms")
}
