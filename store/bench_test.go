package store

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

// Benchmarks for the budgets of docs/benchmarks.md. Each reports its own p95 where the
// budget is a p95. The large fixture (20,000 members, 500,000 visits,
// 50,000 follow-ups) is built once per process.
//
//	go test -run '^$' -bench . -benchtime 2000x ./store/

// p95 records durations and reports their 95th percentile.
type p95 []time.Duration

func (p *p95) report(b *testing.B) {
	if len(*p) == 0 {
		return
	}
	s := slices.Clone(*p)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)*95/100].Microseconds())/1000, "p95-ms")
}

func openFixture(b *testing.B, size fixtureSize) *Store {
	b.Helper()
	dir := fixture(b, size)
	s, err := Open(dir, pass, Options{Now: fixtureNow, Logger: testLogger(b), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSearch20k types queries into the search box one keystroke at a
// time over 20,000 members; one op is one keystroke's search.
func BenchmarkSearch20k(b *testing.B) {
	s := openFixture(b, members20k)
	var queries []MemberQuery
	for _, text := range []string{"coopérative de solidarité", "montreal", "mutuelle prévoyance", "ILES", "sept-iles santé"} {
		for _, q := range typing(text) {
			queries = append(queries, MemberQuery{Text: q})
		}
	}
	queries = append(queries, MemberQuery{Text: "coop", Region: "09"}, MemberQuery{Service: "legal", LegalForm: domain.Mutual})
	var lat p95
	results := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		res, err := s.SearchMembers(queries[i%len(queries)])
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		results += len(res)
	}
	lat.report(b)
	b.ReportMetric(float64(results)/float64(len(lat)), "results/op")
}

// BenchmarkSaveVisit saves one new visit durably per op, into a store of
// 300 members (today's size) and into the large fixture.
func BenchmarkSaveVisit(b *testing.B) {
	b.Run("members=300", func(b *testing.B) {
		s, _, c := newStore(b)
		g := newFixtureGen(11)
		members := make([]domain.Member, 300)
		for i := range members {
			members[i] = g.member(i)
		}
		if err := s.Import(members, nil, nil); err != nil {
			b.Fatal(err)
		}
		benchSaves(b, s, members, g, c.Today())
	})
	b.Run("visits=500k", func(b *testing.B) {
		s := openFixture(b, largeSize)
		g := newFixtureGen(12)
		ids := fixtureMemberIDs(largeSize)
		members := make([]domain.Member, len(ids))
		for i, id := range ids {
			members[i].ID = id
		}
		benchSaves(b, s, members, g, domain.DateOf(fixtureNow()))
	})
}

func benchSaves(b *testing.B, s *Store, members []domain.Member, g *fixtureGen, today domain.Date) {
	var lat p95
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		v := g.visit(members[i%len(members)].ID, "0190f1f2-0000-7000-8000-000000000001")
		v.Date = today
		start := time.Now()
		err := s.SaveVisit(v)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	lat.report(b)
}

// BenchmarkVisitsOfMember500k lists one member's whole history (25 visits
// on average) with 500,000 visits in the store.
func BenchmarkVisitsOfMember500k(b *testing.B) {
	s := openFixture(b, largeSize)
	ids := fixtureMemberIDs(largeSize)
	total := 0
	var lat p95
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		hist, err := s.VisitsOfMember(ids[(i*7919)%len(ids)], 0)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		total += len(hist)
	}
	lat.report(b)
	b.ReportMetric(float64(total)/float64(len(lat)), "visits/op")
}

// BenchmarkOpen opens and closes the large fixture: "kdf=production" is what
// a coordinator waits for (Argon2id t=3, 64 MiB, p=4 included);
// "kdf=none" is the database part alone.
func BenchmarkOpen(b *testing.B) {
	dir := fixture(b, largeSize)
	opt := Options{Now: fixtureNow, Logger: testLogger(b), GCInterval: -1}
	b.Run("kdf=production", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(dir, pass, opt)
			if err != nil {
				b.Fatal(err)
			}
			if s.CountMembers() != largeSize.members {
				b.Fatalf("%d members", s.CountMembers())
			}
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	})
	b.Run("kdf=none", func(b *testing.B) {
		kf, err := readKeyFile(dir)
		if err != nil {
			b.Fatal(err)
		}
		master, err := kf.open(pass)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			s, err := openDB(dir, bytes.Clone(master), opt)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	})
}

// BenchmarkKDF is the passphrase check alone at production costs.
func BenchmarkKDF(b *testing.B) {
	kf, err := sealMaster(make([]byte, masterSize), pass, productionKDF)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := kf.open(pass); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSS500k measures the resident memory of a separate process that
// opens the large fixture and works with it (rssWorkload), opening the
// files of 200 members (a long day) or 3,000 (an unusually heavy session):
// VmRSS at the end and VmHWM, its peak. One op is one such process.
func BenchmarkRSS500k(b *testing.B) {
	dir := fixture(b, largeSize)
	for _, n := range []int{200, 3000} {
		b.Run(fmt.Sprintf("members-opened=%d", n), func(b *testing.B) {
			var rss, hwm float64
			for b.Loop() {
				cmd := childCommand("rss", envDir+"="+dir, fmt.Sprintf("%s=%d", envHistories, n))
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("rss child: %v\n%s", err, stderr.String())
				}
				var r, h int
				if _, err := fmt.Sscanf(string(out), "rss %d %d", &r, &h); err != nil {
					b.Fatalf("rss child printed %q: %v\n%s", out, err, stderr.String())
				}
				rss, hwm = float64(r)/1024, float64(h)/1024
				b.Logf("child:\n%s", stderr.String())
			}
			b.ReportMetric(rss, "MiB-rss")
			b.ReportMetric(hwm, "MiB-hwm")
		})
	}
}

// BenchmarkImport100k imports 100,000 visits, in pages of 10,000 as a pull
// would bring them, into a store holding 20,000 members (docs/benchmarks.md:
// applying 100,000 pulled records under 5 s). One op is the whole import.
func BenchmarkImport100k(b *testing.B) {
	g := newFixtureGen(21)
	members := make([]domain.Member, 20000)
	for i := range members {
		members[i] = g.member(i)
	}
	coordinator := g.id(fxEpoch)
	pages := make([][]domain.Visit, 10)
	for p := range pages {
		pages[p] = make([]domain.Visit, 10000)
		for i := range pages[p] {
			pages[p][i] = g.visit(members[g.rng.IntN(len(members))].ID, coordinator)
		}
	}
	for b.Loop() {
		b.StopTimer()
		s, _, _ := newStore(b)
		if err := s.Import(members, nil, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, page := range pages {
			if err := s.Import(nil, page, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "records/s")
}
