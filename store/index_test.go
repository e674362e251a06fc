package store

import (
	"slices"
	"testing"

	"leconsortium.coop/terrain/domain"
)

// TestSearchMatchesDomainRule checks the haystack search against the plain
// rule, domain.MatchFolded over every member, through bulk imports, renames
// and visits.
func TestSearchMatchesDomainRule(t *testing.T) {
	s, _, c := newStore(t)
	g := newFixtureGen(5)
	members := make([]domain.Member, 400)
	for i := range members {
		members[i] = g.member(i)
		members[i].Normalize()
	}
	if err := s.Import(members, nil, nil); err != nil {
		t.Fatal(err)
	}
	queries := []MemberQuery{
		{}, {Text: "c"}, {Text: "coop"}, {Text: "COOPÉRATIVE sol"}, {Text: "montreal"},
		{Text: "iles madeleine"}, {Text: "madeleine iles"}, {Text: "e"}, {Text: "zzz"},
		{Text: "gagnon"}, {Text: "1100000"}, {Text: "de de"}, {Text: "coop", Region: "09"},
		{Text: "mutuelle", Service: "hr"}, {LegalForm: domain.NonProfit}, {Text: "a", Limit: 7},
		{Text: "tremblay", Region: "06", Limit: 3}, {Text: " -- "},
	}
	check := func(stage string) {
		t.Helper()
		names := make(map[string]string, len(members))
		for _, m := range members {
			names[m.ID] = domain.Fold(m.Name)
		}
		for _, q := range queries {
			var want []string
			folded := domain.Fold(q.Text)
			for _, m := range members {
				if q.Region != "" && m.Region != q.Region || q.LegalForm != "" && m.LegalForm != q.LegalForm ||
					q.Service != "" && !slices.Contains(m.Services, q.Service) ||
					!domain.MatchFolded(m.SearchKey(), folded) {
					continue
				}
				want = append(want, m.ID)
			}
			slices.SortFunc(want, func(a, b string) int {
				if fa, fb := names[a], names[b]; fa != fb {
					if fa < fb {
						return -1
					}
					return 1
				}
				if a < b {
					return -1
				}
				return 1
			})
			if q.Limit > 0 && len(want) > q.Limit {
				want = want[:q.Limit]
			}
			got := ids(mustSearch(t, s, q), func(m MemberSummary) string { return m.ID })
			if !slices.Equal(got, want) {
				t.Fatalf("%s: search %+v: got %d results, want %d\ngot  %v\nwant %v", stage, q, len(got), len(want), got, want)
			}
		}
	}
	check("after import")

	// Renames move entries; a visit only changes a date.
	for i := 0; i < 40; i += 3 {
		members[i].Name = "Zénith " + members[i].Name
		mustSaveMember(t, s, members[i])
	}
	members[1].Municipality = "Îles-de-la-Madeleine"
	mustSaveMember(t, s, members[1])
	mustSaveVisit(t, s, newVisit(members[2].ID, c.Today()))
	check("after edits")

	more := make([]domain.Member, 100)
	for i := range more {
		more[i] = g.member(1000 + i)
		more[i].Normalize()
	}
	if err := s.Import(more, nil, nil); err != nil {
		t.Fatal(err)
	}
	members = append(members, more...)
	check("after a second import")
}
