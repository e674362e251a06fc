package app

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

// Issue 13, defect 3: Ctrl+N then Ctrl+S from a member saved a visit that
// said nothing (date, duration and mode come pre-filled), which then synced.
func TestEmptyVisitRefused(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			id := openMember(t, u)
			before, _ := u.st.VisitsOfMember(id, 0)
			pending, _ := u.st.PendingCount()
			sc := w.Canvas().(fyne.Shortcutable)
			sc.TypedShortcut(shortcutNewVisit)
			f := u.main.form
			if f == nil {
				t.Fatal("Ctrl+N did not open the visit form")
			}
			sc.TypedShortcut(shortcutSave)
			if u.main.form != f {
				t.Fatal("an empty visit closed the form")
			}
			want := tr(lang, "validation.visit_empty")
			for _, fld := range f.fields {
				if fld.name == "notes" && (fld.err.Text != want || !fld.err.Visible()) {
					t.Errorf("notes: error %q (shown %v), want %q", fld.err.Text, fld.err.Visible(), want)
				}
			}
			if after, _ := u.st.VisitsOfMember(id, 0); len(after) != len(before) {
				t.Errorf("an empty visit was stored: %d visits, had %d", len(after), len(before))
			}
			if n, _ := u.st.PendingCount(); n != pending {
				t.Errorf("an empty visit was queued: %d pending, had %d", n, pending)
			}
			// One word of notes is enough.
			f.notes.SetText("Appel rapide")
			sc.TypedShortcut(shortcutSave)
			if u.main.form != nil {
				t.Fatalf("a visit with notes was refused: %q", f.msg.Text)
			}
		})
	}
}

// memberWithOwnVisit finds a demo member whose history holds a visit of the
// signed-in coordinator and one of a colleague, opens it, and returns the
// newest visit of each.
func memberWithOwnVisit(t *testing.T, u *UI) (mine, other domain.Visit) {
	t.Helper()
	me, err := u.st.Me()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := u.st.SearchMembers(store.MemberQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		vs, err := u.st.VisitsOfMember(r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(vs, func(v domain.Visit) bool { return v.CoordinatorID == me.ID })
		j := slices.IndexFunc(vs, func(v domain.Visit) bool { return v.CoordinatorID != me.ID })
		if i >= 0 && j >= 0 && len(vs) <= maxHistory {
			u.main.showMember(r.ID)
			return vs[i], vs[j]
		}
	}
	t.Fatal("no demo member has visits of both the demo coordinator and a colleague")
	return
}

// buttons returns the visible buttons labelled text, in screen order.
func buttons(w fyne.Window, text string) []*widget.Button {
	var out []*widget.Button
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			out = append(out, b)
		}
	}
	return out
}

// Issue 13, defect 4: a saved visit could be neither corrected nor deleted.
func TestAuthorCorrectsVisit(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			mine, other := memberWithOwnVisit(t, u)
			d := u.main.detail
			own := 0
			for _, v := range d.visits {
				if u.mine(v) {
					own++
				}
			}
			edits := buttons(w, tr(lang, "visit.edit"))
			if len(edits) != own {
				t.Fatalf("%d Edit buttons for %d visits of mine among %d", len(edits), own, len(d.visits))
			}
			author, _ := u.st.Coordinator(other.CoordinatorID)
			if !hasText(w, tr(lang, "visit.summary.author", map[string]any{"Name": author.Name})) {
				t.Errorf("a colleague's visit does not say who wrote it (%s)", author.Name)
			}

			// The first Edit button is the newest of my visits.
			test.Tap(edits[0])
			f := u.main.form
			if f == nil || f.editing == nil || f.editing.ID != mine.ID {
				t.Fatal("Edit did not open the visit form on my visit")
			}
			loc := locales.New(lang)
			if !hasText(w, loc.T("visit.edit_title", map[string]any{"Name": f.member.Name, "Date": loc.Date(mine.Date)})) {
				t.Error("the form does not say which visit is being corrected")
			}
			if f.notes.Text != mine.Notes || f.people.Text != mine.PeopleMet || f.dirty() {
				t.Fatalf("the form does not hold the saved visit: notes %q, people %q, dirty %v", f.notes.Text, f.people.Text, f.dirty())
			}
			pending, _ := u.st.PendingCount()

			// Emptying it is refused like an empty new visit.
			f.people.SetText("")
			f.notes.SetText("")
			f.needs.SetText("")
			for _, c := range f.services {
				c.SetChecked(false)
			}
			f.save()
			if u.main.form != f {
				t.Fatal("an emptied visit was saved")
			}

			// A typo fixed in the notes: one field goes out.
			f2 := draftOf(mine)
			f.people.SetText(f2.People)
			f.needs.SetText(f2.Needs)
			for i, id := range f.serviceIDs {
				f.services[i].SetChecked(slices.Contains(f2.Services, id))
			}
			f.notes.SetText(mine.Notes + " (corrigé)")
			w.Canvas().(fyne.Shortcutable).TypedShortcut(shortcutSave)
			if u.main.form != nil {
				t.Fatalf("the correction was not saved: %q", f.msg.Text)
			}
			got, err := u.st.Visit(mine.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := mine
			want.Notes += " (corrigé)"
			if !reflect.DeepEqual(got, want) {
				t.Errorf("stored visit\n got %+v\nwant %+v", got, want)
			}
			muts, err := u.st.Outbox(0, 0)
			if err != nil || len(muts) != pending+1 {
				t.Fatalf("outbox %d mutations, %v; want %d", len(muts), err, pending+1)
			}
			last := muts[len(muts)-1]
			if last.ID != mine.ID || last.Delete || len(last.Fields) != 1 || last.Fields["notes"] == nil {
				t.Errorf("queued %+v, want the notes alone", last)
			}
			if !hasText(w, want.Notes) {
				t.Error("the history does not show the corrected notes")
			}
		})
	}
}

func TestAuthorDeletesVisit(t *testing.T) {
	u, w := startUI(t, "fr")
	mine, _ := memberWithOwnVisit(t, u)
	before := len(u.main.detail.visits)
	edits := buttons(w, tr("fr", "visit.edit"))
	if len(edits) == 0 {
		t.Fatal("my visits have no Edit button")
	}
	test.Tap(edits[0])
	if u.main.form == nil {
		t.Fatal("Edit did not open the form")
	}
	// Asked first; "keep" keeps it.
	test.Tap(button(t, w, tr("fr", "visit.delete")))
	if !hasText(w, tr("fr", "visit.delete_title")) {
		t.Fatal("no confirmation before deleting")
	}
	test.Tap(button(t, w, tr("fr", "visit.delete_keep")))
	if _, err := u.st.Visit(mine.ID); err != nil || u.main.form == nil {
		t.Fatalf("keeping the visit: %v, form open %v", err, u.main.form != nil)
	}
	test.Tap(button(t, w, tr("fr", "visit.delete")))
	// The dialog's button is drawn after the form's.
	dlg := buttons(w, tr("fr", "visit.delete"))
	test.Tap(dlg[len(dlg)-1])
	if _, err := u.st.Visit(mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the visit is still stored: %v", err)
	}
	if u.main.form != nil || u.main.detail == nil || len(u.main.detail.visits) != before-1 {
		t.Fatal("after the delete the member's history is not shown without the visit")
	}
	if !hasText(w, u.loc.N("visits.count", before-1)) {
		t.Error("the visit count did not drop")
	}
	muts, _ := u.st.Outbox(0, 0)
	if last := muts[len(muts)-1]; last.ID != mine.ID || !last.Delete || len(last.Base) == 0 {
		t.Errorf("queued %+v, want a delete with its bases", last)
	}
	if _, ok, _ := u.st.Setting(draftKey); ok {
		t.Error("a draft outlived the deleted visit")
	}
}

// The screenshot hook TERRAIN_SCREEN=visit-edit opens one of the
// coordinator's visits for correction.
func TestVisitEditScreen(t *testing.T) {
	u, w := startUI(t, "en", func(c *Config) { c.Screen = screenVisitEdit })
	f := u.main.form
	if f == nil || f.editing == nil || !u.mine(*f.editing) {
		t.Fatal("the visit-edit screen does not show one of my visits being corrected")
	}
	if w.Canvas().Focused() != f.notes || !hasText(w, tr("en", "visit.delete")) {
		t.Error("the notes are not focused, or Delete is missing")
	}
}

// A correction left as a draft whose visit was deleted meanwhile (on
// another laptop) comes back as a new visit: nothing typed vanishes.
func TestEditDraftOfDeletedVisit(t *testing.T) {
	u, _ := startUI(t, "fr")
	mine, _ := memberWithOwnVisit(t, u)
	d := draftOf(mine)
	d.Notes = "Correction commencée hors ligne"
	if err := u.st.DeleteVisit(mine.ID); err != nil {
		t.Fatal(err)
	}
	u.main.openVisitForm(mine.MemberID, &d)
	f := u.main.form
	if f == nil {
		t.Fatal("the draft of a deleted visit's correction did not open")
	}
	if f.editing != nil || f.visitID == mine.ID || f.notes.Text != d.Notes {
		t.Errorf("form: editing %v, id reused %v, notes %q", f.editing != nil, f.visitID == mine.ID, f.notes.Text)
	}
}
