package app

import (
	"testing"

	"fyne.io/fyne/v2"

	"leconsortium.coop/terrain/locales"
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
