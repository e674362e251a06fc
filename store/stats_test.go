package store

import (
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestCountVisits(t *testing.T) {
	s, _, _ := newStore(t)
	a := mustSaveMember(t, s, newMember("Coopérative de l’Anse", "Rimouski", "01", domain.ConsumerCoop))
	b := mustSaveMember(t, s, newMember("Mutuelle du Nord", "Sept-Îles", "09", domain.Mutual))
	mustSaveMember(t, s, newMember("OBNL sans visite", "Gaspé", "11", domain.NonProfit)) // counted nowhere
	day := domain.NewDate
	for _, v := range []struct {
		member string
		date   domain.Date
	}{
		{a.ID, day(2025, 1, 31)}, // before the range
		{a.ID, day(2025, 2, 1)},  // first day of the range
		{a.ID, day(2025, 2, 14)},
		{a.ID, day(2025, 4, 30)},
		{a.ID, day(2025, 5, 1)}, // after the range
		{b.ID, day(2025, 3, 3)},
		{b.ID, day(2025, 4, 30)}, // last day of the range
	} {
		mustSaveVisit(t, s, newVisit(v.member, v.date))
	}
	gone := mustSaveVisit(t, s, newVisit(b.ID, day(2025, 3, 20)))
	if err := s.DeleteVisit(gone.ID); err != nil {
		t.Fatal(err)
	}

	got, err := s.CountVisits(day(2025, 2, 1), day(2025, 4, 30))
	if err != nil {
		t.Fatal(err)
	}
	want := []MonthCount{{2025, time.February, 2}, {2025, time.March, 1}, {2025, time.April, 2}}
	if len(got.Months) != len(want) {
		t.Fatalf("months = %+v, want %+v", got.Months, want)
	}
	for i := range want {
		if got.Months[i] != want[i] {
			t.Errorf("month %d = %+v, want %+v", i, got.Months[i], want[i])
		}
	}
	if got.Total != 5 {
		t.Errorf("total = %d, want 5", got.Total)
	}
	if got.ByRegion["01"] != 3 || got.ByRegion["09"] != 2 || len(got.ByRegion) != 2 {
		t.Errorf("by region = %v, want 01:3 09:2", got.ByRegion)
	}

	// A range across a new year, with empty months kept.
	got, err = s.CountVisits(day(2024, 11, 15), day(2025, 1, 31))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Months) != 3 || got.Months[0].Month != time.November || got.Months[2].Year != 2025 ||
		got.Months[2].Visits != 1 || got.Total != 1 {
		t.Errorf("across the year: %+v", got)
	}

	if _, err := s.CountVisits(day(2025, 5, 1), day(2025, 4, 1)); err == nil {
		t.Error("an inverted range was accepted")
	}
}
