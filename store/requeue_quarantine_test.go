package store

import (
	"errors"
	"testing"

	"leconsortium.coop/terrain/domain"
)

// TestRequeueSendsRefusedEditsOfARecordItSendsWhole: after a restore, a
// follow-up the restored server lacks is edited before the refetch has
// reached the end of the feed; the edit is pushed first and refused (no such
// record). Requeue then sends the record whole, the edit's value with it,
// and the server takes it. The refusal stays where the coordinator saw it,
// but discarding it must not take the device back to the value before the
// edit while the server holds the edit (soak seed 1796698843794441013).
func TestRequeueSendsRefusedEditsOfARecordItSendsWhole(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("Coopérative du Fjord", "Saguenay", "02", domain.WorkerCoop)
	m.Normalize()
	mustApply(t, s, Page{Cursor: 1, Epoch: "old", Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 1, "central")}}, nil)
	f := mustSaveFollowUp(t, s, newFollowUp(m.ID, "hr", c.Today().AddDays(10)))
	if err := s.BeginRefetch(); err != nil {
		t.Fatal(err)
	}
	// The restored server's first page; the rest of the feed is not
	// pulled yet (a 503), so Requeue has not run.
	mustApply(t, s, Page{Cursor: 1, Epoch: "new", Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 1, "central")}}, nil)
	f.AssignedTo = "Léa"
	mustSaveFollowUp(t, s, f)
	ob := outbox(t, s)
	if len(ob) != 1 {
		t.Fatalf("outbox = %+v, want the edit", ob)
	}
	edit := ob[0].Seq
	mustApply(t, s, Page{AckedThrough: edit, Cursor: 1, Epoch: "new", Rejected: []Rejection{
		{Seq: edit, Kind: domain.KindFollowUp, ID: f.ID, Code: "forbidden", Message: "no such record in your regions"},
	}}, nil)
	if n, err := s.Requeue(); err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v; want the follow-up sent whole", n, err)
	}
	ob = outbox(t, s)
	if len(ob) != 1 || ob[0].ID != f.ID || string(ob[0].Fields["assigned_to"]) != `"Léa"` {
		t.Fatalf("outbox after Requeue = %+v, want the follow-up whole with the edit", ob)
	}
	// The server takes it and sends it back.
	mustApply(t, s, Page{AckedThrough: ob[0].Seq, Cursor: 2, Epoch: "new", Changes: []Change{
		changeOf(t, domain.KindFollowUp, f.ID, f, 2, s.device)}}, nil)
	q, err := s.Quarantine()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range q {
		if err := s.DiscardQuarantined(x.Mutation.Seq); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.FollowUp(f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AssignedTo != "Léa" {
		t.Errorf("assigned to = %q after discarding the quarantine, want the server's %q", got.AssignedTo, "Léa")
	}
	if len(q) != 1 {
		t.Errorf("quarantine = %+v, want the refusal the coordinator saw", q)
	}
}

// TestRequeueDeletesAgainWhatComesBack: this device deleted a visit another
// device recorded; the server is restored from a backup without the visit,
// so the delete has nothing to act on after the refetch. When the author's
// device sends the visit again (its own requeue), this device's delete must
// still hold: it deletes the visit again (soak seed 1796698843794440997).
func TestRequeueDeletesAgainWhatComesBack(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("Coopérative du Bic", "Rimouski", "01", domain.ConsumerCoop)
	m.Normalize()
	v := newVisit(m.ID, c.Today())
	mustApply(t, s, Page{Cursor: 2, Epoch: "old", Changes: []Change{
		changeOf(t, domain.KindMember, m.ID, m, 1, "central"),
		changeOf(t, domain.KindVisit, v.ID, v, 2, "other-device"),
	}}, nil)
	if err := s.DeleteVisit(v.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginRefetch(); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, Page{Cursor: 1, Epoch: "new", Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 1, "central")}}, nil)
	if _, err := s.Requeue(); err != nil {
		t.Fatal(err)
	}
	if ob := outbox(t, s); len(ob) != 0 {
		t.Fatalf("outbox after the refetch = %+v, want nothing: the restored server lacks the visit", ob)
	}
	// The author's device sends it again.
	mustApply(t, s, Page{Cursor: 2, Epoch: "new", Changes: []Change{changeOf(t, domain.KindVisit, v.ID, v, 2, "other-device")}}, nil)
	if _, err := s.Requeue(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Visit(v.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("visit deleted here before the restore: %v, want ErrNotFound once it came back", err)
	}
	ob := outbox(t, s)
	if len(ob) != 1 || !ob[0].Delete || ob[0].ID != v.ID {
		t.Fatalf("outbox = %+v, want the delete of the visit", ob)
	}
	// Once done, it is not done again: the server's tombstone comes back.
	mustApply(t, s, Page{AckedThrough: ob[0].Seq, Cursor: 3, Epoch: "new"}, nil)
	if _, err := s.Requeue(); err != nil {
		t.Fatal(err)
	}
	if ob := outbox(t, s); len(ob) != 0 {
		t.Errorf("outbox after the delete was taken = %+v", ob)
	}
}
