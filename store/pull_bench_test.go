package store

import (
	"testing"

	"leconsortium.coop/terrain/domain"
)

// BenchmarkApplyPull100k applies a first sync of 100,000 records (20,000
// members, then 80,000 visits) to an empty store, in pages of 2,000 changes
// as the server sends them, field versions included (DESIGN.md: applying
// 100,000 pulled records under 5 s). One op is the whole pull.
func BenchmarkApplyPull100k(b *testing.B) {
	g := newFixtureGen(33)
	coordinator := g.id(fxEpoch)
	var changes []Change
	members := make([]string, 20000)
	for i := range members {
		m := g.member(i)
		members[i] = m.ID
		changes = append(changes, changeOf(b, domain.KindMember, m.ID, m, uint64(len(changes)+1), "central"))
	}
	for range 80000 {
		v := g.visit(members[g.rng.IntN(len(members))], coordinator)
		changes = append(changes, changeOf(b, domain.KindVisit, v.ID, v, uint64(len(changes)+1), "central"))
	}
	for b.Loop() {
		b.StopTimer()
		s, _, _ := newStore(b)
		b.StartTimer()
		for i := 0; i < len(changes); i += 2000 {
			page := Page{Cursor: uint64(i + 2000), Epoch: "e", Changes: changes[i:min(i+2000, len(changes))]}
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
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(changes)), "µs/record")
}
