package app

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

func TestDemoMembersListed(t *testing.T) {
	u, w := startUI(t, "fr")
	m := u.members
	if got := len(m.rows); got != 300 {
		t.Fatalf("listed %d demo members, want 300", got)
	}
	if got, want := m.count.Text, "300 membres"; got != want {
		t.Errorf("count label %q, want %q", got, want)
	}
	// The list shows name, municipality, region and last visit.
	first := m.rows[0]
	for _, want := range []string{first.Name, first.Municipality, u.loc.Region(first.Region), m.lastVisit(first)} {
		if !hasText(w, want) {
			t.Errorf("first row does not show %q", want)
		}
	}
}

func TestSearchNarrowsList(t *testing.T) {
	u, w := startUI(t, "fr")
	m := u.members
	all := len(m.rows)
	// Capitals and no accents: the search folds both.
	test.Type(m.search, "COOPERATIVE")
	if len(m.rows) == 0 || len(m.rows) >= all {
		t.Fatalf("search kept %d of %d rows", len(m.rows), all)
	}
	for _, r := range m.rows {
		if !strings.Contains(domain.Fold(r.Name), "cooperative") {
			t.Errorf("%q matched COOPERATIVE", r.Name)
		}
	}
	if want := u.loc.N("members.count", len(m.rows)); m.count.Text != want {
		t.Errorf("count %q, want %q", m.count.Text, want)
	}
	// What the list shows is what was found.
	if !hasText(w, m.rows[0].Name) {
		t.Errorf("first match %q not on screen", m.rows[0].Name)
	}

	m.search.SetText("zzzz-aucun-membre")
	if len(m.rows) != 0 {
		t.Fatalf("nonsense search kept %d rows", len(m.rows))
	}
	me, _ := u.st.Me()
	var names []string
	for _, c := range me.Regions {
		names = append(names, u.loc.Region(c))
	}
	if want := u.loc.T("members.no_match_regions", map[string]any{"Query": "zzzz-aucun-membre",
		"Regions": strings.Join(names, ", ")}); m.count.Text != want {
		t.Errorf("no-match message %q, want %q", m.count.Text, want)
	}
}

func TestFiltersNarrowList(t *testing.T) {
	u, _ := startUI(t, "en")
	m := u.members
	m.region.SetSelectedIndex(slices.Index(m.regionCodes, "09")) // Côte-Nord
	if len(m.rows) == 0 {
		t.Fatal("no member in Côte-Nord in the demo data")
	}
	for _, r := range m.rows {
		if r.Region != "09" {
			t.Fatalf("region filter let %s (%s) through", r.Name, r.Region)
		}
	}
	m.region.SetSelectedIndex(0)
	m.legalForm.SetSelectedIndex(1 + slices.Index(domain.LegalForms(), domain.Mutual))
	m.service.SetSelectedIndex(1 + slices.IndexFunc(u.services(), func(s domain.Service) bool { return s.ID == "legal" }))
	if len(m.rows) == 0 {
		t.Fatal("no mutual using legal services in the demo data")
	}
	for _, r := range m.rows {
		if r.LegalForm != domain.Mutual || !slices.Contains(r.Services, "legal") {
			t.Fatalf("filters let %s (%s, %v) through", r.Name, r.LegalForm, r.Services)
		}
	}
}

func TestWrongPassphraseShowsTranslatedError(t *testing.T) {
	u, _ := startUI(t, "en")
	dir := u.cfg.Profile
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}

	a := test.NewTempApp(t)
	w := a.NewWindow("")
	w.Resize(testSize)
	u2 := New(a, w, Config{Profile: dir, Lang: "en", Now: fixedNow})
	u2.post = uiq.post
	t.Cleanup(func() { u2.Close() })
	u2.Start()
	var pass *entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && e.Password {
			pass = e
		}
	}
	if pass == nil {
		t.Fatal("unlock screen has no passphrase entry")
	}
	test.Type(pass, "not the passphrase")
	test.Tap(button(t, w, tr("en", "unlock.unlock")))
	want := tr("en", "error.wrong_passphrase")
	waitFor(t, func() bool { return hasText(w, want) })
	if u2.Store() != nil {
		t.Fatal("store opened with a wrong passphrase")
	}

	// The right one opens the profile.
	test.Type(pass, testPassphrase)
	test.Tap(button(t, w, tr("en", "unlock.unlock")))
	waitFor(t, u2.ready.Load)
}

// openMember shows the first member that has visits and open follow-ups,
// by tapping its row.
func openMember(t *testing.T, u *UI) string {
	t.Helper()
	id := u.showcaseMember()
	i := slices.IndexFunc(u.members.rows, func(r store.MemberSummary) bool { return r.ID == id })
	if i < 0 {
		t.Fatal("showcase member not listed")
	}
	u.members.list.Select(i)
	if u.main.detail == nil || u.main.detail.id != id {
		t.Fatal("tapping the row did not open the member")
	}
	return id
}

func TestMemberDetail(t *testing.T) {
	u, w := startUI(t, "fr")
	id := openMember(t, u)
	m, err := u.st.Member(id)
	if err != nil {
		t.Fatal(err)
	}
	visits, _ := u.st.VisitsOfMember(id, 0)
	open, _ := u.st.FollowUps(store.FollowUpFilter{MemberID: id})
	for _, want := range []string{
		m.Name, m.ContactName, m.ContactEmail, "• " + u.serviceName(m.Services[0]),
		u.loc.N("visits.count", len(visits)),
		u.loc.T("member.open_followups", map[string]any{"N": len(open)}),
		open[0].Description,
		u.loc.Date(visits[0].Date) + " · " + u.loc.VisitMode(visits[0].Mode) + " · " + u.loc.N("visit.minutes", visits[0].DurationMinutes),
	} {
		if !hasText(w, want) {
			t.Errorf("member detail does not show %q", want)
		}
	}

	// Marking the follow-up done takes it off the open list.
	test.Tap(button(t, w, tr("fr", "followups.mark_done")))
	f, err := u.st.FollowUp(open[0].ID)
	if err != nil || f.Status != domain.FollowUpDone {
		t.Fatalf("follow-up after mark done: %+v, %v", f, err)
	}
	if hasText(w, open[0].Description) && len(open) == 1 {
		t.Error("done follow-up still listed as open")
	}
}

// fillVisit types a complete, valid visit into the open form.
func fillVisit(t *testing.T, u *UI, notes string) {
	t.Helper()
	f := u.main.form
	f.duration.SetText("")
	test.Type(f.duration, "45")
	f.mode.SetSelected(f.mode.Options[1]) // phone
	test.Type(f.people, "Marie Gagnon (directrice)")
	test.Tap(f.services[0])
	test.Type(f.notes, notes)
	test.Type(f.needs, "Plan de relève")
}

func TestVisitSavedAppearsInHistoryAndStore(t *testing.T) {
	u, w := startUI(t, "fr")
	id := openMember(t, u)
	before, _ := u.st.VisitsOfMember(id, 0)
	test.Tap(button(t, w, tr("fr", "member.new_visit")))
	f := u.main.form
	if f == nil {
		t.Fatal("New visit did not open the form")
	}
	fillVisit(t, u, "Rencontre sur la relève à la direction générale.")
	test.Tap(button(t, w, tr("fr", "visit.add_followup")))
	row := f.followUps[0]
	row.service.SetSelectedIndex(2)
	test.Type(row.description, "Envoyer le gabarit de plan de relève")
	test.Type(row.due.entry, "2026-04-10")

	// Ctrl+S typed in an entry reaches the window.
	f.notes.TypedShortcut(shortcutSave)

	if u.main.form != nil || u.main.detail == nil {
		t.Fatalf("the form stayed open: %q", f.msg.Text)
	}
	if !hasText(w, "Rencontre sur la relève à la direction générale.") {
		t.Error("the new visit is not in the history on screen")
	}
	if !hasText(w, u.loc.N("visits.count", len(before)+1)) {
		t.Error("the visit count did not grow")
	}
	after, err := u.st.VisitsOfMember(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Fatalf("store holds %d visits, want %d", len(after), len(before)+1)
	}
	v := after[0]
	if v.Notes != "Rencontre sur la relève à la direction générale." || v.DurationMinutes != 45 ||
		v.Mode != domain.Phone || v.Date != u.today() || v.PeopleMet != "Marie Gagnon (directrice)" ||
		!slices.Equal(v.ServicesDiscussed, []string{u.services()[0].ID}) || v.Needs != "Plan de relève" {
		t.Errorf("stored visit %+v", v)
	}
	fus, _ := u.st.FollowUps(store.FollowUpFilter{MemberID: id})
	i := slices.IndexFunc(fus, func(f domain.FollowUp) bool { return f.VisitID == v.ID })
	if i < 0 {
		t.Fatal("the follow-up was not stored with the visit")
	}
	if fus[i].Due != domain.NewDate(2026, 4, 10) || fus[i].ServiceID != u.services()[2].ID {
		t.Errorf("stored follow-up %+v", fus[i])
	}
	if _, ok, _ := u.st.Setting(draftKey); ok {
		t.Error("the draft outlived the saved visit")
	}
	if want := u.loc.N("status.pending", 2); u.main.status.pending.Text != want {
		t.Errorf("status bar %q, want %q", u.main.status.pending.Text, want)
	}
}

func TestInvalidVisitShowsTranslatedErrorAndKeepsInput(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			id := openMember(t, u)
			before, _ := u.st.VisitsOfMember(id, 0)
			test.Tap(button(t, w, tr(lang, "member.new_visit")))
			f := u.main.form
			fillVisit(t, u, "Notes à garder")
			f.duration.SetText("")
			test.Type(f.duration, "trois heures")
			test.Type(f.next.entry, "2026-03-01") // before the visit
			test.Type(f.date.entry, "x")          // no longer a date
			test.Tap(button(t, w, tr(lang, "form.save")))

			loc := locales.New(lang)
			want := map[string]string{
				"duration_minutes": loc.T("form.duration_invalid"),
				"date":             loc.T("form.date_invalid"),
			}
			for _, fld := range f.fields {
				w, ok := want[fld.name]
				if !ok {
					if fld.err.Text != "" {
						t.Errorf("%s: unexpected error %q", fld.name, fld.err.Text)
					}
					continue
				}
				if fld.err.Text != w {
					t.Errorf("%s: error %q, want %q", fld.name, fld.err.Text, w)
				}
				if !fld.err.Visible() {
					t.Errorf("%s: error not shown", fld.name)
				}
			}
			if !strings.HasPrefix(f.msg.Text, loc.T("form.fix_errors")) {
				t.Errorf("summary %q", f.msg.Text)
			}
			// Nothing typed is lost.
			if f.notes.Text != "Notes à garder" || f.duration.Text != "trois heures" || f.people.Text != "Marie Gagnon (directrice)" {
				t.Errorf("input lost: notes %q, duration %q, people %q", f.notes.Text, f.duration.Text, f.people.Text)
			}
			if after, _ := u.st.VisitsOfMember(id, 0); len(after) != len(before) {
				t.Error("an invalid visit was stored")
			}

			// With the date fixed, the next visit's date is the problem.
			f.date.SetDate(u.today())
			test.Tap(button(t, w, tr(lang, "form.save")))
			for _, fld := range f.fields {
				if fld.name == "next_visit" && fld.err.Text != loc.T("validation.next_visit_before_visit") {
					t.Errorf("next visit error %q", fld.err.Text)
				}
				if fld.name == "date" && fld.err.Visible() {
					t.Errorf("date error %q still shown", fld.err.Text)
				}
			}
			if u.main.form == nil {
				t.Fatal("the form closed on an invalid visit")
			}
		})
	}
}

func TestDraftSurvivesCrash(t *testing.T) {
	u, w := startUI(t, "fr")
	id := openMember(t, u)
	test.Tap(button(t, w, tr("fr", "member.new_visit")))
	test.Type(u.main.form.notes, "Saisie interrompue par une panne")
	test.Tap(button(t, w, tr("fr", "visit.add_followup")))
	test.Type(u.main.form.followUps[0].description, "Rappeler la trésorière")
	// The draft reaches the store by itself, shortly after typing.
	waitFor(t, func() bool {
		raw, ok, _ := u.st.Setting(draftKey)
		return ok && strings.Contains(raw, "Rappeler la trésorière")
	})
	// A crash: the process dies without closing anything.
	dir := u.cfg.Profile
	st := u.st
	u.st = nil
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	u2, w2 := runUI(t, Config{Profile: dir, Lang: "fr", Passphrase: testPassphrase, Now: fixedNow})
	f := u2.main.form
	if f == nil || f.member.ID != id {
		t.Fatal("the visit form did not come back after the crash")
	}
	if f.notes.Text != "Saisie interrompue par une panne" || len(f.followUps) != 1 ||
		f.followUps[0].description.Text != "Rappeler la trésorière" {
		t.Errorf("restored notes %q, follow-ups %d", f.notes.Text, len(f.followUps))
	}
	if !hasText(w2, tr("fr", "visit.draft_restored")) {
		t.Error("no word that a draft was restored")
	}
}

func TestDirtyFormAsksBeforeLeaving(t *testing.T) {
	u, w := startUI(t, "en")
	openMember(t, u)
	test.Tap(button(t, w, tr("en", "member.new_visit")))
	test.Type(u.main.form.notes, "Half typed")

	// Back to the member: a question, which Escape answers "keep editing".
	test.Tap(button(t, w, tr("en", "dialog.cancel")))
	if len(u.dialogs) != 1 || !hasText(w, tr("en", "visit.discard_title")) {
		t.Fatalf("no question before discarding; texts %q", texts(w))
	}
	u.win.Canvas().Focus(u.main.form.notes)
	u.main.form.notes.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if len(u.dialogs) != 0 || u.main.form == nil || u.main.form.notes.Text != "Half typed" {
		t.Fatal("Escape did not keep the form as it was")
	}

	// Closing the window asks too, and does not close.
	u.closeRequested()
	if !hasText(w, tr("en", "quit.title")) {
		t.Fatal("closing the window with a visit half typed did not ask")
	}
	test.Tap(button(t, w, tr("en", "visit.keep_editing")))

	// Discarding goes back to the member and forgets the draft.
	test.Tap(button(t, w, tr("en", "dialog.cancel")))
	test.Tap(button(t, w, tr("en", "visit.discard")))
	if u.main.form != nil || u.main.detail == nil {
		t.Fatal("discarding did not go back to the member")
	}
	if _, ok, _ := u.st.Setting(draftKey); ok {
		t.Error("the discarded draft is still stored")
	}
}

func TestLanguageSwitchRelabels(t *testing.T) {
	u, w := startUI(t, "fr")
	openMember(t, u)
	test.Tap(button(t, w, tr("fr", "member.new_visit")))
	test.Type(u.main.form.notes, "Texte tapé avant le changement de langue")
	u.main.tabs.SelectIndex(tabSettings)
	before := texts(w)
	for _, want := range []string{tr("fr", "nav.members"), tr("fr", "settings.language"), tr("fr", "status.pending_none")} {
		if !slices.Contains(before, want) {
			t.Fatalf("French screen lacks %q", want)
		}
	}
	var radio *widget.RadioGroup
	for _, o := range visible(w) {
		if r, ok := o.(*widget.RadioGroup); ok && slices.Contains(r.Options, "English") {
			radio = r
		}
	}
	if radio == nil {
		t.Fatal("no language choice in Settings")
	}
	radio.SetSelected("English")

	after := texts(w)
	for _, want := range []string{tr("en", "nav.members"), tr("en", "nav.settings"), tr("en", "settings.language"),
		tr("en", "settings.theme"), tr("en", "status.pending_none"), tr("en", "status.not_signed_in")} {
		if !slices.Contains(after, want) {
			t.Errorf("English screen lacks %q", want)
		}
	}
	for _, gone := range []string{tr("fr", "nav.members"), tr("fr", "settings.language"), tr("fr", "status.pending_none")} {
		if slices.Contains(after, gone) {
			t.Errorf("French %q still on screen", gone)
		}
	}
	if u.main.tabs.SelectedIndex() != tabSettings {
		t.Error("the switch left the Settings screen")
	}
	if got := u.app.Preferences().String(langPreference); got != "en" {
		t.Errorf("saved language %q", got)
	}
	// The visit being typed survived the rebuild, now in English.
	u.main.tabs.SelectIndex(tabMembers)
	if u.main.form == nil || u.main.form.notes.Text != "Texte tapé avant le changement de langue" {
		t.Fatal("the visit form lost its text in the switch")
	}
	if !hasText(w, tr("en", "visit.followups_title")) {
		t.Error("the visit form was not relabelled")
	}
}

func TestShortcuts(t *testing.T) {
	u, w := startUI(t, "fr")
	sc := w.Canvas().(fyne.Shortcutable)
	// Ctrl+N without a member: advice, no form.
	sc.TypedShortcut(shortcutNewVisit)
	if u.main.form != nil || u.members.count.Text != tr("fr", "members.choose_first") {
		t.Fatalf("Ctrl+N without a member: form %v, hint %q", u.main.form != nil, u.members.count.Text)
	}
	openMember(t, u)
	sc.TypedShortcut(shortcutNewVisit)
	if u.main.form == nil {
		t.Fatal("Ctrl+N on a member did not open the visit form")
	}
	if w.Canvas().Focused() != u.main.form.date.entry {
		t.Error("the visit form does not start on its first field")
	}
	// Ctrl+F from the untouched form: back to the list, search focused.
	u.main.form.people.TypedShortcut(shortcutSearch)
	if u.main.form != nil || u.main.detail != nil || w.Canvas().Focused() != u.members.search {
		t.Fatal("Ctrl+F did not go to the search")
	}
	// Escape closes a dialog.
	u.showInfo("x", "y")
	if len(w.Canvas().Overlays().List()) == 0 {
		t.Fatal("no dialog shown")
	}
	w.Canvas().Unfocus()
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if len(w.Canvas().Overlays().List()) != 0 || len(u.dialogs) != 0 {
		t.Error("Escape left the dialog open")
	}
}

func TestTabOrderFollowsTheForm(t *testing.T) {
	u, w := startUI(t, "fr")
	openMember(t, u)
	u.main.openVisitForm(u.main.detail.id, nil)
	f := u.main.form
	c := w.Canvas()
	c.Focus(f.date.entry)
	var order []fyne.Focusable
	for range 20 {
		test.FocusNext(c)
		order = append(order, c.Focused())
	}
	want := []fyne.Focusable{f.date.button, f.duration, f.people, f.services[0], f.services[1], f.notes, f.needs, f.next.entry}
	last := -1
	for _, o := range want {
		i := slices.Index(order, o)
		if i <= last {
			t.Fatalf("Tab reaches %T at %d, after position %d", o, i, last)
		}
		last = i
	}
}

func TestCreateProfileFirstRun(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("")
	w.Resize(testSize)
	dir := filepath.Join(t.TempDir(), "profile")
	u := New(a, w, Config{Profile: dir, Now: fixedNow})
	u.post = uiq.post
	t.Cleanup(func() { u.Close() })
	u.Start()
	// Nothing saved and a French or unknown system: French comes first.
	if u.loc.Lang() != locales.Detect(nil) {
		t.Fatalf("first run in %s, want the system's %s", u.loc.Lang(), locales.Detect(nil))
	}
	var radio *widget.RadioGroup
	for _, o := range visible(w) {
		if r, ok := o.(*widget.RadioGroup); ok {
			radio = r
		}
	}
	radio.SetSelected("English")
	if !hasText(w, tr("en", "firstrun.welcome")) {
		t.Fatal("choosing English did not relabel the wizard")
	}
	test.Tap(button(t, w, tr("en", "firstrun.next")))

	var pass []*entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && e.Password {
			pass = append(pass, e)
		}
	}
	test.Type(pass[0], "short")
	test.Tap(button(t, w, tr("en", "firstrun.next")))
	if !hasText(w, tr("en", "unlock.passphrase_too_short", map[string]any{"Min": MinPassphrase})) {
		t.Fatal("a short passphrase was not refused")
	}
	test.Type(pass[0], " enough for a profile")
	test.Type(pass[1], "short enough for a profile")
	strong := tr("en", "firstrun.strength", map[string]any{"Level": tr("en", "firstrun.strength.strong")})
	if !hasText(w, strong) {
		t.Errorf("no strength hint %q; texts %q", strong, texts(w))
	}
	test.Tap(button(t, w, tr("en", "firstrun.next")))
	test.Tap(button(t, w, tr("en", "firstrun.use_demo")))
	waitFor(t, u.ready.Load)
	if len(u.members.rows) != 300 {
		t.Fatalf("demo profile lists %d members", len(u.members.rows))
	}
	if got := a.Preferences().String(langPreference); got != "en" {
		t.Errorf("saved language %q, want en", got)
	}
	if !store.Exists(dir) {
		t.Error("no profile written")
	}
}

func TestPassphraseStrength(t *testing.T) {
	for _, c := range []struct {
		pass string
		want int
	}{
		{"", 0}, {"abc", 0}, {"aaaaaaaa", 1}, {"password", 1}, {"abababababababab", 1},
		{"Tr0mbone!", 2}, {"motdepasse2026", 3}, {"short enough for a profile", 4},
	} {
		if got := passphraseStrength(c.pass); got != c.want {
			t.Errorf("strength(%q) = %d, want %d", c.pass, got, c.want)
		}
	}
}
