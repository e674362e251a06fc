package store

import (
	"testing"

	"leconsortium.coop/terrain/domain"
)

// TestDiscardRefusedChain: two refused edits of the same field, discarded
// in either order, leave the value the server has. Discarding used to
// bring back the first refused value, which the device then kept apart
// from the server for good (found by the sync simulation, sync/sim).
func TestDiscardRefusedChain(t *testing.T) {
	for _, order := range [][]uint64{{1, 2}, {2, 1}} {
		s, _, _ := newStore(t)
		m := newMember("Coopérative de travail Nordik", "Sept-Îles", "09", domain.WorkerCoop)
		m.Normalize()
		mustApply(t, s, Page{Cursor: 3, Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 3, "central")}}, nil)
		for _, phone := range []string{"418 555-0101", "418 555-0102"} {
			edited := mustMember(t, s, m.ID)
			edited.Phone = phone
			mustSaveMember(t, s, edited)
		}
		mustApply(t, s, Page{AckedThrough: 2, Cursor: 3, Rejected: []Rejection{
			{Seq: 1, Kind: domain.KindMember, ID: m.ID, Code: "forbidden"},
			{Seq: 2, Kind: domain.KindMember, ID: m.ID, Code: "forbidden"},
		}}, nil)
		for _, seq := range order {
			if err := s.DiscardQuarantined(seq); err != nil {
				t.Fatal(err)
			}
		}
		if got := mustMember(t, s, m.ID); got.Phone != m.Phone {
			t.Errorf("discarding %v: phone = %q, want the server's %q", order, got.Phone, m.Phone)
		}
	}
}

// TestDiscardRefusedOverPulled: a refused edit that stayed on screen over a
// value pulled while it waited goes back to that pulled value, the
// server's, when discarded, not to the value the device had before the
// edit (found by the sync simulation, seed 53: a central office
// correction of a visit under a colleague's refused edit).
func TestDiscardRefusedOverPulled(t *testing.T) {
	s, _, _ := newStore(t)
	m := newMember("Coopérative de travail Nordik", "Sept-Îles", "09", domain.WorkerCoop)
	m.Normalize()
	mustApply(t, s, Page{Cursor: 3, Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 3, "central")}}, nil)
	edited := mustMember(t, s, m.ID)
	edited.Phone = "418 555-0101"
	mustSaveMember(t, s, edited)
	corrected := m
	corrected.Phone = "418 555-0199"
	mustApply(t, s, Page{Cursor: 4, Changes: []Change{changeOf(t, domain.KindMember, m.ID, corrected, 4, "central")}}, nil)
	if got := mustMember(t, s, m.ID); got.Phone != edited.Phone {
		t.Fatalf("phone = %q, want the unsent %q on top", got.Phone, edited.Phone)
	}
	mustApply(t, s, Page{AckedThrough: 1, Cursor: 4, Rejected: []Rejection{
		{Seq: 1, Kind: domain.KindMember, ID: m.ID, Code: "forbidden"},
	}}, nil)
	if err := s.DiscardQuarantined(1); err != nil {
		t.Fatal(err)
	}
	if got := mustMember(t, s, m.ID); got.Phone != corrected.Phone {
		t.Errorf("phone = %q, want the server's %q", got.Phone, corrected.Phone)
	}
}
