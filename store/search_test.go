package store

import (
	"slices"
	"testing"

	"leconsortium.coop/terrain/domain"
)

func searchFixture(t *testing.T) (*Store, string, *testClock) {
	s, dir, c := newStore(t)
	for _, m := range []domain.Member{
		newMember("Coopérative de solidarité Les Îles", "Les Îles-de-la-Madeleine", "11", domain.SolidarityCoop, "hr", "legal"),
		newMember("Mutuelle de Montréal-Nord", "Montréal", "06", domain.Mutual, "accounting"),
		newMember("COOP ÉNERGIE DU SAGUENAY", "Saguenay", "02", domain.ProducerCoop, "web", "digital"),
		newMember("Centre communautaire l'Œuvre", "Québec", "03", domain.NonProfit),
		newMember("Fédération des coopératives funéraires", "Montréal", "06", domain.Federation, "legal"),
		newMember("éco-Quartier de Sainte-Thérèse", "Sainte-Thérèse", "15", domain.NonProfit, "communications"),
	} {
		mustSaveMember(t, s, m)
	}
	return s, dir, c
}

func search(t *testing.T, s *Store, q MemberQuery) []string {
	t.Helper()
	res, err := s.SearchMembers(q)
	if err != nil {
		t.Fatalf("SearchMembers(%+v): %v", q, err)
	}
	return names(res)
}

func TestSearchFolding(t *testing.T) {
	s, _, _ := searchFixture(t)
	cases := []struct {
		text string
		want []string
	}{
		{"cooperative", []string{"Coopérative de solidarité Les Îles", "Fédération des coopératives funéraires"}},
		{"COOPÉRATIVE", []string{"Coopérative de solidarité Les Îles", "Fédération des coopératives funéraires"}},
		{"montreal", []string{"Fédération des coopératives funéraires", "Mutuelle de Montréal-Nord"}},
		{"ILES", []string{"Coopérative de solidarité Les Îles"}},
		{"energie saguenay", []string{"COOP ÉNERGIE DU SAGUENAY"}},
		{"saguenay energie", []string{"COOP ÉNERGIE DU SAGUENAY"}},
		{"oeuvre", []string{"Centre communautaire l'Œuvre"}},
		{"therese", []string{"éco-Quartier de Sainte-Thérèse"}},
		{"tremblay", nil}, // every contact is a Tremblay: checked below with a limit
		{"introuvable", nil},
	}
	for _, tc := range cases {
		got := search(t, s, MemberQuery{Text: tc.text})
		if tc.text == "tremblay" {
			if len(got) != 6 {
				t.Errorf("search by contact name found %d members, want 6", len(got))
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestSearchOrderFiltersAndLimit(t *testing.T) {
	s, dir, c := searchFixture(t)
	// Sorted by folded name: "éco…" sorts among the e's, "COOP…" among the c's.
	all := search(t, s, MemberQuery{})
	want := []string{"Centre communautaire l'Œuvre", "COOP ÉNERGIE DU SAGUENAY",
		"Coopérative de solidarité Les Îles", "éco-Quartier de Sainte-Thérèse",
		"Fédération des coopératives funéraires", "Mutuelle de Montréal-Nord"}
	if !slices.Equal(all, want) {
		t.Fatalf("order = %q\nwant    %q", all, want)
	}
	if n := s.CountMembers(); n != 6 {
		t.Fatalf("CountMembers = %d", n)
	}
	if got := search(t, s, MemberQuery{Region: "06"}); !slices.Equal(got, []string{"Fédération des coopératives funéraires", "Mutuelle de Montréal-Nord"}) {
		t.Errorf("region 06 = %q", got)
	}
	if got := search(t, s, MemberQuery{LegalForm: domain.NonProfit}); !slices.Equal(got, []string{"Centre communautaire l'Œuvre", "éco-Quartier de Sainte-Thérèse"}) {
		t.Errorf("non-profits = %q", got)
	}
	if got := search(t, s, MemberQuery{Service: "legal"}); !slices.Equal(got, []string{"Coopérative de solidarité Les Îles", "Fédération des coopératives funéraires"}) {
		t.Errorf("service legal = %q", got)
	}
	if got := search(t, s, MemberQuery{Service: "legal", Region: "06", Text: "coop"}); !slices.Equal(got, []string{"Fédération des coopératives funéraires"}) {
		t.Errorf("combined = %q", got)
	}
	if got := search(t, s, MemberQuery{Text: "co", Limit: 2}); !slices.Equal(got, want[:2]) {
		t.Errorf("limit 2 = %q", got)
	}

	// A rename moves the member in the index, and the index survives a reopen.
	res, _ := s.SearchMembers(MemberQuery{Text: "mutuelle"})
	m, err := s.Member(res[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	m.Name = "Assurance mutuelle de Montréal-Nord"
	mustSaveMember(t, s, m)
	want = []string{"Assurance mutuelle de Montréal-Nord", "Centre communautaire l'Œuvre", "COOP ÉNERGIE DU SAGUENAY",
		"Coopérative de solidarité Les Îles", "éco-Quartier de Sainte-Thérèse", "Fédération des coopératives funéraires"}
	if got := search(t, s, MemberQuery{}); !slices.Equal(got, want) {
		t.Fatalf("after rename = %q", got)
	}
	s = reopen(t, s, dir, c)
	if got := search(t, s, MemberQuery{}); !slices.Equal(got, want) {
		t.Fatalf("after reopen = %q", got)
	}
	if got := search(t, s, MemberQuery{Text: "assurance"}); len(got) != 1 {
		t.Fatalf("renamed member not found by its new name: %q", got)
	}
}

func TestSearchResultsAreCopies(t *testing.T) {
	s, _, _ := searchFixture(t)
	res, _ := s.SearchMembers(MemberQuery{Service: "legal"})
	res[0].Services[0] = "mutated"
	again, _ := s.SearchMembers(MemberQuery{Service: "legal"})
	if len(again) != 2 || again[0].Services[0] == "mutated" {
		t.Fatal("a caller changed the index through a result")
	}
}

func TestMembersNotVisitedSince(t *testing.T) {
	s, _, c := newStore(t)
	never := mustSaveMember(t, s, newMember("Coop jamais visitée", "Amos", "08", domain.WorkerCoop))
	old := mustSaveMember(t, s, newMember("Coop visitée il y a longtemps", "Amos", "08", domain.WorkerCoop))
	older := mustSaveMember(t, s, newMember("Coop visitée il y a très longtemps", "Amos", "08", domain.WorkerCoop))
	recent := mustSaveMember(t, s, newMember("Coop visitée récemment", "Amos", "08", domain.WorkerCoop))
	former := newMember("Ancienne coop", "Amos", "08", domain.WorkerCoop)
	former.Status = domain.MemberFormer
	mustSaveMember(t, s, former)

	today := c.Today()
	mustSaveVisit(t, s, newVisit(old.ID, today.AddDays(-200)))
	mustSaveVisit(t, s, newVisit(older.ID, today.AddDays(-400)))
	mustSaveVisit(t, s, newVisit(recent.ID, today.AddDays(-10)))

	res, err := s.MembersNotVisitedSince(today.AddDays(-183))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{never.ID, older.ID, old.ID}
	if got := ids(res, func(m MemberSummary) string { return m.ID }); !slices.Equal(got, want) {
		t.Fatalf("not visited = %q, want never, older, old", names(res))
	}
	if res[1].LastVisit != today.AddDays(-400) || !res[0].LastVisit.IsZero() {
		t.Fatalf("last visits = %v, %v", res[0].LastVisit, res[1].LastVisit)
	}
	// A new visit takes the member off the list.
	mustSaveVisit(t, s, newVisit(old.ID, today))
	res, _ = s.MembersNotVisitedSince(today.AddDays(-183))
	if len(res) != 2 {
		t.Fatalf("after visiting: %q", names(res))
	}
}
