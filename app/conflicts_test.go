package app

import (
	"encoding/json"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/protocol"
)

// pulled turns a record into a change of the server's feed.
func pulled(t *testing.T, kind domain.Kind, id string, v any, seq uint64) store.Change {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	stamp := hlc.New(fixedNow().Add(-time.Hour).UnixMilli(), 0)
	versions := map[string]store.FieldStamp{}
	for name := range fields {
		versions[name] = store.FieldStamp{HLC: stamp, Seq: seq, Device: "central"}
	}
	return store.Change{Seq: seq, Kind: kind, ID: id, Fields: fields, Versions: versions}
}

func TestConflictsSideBySide(t *testing.T) {
	u, w := startUI(t, "fr")
	id := u.members.rows[0].ID
	m, _ := u.st.Member(id)
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	stamp := hlc.New(fixedNow().Add(-2*time.Hour).UnixMilli(), 0)
	notes := store.Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: id, MemberID: id, Field: "notes",
		Winner: store.ConflictSide{Value: str(m.Notes), HLC: stamp, Device: "central"},
		Loser:  store.ConflictSide{Value: str("Nouvelle adresse de livraison"), HLC: stamp, Device: u.st.DeviceID()}}
	phone := store.Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: id, MemberID: id, Field: "phone",
		Winner: store.ConflictSide{Value: str(m.Phone), HLC: stamp, Device: "central"},
		Loser:  store.ConflictSide{Value: str("418 555-0177"), HLC: stamp, Device: "other-device"}}
	_, err := u.st.ApplyPull(store.Page{Cursor: 2, Changes: []store.Change{
		pulled(t, store.KindConflict, notes.ID, notes, 1), pulled(t, store.KindConflict, phone.ID, phone, 2),
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.main.status.update()
	if got, want := u.main.items[tabConflicts].Text, tr("fr", "nav.conflicts_count", map[string]any{"N": 2}); got != want {
		t.Errorf("tab %q, want %q", got, want)
	}
	u.main.tabs.SelectIndex(tabConflicts)
	for _, want := range []string{
		tr("fr", "conflicts.title", map[string]any{"N": 2}),
		"418 555-0177", m.Phone, "Nouvelle adresse de livraison",
		tr("fr", "conflicts.when", map[string]any{"Who": tr("fr", "conflicts.by_this_device"), "Date": u.loc.DateTime(stamp.Time())}),
		tr("fr", "conflicts.kind.member") + " · " + m.Name + " · " + tr("fr", "field.phone"),
	} {
		if !hasText(w, want) {
			t.Errorf("conflicts screen lacks %q", want)
		}
	}

	// The order on screen is the store's.
	list, _ := u.st.Conflicts(store.ConflictFilter{})
	at := func(id string) int {
		for i, c := range list {
			if c.ID == id {
				return i
			}
		}
		t.Fatalf("conflict %s not listed", id)
		return -1
	}
	var merges []*entry
	var takes []*widget.Button
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok {
			merges = append(merges, e)
		}
		if b, ok := o.(*widget.Button); ok && b.Text == tr("fr", "conflicts.take") {
			takes = append(takes, b)
		}
	}
	if len(merges) != 2 || len(takes) != 2 {
		t.Fatalf("%d merge editors and %d take buttons, want one each per conflict", len(merges), len(takes))
	}
	// Merge the notes by hand.
	merges[at(notes.ID)].SetText("Adresse de livraison : 12, rue du Quai")
	phoneTake := takes[at(phone.ID)]
	for _, b := range buttonsLabelled(w, tr("fr", "conflicts.save_merge"))[at(notes.ID) : at(notes.ID)+1] {
		test.Tap(b)
	}
	got, _ := u.st.Member(id)
	if got.Notes != "Adresse de livraison : 12, rue du Quai" {
		t.Errorf("notes after the merge: %q", got.Notes)
	}
	// Take the value set aside for the phone: it becomes the record's.
	test.Tap(phoneTake)
	got, _ = u.st.Member(id)
	if got.Phone != "418 555-0177" {
		t.Errorf("phone after taking the other value: %q", got.Phone)
	}
	if n, _ := u.st.ConflictCount(); n != 0 {
		t.Errorf("%d conflicts left", n)
	}
	if !hasText(w, tr("fr", "conflicts.none")) || u.main.items[tabConflicts].Text != tr("fr", "nav.conflicts") {
		t.Error("the screen or the tab still shows conflicts")
	}
	// Both edits wait to be sent, with the two resolutions.
	if n, _ := u.st.PendingCount(); n != 4 {
		t.Errorf("%d changes pending, want 4", n)
	}
}

func buttonsLabelled(w fyne.Window, text string) []*widget.Button {
	var out []*widget.Button
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			out = append(out, b)
		}
	}
	return out
}

func TestQuarantineFixAndDiscard(t *testing.T) {
	u, w := startUI(t, "en")
	id := openMember(t, u)
	u.main.openVisitForm(id, nil)
	fillVisit(t, u, "Notes the server refuses")
	test.Tap(button(t, w, tr("en", "form.save")))
	visits, _ := u.st.VisitsOfMember(id, 1)
	v := visits[0]
	m, _ := u.st.Member(id)
	m.Website = "https://coop.example.org"
	if err := u.st.SaveMember(m); err != nil {
		t.Fatal(err)
	}
	// The server refuses both: the visit's notes, and the member edit.
	_, err := u.st.ApplyPull(store.Page{AckedThrough: 2, Cursor: 1, Rejected: []store.Rejection{
		{Seq: 1, Kind: domain.KindVisit, ID: v.ID, Code: "invalid",
			Fields: []domain.FieldError{{Field: "notes", Code: domain.CodeBadText}}},
		{Seq: 2, Kind: domain.KindMember, ID: id, Code: "forbidden"},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.main.tabs.SelectIndex(tabConflicts)
	for _, want := range []string{
		tr("en", "conflicts.quarantine_title", map[string]any{"N": 2}),
		tr("en", "conflicts.reason.invalid"), tr("en", "conflicts.reason.forbidden"),
		u.loc.FieldError(domain.FieldError{Field: "notes", Code: domain.CodeBadText}),
		tr("en", "conflicts.kind.visit") + " · " + m.Name,
	} {
		if !hasText(w, want) {
			t.Errorf("quarantine lacks %q", want)
		}
	}
	// Correct the notes and send again.
	var notes *entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && e.Text == "Notes the server refuses" {
			notes = e
		}
	}
	if notes == nil {
		t.Fatal("the refused notes are not editable")
	}
	notes.SetText("Corrected notes")
	test.Tap(button(t, w, tr("en", "conflicts.fix_resend")))
	if got, _ := u.st.Visit(v.ID); got.Notes != "Corrected notes" {
		t.Errorf("visit notes after the fix: %q", got.Notes)
	}
	if n, _ := u.st.QuarantineCount(); n != 1 {
		t.Fatalf("quarantine = %d after the fix", n)
	}
	// Discard the other, after confirming.
	test.Tap(button(t, w, tr("en", "conflicts.discard")))
	if !hasText(w, tr("en", "conflicts.discard_title")) {
		t.Fatal("no confirmation before discarding")
	}
	buttons := buttonsLabelled(w, tr("en", "conflicts.discard"))
	test.Tap(buttons[len(buttons)-1]) // the dialog's
	if n, _ := u.st.QuarantineCount(); n != 0 {
		t.Errorf("quarantine = %d after discarding", n)
	}
	if got, _ := u.st.Member(id); got.Website == "https://coop.example.org" {
		t.Error("discarding did not undo the refused edit")
	}
}

// TestEveryRejectionHasAReason keeps the quarantine from falling back to
// the generic reason for a code the server sends.
func TestEveryRejectionHasAReason(t *testing.T) {
	for _, code := range []string{protocol.RejectForbidden, protocol.RejectInvalid,
		protocol.RejectReadOnly, protocol.RejectUnknownField, protocol.RejectUnknownMember,
		protocol.RejectDeleted, protocol.RejectEditedSince} {
		if !locales.Has("conflicts.reason." + code) {
			t.Errorf("no message conflicts.reason.%s in both languages", code)
		}
	}
}
