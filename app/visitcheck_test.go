package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// fieldErr returns the error line of the visit form's field name.
func fieldErr(t *testing.T, f *visitForm, name string) string {
	t.Helper()
	for _, fld := range f.fields {
		if fld.name == name {
			if !fld.err.Visible() {
				return ""
			}
			return fld.err.Text
		}
	}
	t.Fatalf("no field %s", name)
	return ""
}

// Issue 13, defect 9: each message says what is really wrong, names a
// label on screen, and goes away once the field is fixed.
func TestVisitFormMessagesTellTheTruth(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			loc := locales.New(lang)
			id := openMember(t, u)
			test.Tap(button(t, w, tr(lang, "member.new_visit")))
			f := u.main.form
			fillVisit(t, u, "Notes")

			// A day the calendar lacks is not a format problem.
			f.date.SetText("2026-02-30")
			f.duration.SetText("1h30")
			test.Tap(button(t, w, tr(lang, "form.save")))
			if got, want := fieldErr(t, f, "date"), loc.T("form.date_no_such_day", map[string]any{"Max": loc.Number(28, 0)}); got != want {
				t.Errorf("2026-02-30: %q, want %q", got, want)
			}
			// « 1h30 » is a length a coordinator writes: accepted.
			if got := fieldErr(t, f, "duration_minutes"); got != "" {
				t.Errorf("1h30: %q", got)
			}
			// Fixed, the date's error goes away before the next save.
			f.date.SetText("2026-03-10")
			if got := fieldErr(t, f, "date"); got != "" {
				t.Errorf("error still shown after the date was fixed: %q", got)
			}
			// Text that is no length says how to write one.
			f.duration.SetText("trois heures")
			test.Tap(button(t, w, tr(lang, "form.save")))
			if got, want := fieldErr(t, f, "duration_minutes"), loc.T("form.duration_invalid"); got != want {
				t.Errorf("trois heures: %q, want %q", got, want)
			}
			// Left empty, it is simply required.
			f.duration.SetText("")
			test.Tap(button(t, w, tr(lang, "form.save")))
			if got, want := fieldErr(t, f, "duration_minutes"), loc.T("validation.required"); got != want {
				t.Errorf("empty duration: %q, want %q", got, want)
			}
			f.duration.SetText("90")
			if got := fieldErr(t, f, "duration_minutes"); got != "" {
				t.Errorf("error still shown after the length was fixed: %q", got)
			}
			if strings.HasPrefix(f.msg.Text, loc.T("form.fix_errors")) {
				t.Errorf("summary %q still shown with every field fixed", f.msg.Text)
			}

			// A follow-up without its text, due six years before the visit.
			test.Tap(button(t, w, tr(lang, "visit.add_followup")))
			r := f.followUps[0]
			r.service.SetSelectedIndex(0)
			r.due.SetText("2020-03-10")
			test.Tap(button(t, w, tr(lang, "form.save")))
			if u.main.form == nil {
				t.Fatal("the visit was saved with a faulty follow-up")
			}
			msg := r.err.Text
			if !strings.Contains(msg, loc.T("validation.due_before_visit")) {
				t.Errorf("follow-up due before the visit: %q", msg)
			}
			if !strings.Contains(msg, loc.T("validation.required")) {
				t.Errorf("follow-up without text: %q", msg)
			}
			// Every label the message names is on screen.
			for _, name := range []string{"description", "due"} {
				label := loc.T("field." + name)
				if strings.Contains(msg, label) && !hasText(w, label) {
					t.Errorf("the message names %q, which is not on screen", label)
				}
			}
			test.Type(r.description, "Envoyer le modèle de politique")
			r.due.SetText("2026-04-10")
			if r.err.Visible() && r.err.Text != "" {
				t.Errorf("follow-up error still shown once fixed: %q", r.err.Text)
			}
			test.Tap(button(t, w, tr(lang, "form.save")))
			if u.main.form != nil {
				t.Fatalf("the fixed visit was not saved: %q", f.msg.Text)
			}
			visits, _ := u.st.VisitsOfMember(id, 1)
			if len(visits) == 0 || visits[0].DurationMinutes != 90 || visits[0].Date != domain.NewDate(2026, 3, 10) {
				t.Errorf("saved %+v", visits)
			}
		})
	}
}
