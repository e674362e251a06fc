package store

import (
	"errors"
	"slices"
	"testing"

	"leconsortium.coop/terrain/domain"
)

func TestImport(t *testing.T) {
	s, dir, c := newStore(t)
	today := c.Today()
	a := newMember("  Coopérative de solidarité de Val-d'Or ", "Val-d'Or", "08", domain.SolidarityCoop, "hr")
	b := newMember("Mutuelle de Matane", "Matane", "01", domain.Mutual)
	va1, va2 := newVisit(a.ID, today.AddDays(-30)), newVisit(a.ID, today.AddDays(-3))
	vb := newVisit(b.ID, today.AddDays(-100))
	orphan := newVisit(domain.NewID(), today) // member not on this device
	fu := newFollowUp(a.ID, "hr", today.AddDays(-1))
	if err := s.Import([]domain.Member{a, b}, []domain.Visit{va1, va2, vb, orphan}, []domain.FollowUp{fu}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Fatalf("Import queued %d mutations", n)
	}
	got, err := s.Member(a.ID)
	if err != nil || got.Name != "Coopérative de solidarité de Val-d'Or" {
		t.Fatalf("imported member = %+v, %v (want normalised)", got, err)
	}
	lastVisit := func(id string) domain.Date {
		for _, m := range mustSearch(t, s, MemberQuery{}) {
			if m.ID == id {
				return m.LastVisit
			}
		}
		t.Fatalf("member %s not indexed", id)
		return domain.Date{}
	}
	if lastVisit(a.ID) != va2.Date || lastVisit(b.ID) != vb.Date {
		t.Fatalf("last visits = %v, %v", lastVisit(a.ID), lastVisit(b.ID))
	}
	if hist, _ := s.VisitsOfMember(a.ID, 0); !slices.Equal(ids(hist, visitID), []string{va2.ID, va1.ID}) {
		t.Fatalf("history = %v", ids(hist, visitID))
	}
	if fus, _ := s.FollowUps(FollowUpFilter{OverdueOnly: true}); len(fus) != 1 || fus[0].ID != fu.ID {
		t.Fatalf("overdue = %v", fus)
	}

	// A re-import that moves a visit: old index entries go, dates follow.
	va2.MemberID = b.ID
	fu.Status = domain.FollowUpDone
	if err := s.Import(nil, []domain.Visit{va2}, []domain.FollowUp{fu}); err != nil {
		t.Fatal(err)
	}
	if lastVisit(a.ID) != va1.Date || lastVisit(b.ID) != va2.Date {
		t.Fatalf("after moving a visit: %v, %v", lastVisit(a.ID), lastVisit(b.ID))
	}
	if fus, _ := s.FollowUps(FollowUpFilter{OverdueOnly: true}); len(fus) != 0 {
		t.Fatalf("done follow-up still overdue: %v", fus)
	}
	// A deleted visit comes back when the trusted source still has it.
	if err := s.DeleteVisit(va1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Visit(va1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted visit = %v", err)
	}
	if err := s.Import(nil, []domain.Visit{va1}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Visit(va1.ID); err != nil || got.ID != va1.ID {
		t.Fatalf("re-imported visit = %+v, %v", got, err)
	}
	if hist, _ := s.VisitsOfMember(a.ID, 0); !slices.Equal(ids(hist, visitID), []string{va1.ID}) {
		t.Fatalf("history after re-import = %v", ids(hist, visitID))
	}
	if err := s.TrimOutbox(1 << 62); err != nil {
		t.Fatal(err)
	}

	// A member arriving after its visits gets its last visit from the index.
	late := newMember("Coop arrivée en retard", "Laval", "13", domain.WorkerCoop)
	lv := newVisit(late.ID, today.AddDays(-8))
	if err := s.Import(nil, []domain.Visit{lv}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Import([]domain.Member{late}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if lastVisit(late.ID) != lv.Date {
		t.Fatalf("late member's last visit = %v", lastVisit(late.ID))
	}
	s = reopen(t, s, dir, c)
	if lastVisit(late.ID) != lv.Date || s.CountMembers() != 3 {
		t.Fatal("imported index lost on reopen")
	}

	// Bad ids are refused: keys are built from them.
	bad := newMember("Sans id", "Laval", "13", domain.WorkerCoop)
	bad.ID = "42"
	if err := s.Import([]domain.Member{bad}, nil, nil); !errors.Is(err, domain.ErrBadID) {
		t.Fatalf("Import with a bad id = %v", err)
	}
	badVisit := newVisit("../m/x", today)
	if err := s.Import(nil, []domain.Visit{badVisit}, nil); !errors.Is(err, domain.ErrBadID) {
		t.Fatalf("Import with a bad member id = %v", err)
	}
}

// TestImportManyBatches crosses several transaction budgets in one call.
func TestImportManyBatches(t *testing.T) {
	s, _, _ := newStore(t)
	g := newFixtureGen(3)
	members := make([]domain.Member, 300)
	for i := range members {
		members[i] = g.member(i)
	}
	visits := make([]domain.Visit, 6000)
	want := map[string]int{}
	for i := range visits {
		visits[i] = g.visit(members[i%len(members)].ID, g.id(fxEpoch))
		if d := dayNumber(visits[i].Date); d > want[visits[i].MemberID] {
			want[visits[i].MemberID] = d
		}
	}
	if err := s.Import(members, visits, nil); err != nil {
		t.Fatal(err)
	}
	if s.CountMembers() != len(members) {
		t.Fatalf("CountMembers = %d", s.CountMembers())
	}
	for _, m := range mustSearch(t, s, MemberQuery{}) {
		if dayNumber(m.LastVisit) != want[m.ID] {
			t.Fatalf("member %s last visit %v, want %d", m.ID, m.LastVisit, want[m.ID])
		}
	}
	hist, _ := s.VisitsOfMember(members[7].ID, 0)
	if len(hist) != len(visits)/len(members) {
		t.Fatalf("history of one member has %d visits", len(hist))
	}
	for i := 1; i < len(hist); i++ {
		if hist[i].Date.After(hist[i-1].Date) {
			t.Fatal("history not newest first")
		}
	}
}

func mustSearch(t *testing.T, s *Store, q MemberQuery) []MemberSummary {
	t.Helper()
	res, err := s.SearchMembers(q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
