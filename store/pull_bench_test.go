package store

import (
	"testing"

	"leconsortium.coop/terrain/domain"
)

// BenchmarkApplyPull100k applies a first sync of 100,000 records (20,000
// members, then 80,000 visits) to an empty store, in pages of 2,000 changes
// as the server sends them, field versions included (docs/benchmarks.md: applying
// 100,000 pulled records under 5 s). One op is the whole pull. Each page's
// changes are decoded while the timer is stopped, just before it is
// applied: the app holds one page at a time, and 100,000 decoded changes
// held at once would time the garbage collector scanning them.
func BenchmarkApplyPull100k(b *testing.B) {
	g := newFixtureGen(33)
	coordinator := g.id(fxEpoch)
	type record struct {
		kind domain.Kind
		id   string
		v    any
	}
	var records []record
	members := make([]string, 20000)
	for i := range members {
		m := g.member(i)
		members[i] = m.ID
		records = append(records, record{domain.KindMember, m.ID, m})
	}
	for range 80000 {
		v := g.visit(members[g.rng.IntN(len(members))], coordinator)
		records = append(records, record{domain.KindVisit, v.ID, v})
	}
	const pageSize = 2000
	for b.Loop() {
		b.StopTimer()
		s, _, _ := newStore(b)
		for i := 0; i < len(records); i += pageSize {
			b.StopTimer()
			page := Page{Cursor: uint64(i + pageSize), Epoch: "e"}
			for j, r := range records[i:min(i+pageSize, len(records))] {
				page.Changes = append(page.Changes, changeOf(b, r.kind, r.id, r.v, uint64(i+j+1), "central"))
			}
			b.StartTimer()
			if _, err := s.ApplyPull(page, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if n := s.CountMembers(); n != len(members) {
			b.Fatalf("%d members", n)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(records)), "µs/record")
}
