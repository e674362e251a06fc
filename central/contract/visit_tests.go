package contract

import (
	"encoding/json"
	"errors"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// The author corrects and deletes their visits from two devices; a
// coordinator cannot touch a colleague's, even in their own region.
func testVisitEditsByAuthor(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("ben@example.org", "09")
	m := member("09", "Coopérative de Sept-Îles")
	if err := e.srv.Import(e.ctx, []domain.Member{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a1, a2, b := e.device("ana@example.org"), e.device("ana@example.org"), e.device("ben@example.org")
	v := visit(m, ana.ID, e.today())
	a1.sync(a1.create(kVisit, v))
	noRejections(t, a1)
	a2.sync()
	b.sync()

	// Both of ana's laptops correct the notes offline; the later edit wins
	// and the other is kept in a conflict record, on every replica.
	e1 := a1.edit(kVisit, v.ID, map[string]any{"notes": "Corrigé sur le portable"})
	e2 := a2.edit(kVisit, v.ID, map[string]any{"notes": "Corrigé sur la tablette", "needs": "Formation CA"})
	a1.sync(e1)
	a2.sync(e2)
	noRejections(t, a1)
	noRejections(t, a2)
	a1.sync()
	b.sync()
	for _, d := range []*device{a1, a2, b} {
		if got := d.field(kVisit, v.ID, "notes"); got != "Corrigé sur la tablette" {
			t.Errorf("device %s: notes %q, want the later edit", d.id[:8], got)
		}
		if got := d.field(kVisit, v.ID, "needs"); got != "Formation CA" {
			t.Errorf("device %s: needs %q", d.id[:8], got)
		}
	}
	cs := e.conflicts(v.ID)
	if len(cs) != 1 || cs[0].Field != "notes" || str(cs[0].Loser.Value) != "Corrigé sur le portable" {
		t.Fatalf("conflicts %s, want the lost notes kept", jsonOf(cs))
	}

	// Ben edits and deletes ana's visit: both refused, nothing changes.
	before := e.dumpData()
	b.sync(b.edit(kVisit, v.ID, map[string]any{"notes": "Pas à moi"}), b.remove(kVisit, v.ID))
	if len(b.lastRej) != 2 || b.lastRej[0].Code != protocol.RejectForbidden || b.lastRej[1].Code != protocol.RejectForbidden {
		t.Fatalf("another coordinator's edit and delete: rejections %s, want two forbidden", jsonOf(b.lastRej))
	}
	if after := e.dumpData(); after != before {
		t.Errorf("refused writes changed the data:\n%s", diffLines(before, after))
	}

	// An edit that empties the visit is refused as invalid.
	a1.sync(a1.edit(kVisit, v.ID, map[string]any{"notes": "", "needs": "", "people_met": "", "services_discussed": []string{}}))
	if len(a1.lastRej) != 1 || a1.lastRej[0].Code != protocol.RejectInvalid {
		t.Fatalf("emptying a visit: rejections %s, want invalid", jsonOf(a1.lastRej))
	}

	// a2 deletes without having seen a1's newer edit: refused, kept.
	a1.sync(a1.edit(kVisit, v.ID, map[string]any{"people_met": "Line Roy"}))
	noRejections(t, a1)
	a2.sync(a2.remove(kVisit, v.ID))
	if len(a2.lastRej) != 1 || a2.lastRej[0].Code != protocol.RejectEditedSince {
		t.Fatalf("delete racing an edit: rejections %s, want edited_since", jsonOf(a2.lastRej))
	}
	// Once it has the edit, the delete goes through and reaches everyone.
	a2.sync(a2.remove(kVisit, v.ID))
	noRejections(t, a2)
	a1.sync()
	b.sync()
	for _, d := range []*device{a1, a2, b} {
		if d.has(kVisit, v.ID) {
			t.Errorf("device %s still holds the deleted visit", d.id[:8])
		}
	}
	a1.sync(a1.edit(kVisit, v.ID, map[string]any{"notes": "Trop tard"}))
	if len(a1.lastRej) != 1 || a1.lastRej[0].Code != protocol.RejectDeleted {
		t.Fatalf("edit after the delete: rejections %s, want deleted", jsonOf(a1.lastRej))
	}
}

// The central office corrects and deletes any visit (CorrectVisit,
// DeleteVisit): through the merge rule, so an author's edit it had not
// received is kept as a conflict.
func testVisitCorrectedByCentral(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	m := member("09", "Coopérative de Havre-Saint-Pierre")
	v := visit(m, ana.ID, e.today())
	gone := visit(m, ana.ID, e.today())
	if err := e.srv.Import(e.ctx, []domain.Member{m}, []domain.Visit{v, gone}, nil); err != nil {
		t.Fatal(err)
	}
	a := e.device("ana@example.org")
	a.sync()
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

	// Ana corrects the notes offline while the office corrects them too.
	offline := a.edit(kVisit, v.ID, map[string]any{"notes": "Version d'Ana"})
	got, err := e.srv.CorrectVisit(e.ctx, v.ID, map[string]json.RawMessage{
		"notes": raw("Version du bureau"), "duration_minutes": raw(90)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Notes != "Version du bureau" || got.DurationMinutes != 90 || got.CoordinatorID != ana.ID {
		t.Errorf("corrected visit %+v", got)
	}
	a.sync(offline)
	noRejections(t, a)
	winner := a.field(kVisit, v.ID, "notes")
	cs := e.conflicts(v.ID)
	if len(cs) != 1 || cs[0].Field != "notes" {
		t.Fatalf("conflicts %s, want one on notes", jsonOf(cs))
	}
	if values := []string{winner, str(cs[0].Loser.Value)}; !(values[0] == "Version d'Ana" && values[1] == "Version du bureau" ||
		values[0] == "Version du bureau" && values[1] == "Version d'Ana") {
		t.Errorf("notes %q, conflict keeps %q: one of the two corrections was lost", values[0], values[1])
	}
	if s, _ := e.srv.Visit(e.ctx, v.ID); s.Notes != winner || s.DurationMinutes != 90 {
		t.Errorf("server holds %+v, the device %q", s, winner)
	}

	// Refused corrections write nothing and say why.
	before := e.dumpData()
	var refused *central.RefusedError
	if _, err := e.srv.CorrectVisit(e.ctx, v.ID, map[string]json.RawMessage{"mode": raw("fax")}); !errors.As(err, &refused) ||
		refused.Rejection.Code != protocol.RejectInvalid || len(refused.Rejection.Fields) != 1 || refused.Rejection.Fields[0].Field != "mode" {
		t.Errorf("a bad mode: %v, want refused invalid on mode", err)
	}
	if _, err := e.srv.CorrectVisit(e.ctx, v.ID, map[string]json.RawMessage{"id": raw(domain.NewID())}); !errors.As(err, &refused) {
		t.Errorf("changing the id: %v, want refused", err)
	}
	if _, err := e.srv.CorrectVisit(e.ctx, domain.NewID(), map[string]json.RawMessage{"notes": raw("x")}); !errors.Is(err, central.ErrUnknownVisit) {
		t.Errorf("unknown visit: %v, want ErrUnknownVisit", err)
	}
	if after := e.dumpData(); after != before {
		t.Errorf("refused corrections changed the data:\n%s", diffLines(before, after))
	}

	// The office deletes a visit: gone from the device; a second delete or
	// a correction of it says it was deleted.
	if err := e.srv.DeleteVisit(e.ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	a.sync()
	if a.has(kVisit, gone.ID) {
		t.Error("the device still holds the visit the office deleted")
	}
	if err := e.srv.DeleteVisit(e.ctx, gone.ID); !errors.Is(err, central.ErrVisitDeleted) {
		t.Errorf("deleting again: %v, want ErrVisitDeleted", err)
	}
	if _, err := e.srv.CorrectVisit(e.ctx, gone.ID, map[string]json.RawMessage{"notes": raw("x")}); !errors.Is(err, central.ErrVisitDeleted) {
		t.Errorf("correcting a deleted visit: %v, want ErrVisitDeleted", err)
	}
	a.sync(a.edit(kVisit, gone.ID, map[string]any{"notes": "Encore"}))
	if len(a.lastRej) != 1 || a.lastRej[0].Code != protocol.RejectDeleted {
		t.Errorf("the author's edit of the deleted visit: rejections %s, want deleted", jsonOf(a.lastRej))
	}
}
