package engine_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/protocol"
)

// TestVisitEditedOfflineOnTwoDevices: a coordinator corrects one visit on
// two laptops while both are offline. Both edits reach every replica: the
// later wins, the other is kept in a conflict record; a field changed on
// one side only simply applies. Then the visit is deleted and disappears
// from every device, and a colleague's attempt to touch it is quarantined.
func TestVisitEditedOfflineOnTwoDevices(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	w.coordinator("ben@example.org", "09")
	m := member("Coopérative de Longue-Pointe", "09")
	w.members([]domain.Member{m})
	laptop := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	tablet := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ben := newDevice(t, w.web.URL, "ben@example.org", deviceOptions{})
	for _, d := range []*device{laptop, tablet, ben} {
		d.sync()
	}
	v := laptop.visit(m.ID, "Rencontre avec la direction")
	laptop.sync()
	tablet.sync()
	ben.sync()

	// Offline, both laptops correct the notes; the tablet adds the needs.
	correct := func(d *device, fn func(*domain.Visit)) {
		t.Helper()
		got, err := d.st.Visit(v.ID)
		if err != nil {
			t.Fatal(err)
		}
		fn(&got)
		if err := d.st.SaveVisit(got); err != nil {
			t.Fatalf("save the corrected visit: %v", err)
		}
	}
	correct(laptop, func(v *domain.Visit) { v.Notes = "Rencontre avec la direction générale" })
	correct(tablet, func(v *domain.Visit) { v.Notes = "Rencontre avec la directrice"; v.Needs = "Plan de relève" })
	laptop.sync()
	tablet.sync()
	laptop.sync()
	ben.sync()

	values := []string{"Rencontre avec la direction générale", "Rencontre avec la directrice"}
	var notes []string
	for _, d := range []*device{laptop, tablet, ben} {
		got, err := d.st.Visit(v.ID)
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, got.Notes)
		if !slices.Contains(values, got.Notes) || got.Needs != "Plan de relève" {
			t.Errorf("visit on a device: notes %q, needs %q", got.Notes, got.Needs)
		}
		if s := d.eng.State(); s.Pending != 0 || s.Quarantined != 0 {
			t.Errorf("state %+v", s)
		}
		cs, err := d.st.Conflicts(store.ConflictFilter{MemberID: m.ID})
		if err != nil || len(cs) != 1 {
			t.Fatalf("conflicts %+v, %v; want one", cs, err)
		}
		var win, lose string
		json.Unmarshal(cs[0].Winner.Value, &win)
		json.Unmarshal(cs[0].Loser.Value, &lose)
		pair := []string{win, lose}
		slices.Sort(pair)
		if cs[0].RecordKind != domain.KindVisit || cs[0].Field != "notes" || !slices.Equal(pair, values) || win != got.Notes {
			t.Errorf("conflict %s on %s: winner %q, loser %q", cs[0].RecordKind, cs[0].Field, win, lose)
		}
	}
	if notes[0] != notes[1] || notes[1] != notes[2] {
		t.Errorf("devices disagree: %q", notes)
	}
	for _, d := range []*device{laptop, tablet} {
		if diff := w.serverSnapshot("09").diff(d.snapshot()); len(diff) > 0 {
			t.Errorf("a device differs from the server:\n%s", strings.Join(diff, "\n"))
		}
	}

	// Ben cannot change ana's visit: his edit is quarantined, and the
	// visit everyone holds is ana's.
	correct(ben, func(v *domain.Visit) { v.Notes = "Réécrit par Ben" })
	ben.sync()
	q, err := ben.st.Quarantine()
	if err != nil || len(q) != 1 || q[0].Code != protocol.RejectForbidden {
		t.Fatalf("ben's quarantine %+v, %v; want one forbidden", q, err)
	}
	laptop.sync()
	if got, _ := laptop.st.Visit(v.ID); got.Notes == "Réécrit par Ben" {
		t.Error("another coordinator's edit reached the author")
	}

	// Ana deletes the visit on her laptop: it disappears everywhere.
	if err := laptop.st.DeleteVisit(v.ID); err != nil {
		t.Fatal(err)
	}
	laptop.sync()
	tablet.sync()
	ben.sync()
	for _, d := range []*device{laptop, tablet, ben} {
		if _, err := d.st.Visit(v.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the deleted visit is still on a device: %v", err)
		}
		if n := d.visitCount(); n != 0 {
			t.Errorf("a device holds %d visits, want 0", n)
		}
		if hits, _ := d.st.SearchMembers(store.MemberQuery{}); len(hits) != 1 || !hits[0].LastVisit.IsZero() {
			t.Errorf("member's last visit after the delete: %+v", hits)
		}
	}
	if diff := w.serverSnapshot("09").diff(tablet.snapshot()); len(diff) > 0 {
		t.Errorf("the tablet differs from the server:\n%s", strings.Join(diff, "\n"))
	}
}

// TestVisitDeleteRacingAnEditIsRefused: one laptop deletes a visit the
// other corrected meanwhile. The server refuses the delete, the visit and
// its correction come back to the laptop that deleted, and nothing typed is
// lost; deleting again, once the correction is seen, works.
func TestVisitDeleteRacingAnEditIsRefused(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	m := member("Coopérative de Rivière-au-Tonnerre", "09")
	w.members([]domain.Member{m})
	laptop := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	tablet := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	laptop.sync()
	v := laptop.visit(m.ID, "Première rencontre")
	laptop.sync()
	tablet.sync()

	got, err := tablet.st.Visit(v.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.PeopleMet = "Line Boudreau (présidente)"
	if err := tablet.st.SaveVisit(got); err != nil {
		t.Fatal(err)
	}
	tablet.sync()
	if err := laptop.st.DeleteVisit(v.ID); err != nil {
		t.Fatal(err)
	}
	laptop.sync()
	q, err := laptop.st.Quarantine()
	if err != nil || len(q) != 1 || q[0].Code != protocol.RejectEditedSince {
		t.Fatalf("quarantine %+v, %v; want the delete refused as edited_since", q, err)
	}
	back, err := laptop.st.Visit(v.ID)
	if err != nil || back.PeopleMet != "Line Boudreau (présidente)" {
		t.Fatalf("the visit after the refused delete: %+v, %v; want it back with the tablet's edit", back, err)
	}
	if err := laptop.st.DiscardQuarantined(q[0].Mutation.Seq); err != nil {
		t.Fatal(err)
	}
	if err := laptop.st.DeleteVisit(v.ID); err != nil {
		t.Fatal(err)
	}
	laptop.sync()
	tablet.sync()
	if n, _ := laptop.st.QuarantineCount(); n != 0 {
		t.Errorf("%d refused after deleting again", n)
	}
	for _, d := range []*device{laptop, tablet} {
		if _, err := d.st.Visit(v.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the visit deleted again is still on a device: %v", err)
		}
	}
}
