package app

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// withPublisher configures a UI whose sync engine is p.
func withPublisher(p *publisher) func(*Config) {
	return func(c *Config) {
		c.NewSyncer = func(*store.Store) (Syncer, error) { return p, nil }
		c.SyncMessageID = func(err error) string {
			if errors.Is(err, errOffline) {
				return "error.not_found" // any message both files define
			}
			return ""
		}
	}
}

var errOffline = errors.New("offline")

func TestStatusBarFollowsEngine(t *testing.T) {
	p := newPublisher()
	u, w := startUI(t, "fr", withPublisher(p))
	s := u.main.status
	if !p.started {
		t.Fatal("the engine was not started")
	}
	// Not signed in: say so, and offer to sign in.
	if s.online.Text != tr("fr", "status.not_signed_in") || s.action.Text != tr("fr", "status.sign_in") {
		t.Fatalf("before sign-in: %q, button %q", s.online.Text, s.action.Text)
	}
	test.Tap(s.action)
	if u.main.tabs.SelectedIndex() != tabSettings {
		t.Error("the sign-in button does not lead to Settings")
	}

	now := fixedNow()
	p.publish(engine.State{SignedIn: true, Online: false})
	if s.online.Text != tr("fr", "status.offline") || s.progress.Visible() || s.errText.Visible() {
		t.Errorf("offline: %q progress %v", s.online.Text, s.progress.Visible())
	}
	if s.last.Text != tr("fr", "status.never_synced") {
		t.Errorf("never synced: %q", s.last.Text)
	}

	p.publish(engine.State{SignedIn: true, Online: true, Syncing: true, RecordsDone: 1200, RecordsTotal: 3000, PagesDone: 2})
	if !s.progress.Visible() || s.progress.Value != 1200 || s.progress.Max != 3000 {
		t.Fatalf("syncing: progress visible %v, %v/%v", s.progress.Visible(), s.progress.Value, s.progress.Max)
	}
	if got, want := s.progressText(), "1\u202f200 / 3\u202f000"; got != want {
		t.Errorf("progress text %q, want %q", got, want)
	}
	if !s.action.Disabled() || s.online.Text != tr("fr", "status.syncing") {
		t.Errorf("while syncing: %q, button disabled %v", s.online.Text, s.action.Disabled())
	}

	p.publish(engine.State{SignedIn: true, Online: false, LastError: errOffline, LastSuccess: now.Add(-3 * time.Hour)})
	want := tr("fr", "status.failed", map[string]any{"Reason": tr("fr", "error.not_found")})
	if !s.errText.Visible() || s.errText.Text != want || s.progress.Visible() {
		t.Errorf("failed: %q (visible %v), want %q", s.errText.Text, s.errText.Visible(), want)
	}
	// A failure never reads as a success: the last success stays old.
	if want := tr("fr", "status.last_sync", map[string]any{"Ago": "il y a 3 heures"}); s.last.Text != want {
		t.Errorf("after a failure: %q, want %q", s.last.Text, want)
	}

	p.publish(engine.State{SignedIn: true, Online: true, LastSuccess: now.Add(-5 * time.Minute)})
	if s.errText.Visible() || s.progress.Visible() {
		t.Error("done: error or progress still shown")
	}
	if want := "Synchronisé il y a 5 minutes"; s.last.Text != want {
		t.Errorf("done: %q, want %q", s.last.Text, want)
	}
	test.Tap(s.action)
	if p.syncs != 1 {
		t.Errorf("Sync button ran %d syncs", p.syncs)
	}

	// Pending changes count what waits in the outbox.
	id := openMember(t, u)
	m, _ := u.st.Member(id)
	m.Phone = "418 555-0199"
	if err := u.st.SaveMember(m); err != nil {
		t.Fatal(err)
	}
	u.main.localChange()
	if want := u.loc.N("status.pending", 1); s.pending.Text != want {
		t.Errorf("pending %q, want %q", s.pending.Text, want)
	}
	_ = w
}

func TestSignInFromSettings(t *testing.T) {
	p := newPublisher()
	u, w := startUI(t, "en", withPublisher(p))
	u.main.tabs.SelectIndex(tabSettings)
	var entries []*entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok {
			entries = append(entries, e)
		}
	}
	if len(entries) < 3 {
		t.Fatalf("settings show %d entries, want server, email and password", len(entries))
	}
	test.Type(entries[0], "https://terrain.example.org")
	test.Type(entries[1], "demo@example.org")
	test.Type(entries[2], "wrong")
	test.Tap(button(t, w, tr("en", "settings.sign_in")))
	waitFor(t, func() bool {
		return hasText(w, tr("en", "error.unexpected", map[string]any{"Detail": "bad credentials"}))
	})

	entries[2].SetText("demo-password")
	test.Tap(button(t, w, tr("en", "settings.sign_in")))
	waitFor(t, func() bool { return hasText(w, tr("en", "settings.sign_out")) })
	if u.main.status.online.Text == tr("en", "status.not_signed_in") {
		t.Error("the status bar still says not signed in")
	}
	if got := u.app.Preferences().String(serverPreference); got != "https://terrain.example.org" {
		t.Errorf("server remembered as %q", got)
	}
}

func TestFollowUpsScreen(t *testing.T) {
	u, w := startUI(t, "fr")
	s := u.main.followUps
	u.main.tabs.SelectIndex(tabFollowUps)
	open, _ := u.st.FollowUps(store.FollowUpFilter{})
	waitFor(t, func() bool { return s.count.Text == u.loc.N("followups.count", len(open)) })

	s.status.SetSelected(s.status.Options[followOverdue])
	overdue, _ := u.st.FollowUps(store.FollowUpFilter{OverdueOnly: true})
	waitFor(t, func() bool { return len(s.rows) == len(overdue) })
	if len(overdue) == 0 {
		t.Fatal("no overdue follow-up in the demo data")
	}

	// By service.
	service := overdue[0].ServiceID
	s.service.SetSelectedIndex(slices.Index(s.serviceIDs, service))
	waitFor(t, func() bool {
		return len(s.rows) > 0 && !slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.f.ServiceID != service })
	})
	// By member, typed without accents.
	name := s.rows[0].member
	test.Type(s.member, strings.ToUpper(domain.Fold(name)))
	if len(s.rows) == 0 || slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.member != name }) {
		t.Fatalf("member filter %q kept %d rows", name, len(s.rows))
	}
	if !hasText(w, s.rows[0].f.Description) {
		t.Error("the follow-up is not on screen")
	}
	// Mark done from the list.
	target := s.rows[0].f
	test.Tap(button(t, w, tr("fr", "followups.mark_done")))
	waitFor(t, func() bool {
		return !slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.f.ID == target.ID })
	})
	if f, _ := u.st.FollowUp(target.ID); f.Status != domain.FollowUpDone {
		t.Errorf("status %q after mark done", f.Status)
	}
	s.status.SetSelected(s.status.Options[followDone])
	waitFor(t, func() bool {
		return slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.f.ID == target.ID })
	})

	// Tapping a row opens the member.
	s.list.Select(0)
	if u.main.tabs.SelectedIndex() != tabMembers || u.main.detail == nil || u.main.detail.id != target.MemberID {
		t.Error("tapping a follow-up did not open its member")
	}
}

func TestDashboard(t *testing.T) {
	u, w := startUI(t, "en")
	u.main.tabs.SelectIndex(tabDashboard)
	today := u.today()
	counts, err := u.st.CountVisits(monthsBack(today, 11), today)
	if err != nil {
		t.Fatal(err)
	}
	total := u.loc.N("dashboard.visits_total", counts.Total)
	waitFor(t, func() bool { return hasText(w, total) })
	if counts.Total == 0 || len(counts.Months) != 12 {
		t.Fatalf("counts %+v", counts)
	}
	// A bar per month with its figure, and the month's name under it.
	for _, m := range counts.Months {
		if !hasText(w, u.loc.Number(float64(m.Visits), 0)) {
			t.Errorf("no figure for %v %d", m.Month, m.Year)
		}
	}
	if !hasText(w, tr("en", "date.month_short.03")) || !hasText(w, u.loc.Region("09")) {
		t.Error("month or region labels missing")
	}
	bars := 0
	for _, o := range visible(w) {
		if _, ok := o.(*fyne.Container); ok {
			if l, ok := o.(*fyne.Container).Layout.(*barLayout); ok && l.frac > 0 {
				bars++
			}
		}
	}
	if bars < 12 {
		t.Errorf("%d bars drawn", bars)
	}
	since := domain.DateOf(today.Time().AddDate(0, -notVisitedMonths, 0))
	nv, _ := u.st.MembersNotVisitedSince(since)
	if !hasText(w, u.loc.N("members.count", len(nv))) || !hasText(w, nv[0].Name) {
		t.Error("members not visited for 6 months missing")
	}
	overdue, _ := u.st.FollowUps(store.FollowUpFilter{OverdueOnly: true})
	if !hasText(w, u.loc.N("followups.count", len(overdue))) {
		t.Error("overdue follow-ups count missing")
	}
	test.Tap(button(t, w, tr("en", "dashboard.see_overdue")))
	if u.main.tabs.SelectedIndex() != tabFollowUps ||
		u.main.followUps.status.Selected != u.main.followUps.status.Options[followOverdue] {
		t.Error("see all overdue did not open the overdue follow-ups")
	}
}

func TestEditContactOffline(t *testing.T) {
	u, w := startUI(t, "fr")
	id := openMember(t, u)
	test.Tap(button(t, w, tr("fr", "member.edit_contact")))
	if len(u.dialogs) != 1 {
		t.Fatal("no contact dialog")
	}
	var phone *entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && phone == nil && w.Canvas().Focused() == e {
			phone = e
		}
	}
	if phone == nil {
		t.Fatal("the dialog does not start on the phone")
	}
	phone.SetText("")
	test.Type(phone, "555")
	phone.TypedShortcut(shortcutSave) // Ctrl+S saves the dialog
	if len(u.dialogs) != 1 || !hasText(w, tr("fr", "validation.phone")) {
		t.Fatalf("invalid phone accepted; texts %q", texts(w))
	}
	// Fixed, the message goes before the next save; typed the short way,
	// the number is stored normalised.
	phone.SetText("")
	test.Type(phone, "(418) 555-0123 POSTE 12")
	if hasText(w, tr("fr", "validation.phone")) {
		t.Error("the phone's error stays once the phone is fixed")
	}
	test.Tap(button(t, w, tr("fr", "form.save")))
	if len(u.dialogs) != 0 {
		t.Fatal("the dialog stayed open after a valid save")
	}
	m, _ := u.st.Member(id)
	if m.Phone != "418 555-0123 poste 12" {
		t.Errorf("stored phone %q", m.Phone)
	}
	if !hasText(w, "418 555-0123 poste 12") {
		t.Error("the new phone is not on screen")
	}
	if n, _ := u.st.PendingCount(); n != 1 {
		t.Errorf("%d changes pending, want 1", n)
	}
}

func TestDateField(t *testing.T) {
	u, w := startUI(t, "fr")
	openMember(t, u)
	u.main.openVisitForm(u.main.detail.id, nil)
	f := u.main.form
	test.Tap(f.next.button)
	if u.popUp == nil || !u.popUp.Visible() {
		t.Fatal("no calendar")
	}
	if !hasText(w, "mars 2026") || !hasText(w, "di") {
		t.Fatalf("calendar not in French; texts %q", texts(w))
	}
	// Next month, then the 10th.
	var next *widget.Button
	var day *widget.Button
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == "" && b.Icon != nil && b.Icon.Name() == "foreground_arrow-forward.svg" {
			next = b
		}
	}
	if next == nil {
		t.Fatal("no arrow to the next month")
	}
	test.Tap(next)
	if !hasText(w, "avril 2026") {
		t.Error("the arrow did not go to April")
	}
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == "10" {
			day = b
		}
	}
	test.Tap(day)
	if want := "2026-04-10"; f.next.Text() != want || u.popUp != nil {
		t.Errorf("picked %q, want %q", f.next.Text(), want)
	}
	// Escape closes the calendar, leaving the form.
	test.Tap(f.date.button)
	f.date.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if u.popUp != nil || u.main.form == nil {
		t.Error("Escape did not close the calendar alone")
	}
}

func TestExportCSV(t *testing.T) {
	u, _ := startUI(t, "fr")
	var buf bytes.Buffer
	n, err := exportVisits(&buf, u.st, u.loc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff")) {
		t.Fatal("no byte order mark")
	}
	r := csv.NewReader(bytes.NewReader(buf.Bytes()[3:]))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || n < 2000 {
		t.Fatalf("%d rows for %d visits", len(rows), n)
	}
	if rows[0][0] != tr("fr", "field.date") || rows[0][1] != tr("fr", "field.member_id") {
		t.Errorf("header %q", rows[0])
	}
	accented := false
	for _, row := range rows[1:] {
		if strings.ContainsAny(row[1]+row[2]+row[3], "éèàçîôÉÎ") {
			accented = true
		}
		if _, err := domain.ParseDate(row[0]); err != nil {
			t.Fatalf("date %q: %v", row[0], err)
		}
	}
	if !accented {
		t.Error("no accent survived the export")
	}

	// A follow-up marked done here exports its day and its author.
	done := firstOverdue(t, u)
	u.markDone(domain.FollowUp{ID: done})
	me, _ := u.st.Me()
	buf.Reset()
	n, err = exportFollowUps(&buf, u.st, locales.New("en"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil || len(rows) != n+1 || n == 0 || rows[0][0] != tr("en", "field.due") {
		t.Fatalf("follow-ups export: %d rows for %d, %v", len(rows), n, err)
	}
	on, by := slices.Index(rows[0], tr("en", "field.done_on")), slices.Index(rows[0], tr("en", "field.done_by"))
	if on < 0 || by < 0 {
		t.Fatalf("no completion columns in %q", rows[0])
	}
	if !slices.ContainsFunc(rows, func(r []string) bool {
		return slices.Contains(r, done) && r[on] == u.today().String() && r[by] == me.Name
	}) {
		t.Error("the follow-up marked done lacks its day or author in the export")
	}
}

func TestBackupAndRestore(t *testing.T) {
	u, _ := startUI(t, "fr")
	path := filepath.Join(t.TempDir(), "sauvegarde.terrain")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.st.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A change after the backup, which the restore undoes.
	id := u.members.rows[0].ID
	m, _ := u.st.Member(id)
	m.Phone = "418 555-0111"
	if err := u.st.SaveMember(m); err != nil {
		t.Fatal(err)
	}

	r, _ := os.Open(path)
	defer r.Close()
	if _, err := u.stageRestore(r, []byte("pas la bonne")); !errors.Is(err, store.ErrWrongPassphrase) {
		t.Fatalf("restore with a wrong passphrase: %v", err)
	}
	if left, _ := filepath.Glob(u.cfg.Profile + ".restore-*"); len(left) != 0 {
		t.Errorf("a failed restore left %v", left)
	}
	r.Seek(0, 0)
	staged, err := u.stageRestore(r, []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	u.stopProfile()
	st, err := u.swapInRestore(staged, []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	u.opened(st)
	got, _ := u.st.Member(id)
	if got.Phone == "418 555-0111" || len(u.members.rows) != 300 {
		t.Errorf("restored phone %q, %d members", got.Phone, len(u.members.rows))
	}
	old, _ := filepath.Glob(u.cfg.Profile + ".before-restore-*")
	if len(old) != 1 {
		t.Errorf("former profile kept as %v", old)
	}
}

func TestChangePassphrase(t *testing.T) {
	u, w := startUI(t, "en")
	u.main.tabs.SelectIndex(tabSettings)
	test.Tap(button(t, w, tr("en", "settings.change_passphrase")))
	var pass []*entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && e.Password {
			pass = append(pass, e)
		}
	}
	if len(pass) != 3 {
		t.Fatalf("%d passphrase entries", len(pass))
	}
	test.Type(pass[0], testPassphrase)
	test.Type(pass[1], "une nouvelle phrase de passe")
	test.Type(pass[2], "une nouvelle phrase de passe")
	test.Tap(button(t, w, tr("en", "settings.change")))
	waitFor(t, func() bool { return hasText(w, tr("en", "settings.passphrase_changed")) })
	dir := u.cfg.Profile
	u.Close()
	st, err := store.Open(dir, []byte("une nouvelle phrase de passe"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}
