package app

import (
	"bytes"
	"image/png"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

// The Today view: every open follow-up under overdue, today, this week and
// later, each section with its count.
func TestTodayView(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			loc := u.loc
			s := u.main.followUps
			u.main.tabs.SelectIndex(tabFollowUps)
			if s.status.Selected != tr(lang, "followups.filter.today") {
				t.Fatalf("the follow-ups open on %q, want the Today view", s.status.Selected)
			}
			open, _ := u.st.FollowUps(store.FollowUpFilter{})
			waitFor(t, func() bool { return s.count.Text == loc.N("followups.count", len(open)) })
			today := u.today()
			// A follow-up due today and one in three days, for every section.
			m := open[0]
			for i, due := range []domain.Date{today, today.AddDays(3)} {
				f := m
				f.ID, f.Due, f.Description = domain.NewID(), due, "Appel "+string(rune('A'+i))
				if err := u.st.SaveFollowUp(f); err != nil {
					t.Fatal(err)
				}
			}
			s.refresh()
			waitFor(t, func() bool { return s.count.Text == loc.N("followups.count", len(open)+2) })

			section := -1
			seen := map[int]bool{}
			for _, it := range s.rows {
				if it.heading != "" {
					section++
					for section < len(sectionMessages) && !strings.HasPrefix(it.heading, loc.T(sectionMessages[section])+" (") {
						section++
					}
					if section == len(sectionMessages) {
						t.Fatalf("heading %q out of order", it.heading)
					}
					seen[section] = true
					continue
				}
				if got := todaySection(it.f, today); got != section {
					t.Errorf("%q due %v under section %d, want %d", it.f.Description, it.f.Due, section, got)
				}
			}
			for _, n := range []int{sectionOverdue, sectionToday, sectionWeek, sectionLater} {
				if !seen[n] {
					t.Errorf("no %q section", loc.T(sectionMessages[n]))
				}
			}
			if !hasText(w, s.rows[0].heading) {
				t.Error("the first heading is not on screen")
			}
		})
	}
}

// Issue 13, defect 5: marking done can be undone, a done follow-up can be
// reopened, and its completion day and author are shown.
func TestMarkDoneUndoReopen(t *testing.T) {
	u, w := startUI(t, "fr")
	me, err := u.st.Me()
	if err != nil {
		t.Fatal(err)
	}
	s := u.main.followUps
	u.main.tabs.SelectIndex(tabFollowUps)
	waitFor(t, func() bool { return len(s.rows) > 1 })
	target := s.rows[1].f // rows[0] is a heading
	test.Tap(button(t, w, tr("fr", "followups.mark_done")))
	waitFor(t, func() bool {
		return !slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.f.ID == target.ID })
	})
	f, _ := u.st.FollowUp(target.ID)
	if f.Status != domain.FollowUpDone || f.DoneOn != u.today() || f.DoneBy != me.Name {
		t.Fatalf("after mark done: status %q, done on %v by %q", f.Status, f.DoneOn, f.DoneBy)
	}
	// Undo, from the bar above the tabs.
	if !hasText(w, tr("fr", "followups.marked_done", map[string]any{"Description": target.Description})) {
		t.Fatal("no undo offer on screen")
	}
	test.Tap(button(t, w, tr("fr", "followups.undo")))
	waitFor(t, func() bool {
		return slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.f.ID == target.ID })
	})
	if f, _ := u.st.FollowUp(target.ID); f.Status != target.Status || !f.DoneOn.IsZero() || f.DoneBy != "" {
		t.Fatalf("after undo: %+v", f)
	}
	if hasText(w, tr("fr", "followups.undo")) {
		t.Error("the undo offer stays after undoing")
	}

	// Done again, then reopened from Terminés, where the day and the
	// author show.
	u.markDone(target)
	s.status.SetSelected(s.status.Options[followDone])
	var at int
	waitFor(t, func() bool {
		at = slices.IndexFunc(s.rows, func(it followUpItem) bool {
			return it.f.ID == target.ID && it.f.Status == domain.FollowUpDone
		})
		return at >= 0
	})
	s.list.ScrollTo(at)
	uiq.drain()
	doneText := tr("fr", "followups.done_by", map[string]any{"Date": u.loc.Date(u.today()), "Name": me.Name})
	if !hasText(w, doneText) {
		t.Errorf("%q not on screen", doneText)
	}
	test.Tap(rowButton(t, w, target.Description))
	waitFor(t, func() bool {
		return !slices.ContainsFunc(s.rows, func(it followUpItem) bool { return it.f.ID == target.ID })
	})
	if f, _ := u.st.FollowUp(target.ID); f.Status != domain.FollowUpOpen || !f.DoneOn.IsZero() {
		t.Errorf("after reopen: %+v", f)
	}
	if !hasText(w, tr("fr", "followups.reopened", map[string]any{"Description": target.Description})) {
		t.Error("no undo offer after reopening")
	}

	// From the member's page too.
	u.main.openMember(target.MemberID)
	test.Tap(button(t, w, tr("fr", "followups.mark_done")))
	test.Tap(button(t, w, tr("fr", "followups.undo")))
	uiq.drain()
	if f, _ := u.st.FollowUp(target.ID); f.Status == domain.FollowUpDone {
		t.Error("undo from the member's page did not reopen")
	}
}

// Issue 13, defect 8: at 1024×640 the overdue date is never cut.
func TestOverdueDateFitsAt1024(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			s := u.main.followUps
			u.main.tabs.SelectIndex(tabFollowUps)
			s.showOverdue()
			waitFor(t, func() bool { return len(s.rows) > 3 })
			uiq.drain()
			prefix, _, _ := strings.Cut(tr(lang, "followups.overdue_since", map[string]any{"Date": "|"}), "|")
			checked := 0
			for _, o := range visible(w) {
				l, ok := o.(*widget.Label)
				if !ok || !strings.Contains(l.Text, prefix) {
					continue
				}
				checked++
				need := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding()
				if l.Truncation != fyne.TextTruncateOff && need > l.Size().Width+0.5 {
					t.Errorf("%q cut: needs %.0f, has %.0f", l.Text, need, l.Size().Width)
				}
			}
			if checked == 0 {
				t.Fatal("no overdue date on screen")
			}
		})
	}
}

// trayTestApp is the test app with a system tray and notifications that
// it records.
type trayTestApp struct {
	fyne.App
	mu    sync.Mutex
	menu  *fyne.Menu
	icons int
	notes []*fyne.Notification
}

func (a *trayTestApp) SetSystemTrayMenu(m *fyne.Menu)  { a.mu.Lock(); a.menu = m; a.mu.Unlock() }
func (a *trayTestApp) SetSystemTrayIcon(fyne.Resource) { a.mu.Lock(); a.icons++; a.mu.Unlock() }
func (a *trayTestApp) SendNotification(n *fyne.Notification) {
	a.mu.Lock()
	a.notes = append(a.notes, n)
	a.mu.Unlock()
}

// The day's summary shows at start-up; the tray lists the counts with
// Open, Sync now and Quit; one notification a day; the setting stops
// the notification but never the summary.
func TestDailySummaryTrayAndNotification(t *testing.T) {
	a := &trayTestApp{App: test.NewTempApp(t)}
	dir := filepath.Join(t.TempDir(), "profile")
	start := func() (*UI, fyne.Window) {
		w := a.NewWindow("")
		w.Resize(testSize)
		u := New(a, w, Config{Profile: dir, Lang: "fr", Passphrase: testPassphrase, Demo: true, Now: fixedNow})
		u.post = uiq.post
		u.Start()
		waitFor(t, u.ready.Load)
		return u, w
	}
	u, w := start()
	overdue, week, err := followUpCounts(u.st, u.today())
	if err != nil || overdue == 0 || week == 0 {
		t.Fatalf("counts %d, %d, %v: the demo data should have both", overdue, week, err)
	}
	want := u.loc.N("followups.summary.overdue_week", week, map[string]any{"Overdue": u.loc.N("followups.summary.overdue", overdue)})
	waitFor(t, func() bool { return hasText(w, want) })
	a.mu.Lock()
	menu, notes := a.menu, len(a.notes)
	a.mu.Unlock()
	if menu == nil {
		t.Fatal("no tray menu")
	}
	var labels []string
	for _, it := range menu.Items {
		labels = append(labels, it.Label)
	}
	for _, l := range []string{want, tr("fr", "tray.open"), tr("fr", "tray.sync_now"), tr("fr", "tray.quit")} {
		if !slices.Contains(labels, l) {
			t.Errorf("tray menu %q lacks %q", labels, l)
		}
	}
	if notes != 1 {
		t.Errorf("%d notifications at start-up, want 1", notes)
	}
	// « Voir les suivis » opens the Today view.
	u.main.tabs.SelectIndex(tabMembers)
	test.Tap(button(t, w, tr("fr", "followups.summary.see")))
	if u.main.tabs.SelectedIndex() != tabFollowUps || u.main.followUps.view() != followToday {
		t.Error("the summary's button did not open the Today view")
	}
	// Marking one done updates the counts at once.
	u.markDone(domain.FollowUp{ID: firstOverdue(t, u)})
	waitFor(t, func() bool { return u.todo.overdue == overdue-1 })
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}

	// The same day again: the summary, but no second notification.
	u, w = start()
	waitFor(t, func() bool { return u.main.notices.summary.Visible() })
	a.mu.Lock()
	if len(a.notes) != 1 {
		t.Errorf("%d notifications on the same day, want 1", len(a.notes))
	}
	a.mu.Unlock()
	// Turned off: the next day brings the summary, but no notification.
	u.app.Preferences().SetBool(remindersPreference, false)
	u.app.Preferences().SetString(notifiedPreference, "")
	u.todo.dismissed = u.today().AddDays(-1) // closed yesterday
	u.main.notices.setSummary("")
	u.todo.day = domain.Date{}
	u.dailyCheck()
	waitFor(t, func() bool { return u.main.notices.summary.Visible() })
	a.mu.Lock()
	if len(a.notes) != 1 {
		t.Errorf("a notification was sent with reminders off")
	}
	a.mu.Unlock()
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	_ = w
}

func firstOverdue(t *testing.T, u *UI) string {
	t.Helper()
	fus, err := u.st.FollowUps(store.FollowUpFilter{OverdueOnly: true, Limit: 1})
	if err != nil || len(fus) == 0 {
		t.Fatal("no overdue follow-up")
	}
	return fus[0].ID
}

// rowButton is the button of the list row showing text.
func rowButton(t *testing.T, w fyne.Window, text string) *widget.Button {
	t.Helper()
	found := false
	for _, o := range visible(w) {
		if l, ok := o.(*widget.Label); ok && l.Text == text {
			found = true
		}
		if b, ok := o.(*widget.Button); ok && found {
			return b
		}
	}
	t.Fatalf("no row %q on screen", text)
	return nil
}

// The tray icon carries the count in a red disc.
func TestBadgeIcon(t *testing.T) {
	for _, n := range []int{0, 3, 42, 1500} {
		res := badgeIcon(nil, n)
		img, err := png.Decode(bytes.NewReader(res.Content()))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		r, g, b, _ := img.At(64-21+15, 64-21).RGBA() // inside the disc, right of the digits
		red := r>>8 > 0xc0 && g>>8 < 0x60 && b>>8 < 0x60
		if red != (n > 0) {
			t.Errorf("%d: disc %v, pixel %d,%d,%d", n, red, r>>8, g>>8, b>>8)
		}
	}
}
