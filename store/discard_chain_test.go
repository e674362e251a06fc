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
