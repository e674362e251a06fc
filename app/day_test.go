package app

// Tests of issue 13, « the coordinator's day »: what a first real use found
// broken.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// radioWith finds the visible radio group offering option.
func radioWith(t *testing.T, w fyne.Window, option string) *widget.RadioGroup {
	t.Helper()
	for _, o := range visible(w) {
		if r, ok := o.(*widget.RadioGroup); ok && slices.Contains(r.Options, option) {
			return r
		}
	}
	t.Fatalf("no radio group offering %q; texts %q", option, texts(w))
	return nil
}

// Item 1: with Settings open, the app must not sync by itself. The real
// engine runs against the real central handler; its push delay is 20 ms
// for the 2 s of a real run, so that 100 ms stand for 10 seconds.
func TestSettingsDoNotSyncInALoop(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	backend, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	srv, err := central.New(ctx, backend, central.Options{Logger: quiet, Argon2: central.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	var syncs atomic.Int64
	h := srv.Handler()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/sync" {
			syncs.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(web.Close)
	const email, password = "coordo@example.org", "un mot de passe de test"
	if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: "Coordo Côte-Nord", Email: email,
		Regions: []string{"09"}, Password: []byte(password)}); err != nil {
		t.Fatal(err)
	}
	var members []domain.Member
	for i := range 5 {
		members = append(members, domain.Member{ID: domain.NewID(), Name: fmt.Sprintf("Coopérative du Golfe %d", i),
			LegalForm: domain.WorkerCoop, Region: "09", Municipality: "Sept-Îles", Status: domain.MemberActive,
			MemberSince: domain.NewDate(2015, 3, 1)})
	}
	if err := srv.Import(ctx, members, nil, nil); err != nil {
		t.Fatal(err)
	}
	const scale = 100 // real durations divided by this
	// Runs after the UI closed: what the engine posted since goes too,
	// not into the next test.
	t.Cleanup(func() {
		uiq.mu.Lock()
		uiq.fns = nil
		uiq.mu.Unlock()
	})
	u, w := runUI(t, Config{
		Profile: filepath.Join(t.TempDir(), "profile"), Lang: "fr", Passphrase: testPassphrase,
		Server: web.URL, Email: email, Password: password,
		NewSyncer: func(st *store.Store) (Syncer, error) {
			return engine.New(st, engine.Options{Logger: quiet, PushDelay: 2 * time.Second / scale,
				Interval: time.Hour, NetCheck: -1,
				Client: client.Config{Retries: -1, AttemptTimeout: 5 * time.Second}}), nil
		},
		SyncMessageID: engine.MessageID,
	})
	waitFor(t, func() bool {
		return u.main != nil && len(u.members.rows) == 5 && !u.syncState.Syncing && !u.syncState.LastSuccess.IsZero()
	})
	w.Resize(fyne.NewSize(1024, 640))

	run := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			uiq.drain()
			time.Sleep(time.Millisecond)
		}
	}
	run(10 * time.Second / scale) // anything the first sync left to do
	before := syncs.Load()
	u.main.tabs.SelectIndex(tabSettings)
	sawSyncing := false
	for end := time.Now().Add(10 * time.Second / scale); time.Now().Before(end); {
		uiq.drain()
		if u.main.status.online.Text == tr("fr", "status.syncing") {
			sawSyncing = true
		}
		time.Sleep(time.Millisecond)
	}
	run(20 * time.Millisecond) // a request already on its way
	if n := syncs.Load() - before; n != 0 || sawSyncing {
		t.Errorf("Settings open for 10 (simulated) seconds: %d sync requests, status bar syncing: %v; want none", n, sawSyncing)
	}

	// A sync the coordinator asks for leaves the page where it was.
	scroll := u.main.settings.box.Objects[0].(*container.Scroll)
	scroll.Offset = fyne.NewPos(0, 120)
	scroll.Refresh()
	before = syncs.Load()
	test.Tap(u.main.status.action)
	waitFor(t, func() bool { return syncs.Load() > before && !u.syncState.Syncing })
	run(10 * time.Second / scale)
	now := u.main.settings.box.Objects[0].(*container.Scroll)
	if now.Offset.Y != 120 {
		t.Errorf("after a sync, Settings scrolled to %v, want where the coordinator left it (120)", now.Offset.Y)
	}
}

// listTexts is every drawn text of the members list's rows.
func listTexts(u *UI) []*canvas.Text {
	var out []*canvas.Text
	walk(u.members.list, func(o fyne.CanvasObject) {
		if t, ok := o.(*canvas.Text); ok && strings.TrimSpace(t.Text) != "" {
			out = append(out, t)
		}
	})
	return out
}

// Item 2: the members list drawn before a change of theme must not stay
// on screen afterwards: its colours (and, under OpenGL, its cached
// textures) are the old theme's.
func TestThemeSwitchRedrawsMembersList(t *testing.T) {
	u, w := startUI(t, "fr")
	for _, c := range []struct {
		option  string
		variant fyne.ThemeVariant
	}{{tr("fr", "settings.theme.light"), theme.VariantLight}, {tr("fr", "settings.theme.dark"), theme.VariantDark}} {
		u.main.tabs.SelectIndex(tabMembers)
		uiq.drain()
		old := listTexts(u)
		if len(old) == 0 {
			t.Fatal("no text in the members list")
		}
		u.main.tabs.SelectIndex(tabSettings)
		radioWith(t, w, c.option).SetSelected(c.option)
		u.main.tabs.SelectIndex(tabMembers)
		uiq.drain()
		fg := theme.DefaultTheme().Color(theme.ColorNameForeground, c.variant)
		now := listTexts(u)
		if len(now) == 0 {
			t.Fatal("no text in the members list after the switch")
		}
		for _, txt := range now {
			if slices.Contains(old, txt) {
				t.Errorf("%s: %q is still the text drawn under the former theme", c.option, txt.Text)
				break
			}
			r1, g1, b1, _ := txt.Color.RGBA()
			r2, g2, b2, _ := fg.RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Errorf("%s: %q drawn in %v, want the theme's text colour %v", c.option, txt.Text, txt.Color, fg)
				break
			}
		}
	}
}

// Item 6 and feature D: search → Down → arrows → Enter opens the member →
// Ctrl+N → Ctrl+S → Escape back to the list, with the keyboard only.
func TestKeyboardPathFromSearchToVisit(t *testing.T) {
	u, w := startUI(t, "fr")
	c := w.Canvas()
	sc := c.(fyne.Shortcutable)
	if c.Focused() != fyne.Focusable(u.members.search) {
		t.Fatal("the search does not have the keyboard at start")
	}
	test.Type(u.members.search, "coop")
	if len(u.members.rows) < 2 {
		t.Fatalf("%d members match", len(u.members.rows))
	}
	u.members.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if c.Focused() != fyne.Focusable(u.members.list) {
		t.Fatalf("Down in the search gave the keyboard to %T, want the results", c.Focused())
	}
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	want := u.members.rows[1].ID
	if u.main.detail == nil || u.main.detail.id != want {
		t.Fatal("Down then Enter did not open the second member")
	}
	sc.TypedShortcut(shortcutNewVisit)
	f := u.main.form
	if f == nil || c.Focused() != fyne.Focusable(f.date.entry) {
		t.Fatal("Ctrl+N did not open the visit form on its first field")
	}
	f.duration.SetText("45")
	test.Type(f.people, "Julie Tremblay, directrice")
	test.Type(f.notes, "Bilan de l’année et projets")
	f.services[0].SetChecked(true)
	before, _ := u.st.VisitsOfMember(want, 0)
	c.Focused().(fyne.Shortcutable).TypedShortcut(shortcutSave)
	for _, fld := range f.fields {
		if fld.err.Visible() {
			t.Logf("%s: %s", fld.name, fld.err.Text)
		}
	}
	after, _ := u.st.VisitsOfMember(want, 0)
	if len(after) != len(before)+1 || u.main.form != nil {
		t.Fatalf("Ctrl+S did not save the visit: %d → %d visits; form message %q", len(before), len(after), f.msg.Text)
	}
	if c.Focused() != nil {
		c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	} else {
		c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	}
	if u.main.detail != nil || u.main.form != nil {
		t.Fatal("Escape on the member did not go back to the list")
	}
	if c.Focused() != fyne.Focusable(u.members.list) {
		t.Errorf("back on the list, the keyboard is on %T, want the list", c.Focused())
	}

	// Tab from the search reaches the results too.
	c.Focus(u.members.search)
	reached := false
	for range 8 {
		test.FocusNext(c)
		if c.Focused() == fyne.Focusable(u.members.list) {
			reached = true
			break
		}
	}
	if !reached {
		t.Error("Tab from the search never reaches the list")
	}
}

// Feature D: « Raccourcis clavier » lists every shortcut, from F1, Ctrl+/
// and a button in Settings; Escape closes it.
func TestShortcutsScreen(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		u, w := startUI(t, lang)
		c := w.Canvas()
		c.Unfocus()
		c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyF1})
		title := tr(lang, "shortcuts.title")
		shown := func() bool {
			for _, o := range visible(w) {
				if l, ok := o.(*widget.Label); ok && l.Text == tr(lang, "shortcuts.new_visit") {
					return true
				}
			}
			return false
		}
		if !shown() {
			t.Fatalf("%s: F1 did not show the shortcuts", lang)
		}
		for _, want := range []string{"Ctrl+N", "Ctrl+S", "Ctrl+F", tr(lang, "shortcuts.escape"), tr(lang, "shortcuts.open")} {
			if !hasText(w, want) {
				t.Errorf("%s: the shortcuts screen lacks %q", lang, want)
			}
		}
		c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
		if shown() {
			t.Fatalf("%s: Escape left the shortcuts open", lang)
		}
		// Ctrl+/ from the search.
		u.members.search.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeySlash, Modifier: fyne.KeyModifierShortcutDefault})
		if !shown() {
			t.Fatalf("%s: Ctrl+/ did not show the shortcuts", lang)
		}
		c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
		u.main.tabs.SelectIndex(tabSettings)
		test.Tap(button(t, w, title))
		if !shown() {
			t.Fatalf("%s: the Settings button did not show the shortcuts", lang)
		}
	}
}

// Item 8: at 1024×640 e-mail and web addresses are never broken across
// lines in the member's detail.
func TestAddressesDoNotWrap(t *testing.T) {
	u, w := startUI(t, "fr")
	id := u.members.rows[0].ID
	m, _ := u.st.Member(id)
	m.Email = "coordination.generale@cooperative-de-solidarite.qc.ca"
	m.Website = "https://www.cooperative-de-solidarite-du-golfe.coop"
	if err := u.st.SaveMember(m); err != nil {
		t.Fatal(err)
	}
	u.main.showMember(id)
	w.Resize(fyne.NewSize(1024, 640))
	w.Content().Refresh()
	uiq.drain()
	for _, addr := range []string{m.Email, m.Website} {
		var lines []string
		for _, o := range visible(w) {
			if l, ok := o.(*widget.Label); ok && l.Text == addr {
				walk(l, func(o fyne.CanvasObject) {
					if t, ok := o.(*canvas.Text); ok && t.Text != "" {
						lines = append(lines, t.Text)
					}
				})
			}
		}
		if len(lines) != 1 || lines[0] != addr {
			t.Errorf("%s drawn as %q, want one whole line", addr, lines)
		}
	}
}

// firstRunUI starts the wizard of a new profile.
func firstRunUI(t *testing.T, lang string, adjust ...func(*Config)) (*UI, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("")
	w.Resize(testSize)
	cfg := Config{Profile: filepath.Join(t.TempDir(), "profile"), Lang: lang, Now: fixedNow}
	for _, f := range adjust {
		f(&cfg)
	}
	u := New(a, w, cfg)
	u.post = uiq.post
	t.Cleanup(func() { u.Close() })
	u.Start()
	return u, w
}

func passwordEntries(w fyne.Window) []*entry {
	var out []*entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && e.Password {
			out = append(out, e)
		}
	}
	return out
}

// Item 10: the first-run wizard.
func TestFirstRunWizardDetails(t *testing.T) {
	p := newPublisher()
	u, w := firstRunUI(t, "fr", withPublisher(p))
	c := w.Canvas()

	// « Étape 1 sur 3 » in the text colour, readable on the dark theme.
	step := tr("fr", "firstrun.step", map[string]any{"Step": 1, "Steps": 3})
	fg := u.app.Settings().Theme().Color(theme.ColorNameForeground, u.app.Settings().ThemeVariant())
	found := false
	for _, o := range visible(w) {
		if txt, ok := o.(*canvas.Text); ok && txt.Text == step {
			found = true
			if txt.Color != fg {
				t.Errorf("%q drawn in %v, want the text colour %v", step, txt.Color, fg)
			}
		}
	}
	if !found {
		t.Fatalf("no %q on the first page", step)
	}

	// Enter advances the first step.
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	pass := passwordEntries(w)
	if len(pass) != 2 {
		t.Fatal("Enter on the first step did not go to the passphrase")
	}
	if c.Focused() != fyne.Focusable(pass[0]) {
		t.Error("the passphrase step does not start in its first field")
	}

	// Too short: the meter shows nothing filled. Measured on the
	// rendered window: the bar's area is the window's background,
	// but for thin outlines.
	meter := strengthArea(t, w)
	empty := backgroundShare(w, meter)
	if empty < 0.9 {
		t.Errorf("at « trop courte » the meter looks %.0f %% filled", 100*(1-empty))
	}
	test.Type(pass[0], "cinq mots faciles à retenir")
	if share := backgroundShare(w, strengthArea(t, w)); share > 0.1 {
		t.Errorf("a strong passphrase leaves %.0f %% of the meter empty", 100*share)
	}
	test.Type(pass[1], "cinq mots faciles à retenir")
	pass[1].OnSubmitted(pass[1].Text)

	// Step 3 starts in its first field.
	var server *entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok && e.PlaceHolder == tr("fr", "settings.server_placeholder") {
			server = e
		}
	}
	if server == nil {
		t.Fatal("no third step")
	}
	if c.Focused() != fyne.Focusable(server) {
		t.Errorf("the third step starts on %T, want the server field", c.Focused())
	}

	// A refused password is said under the sign-in form, above the demo
	// card.
	var entries []*entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok {
			entries = append(entries, e)
		}
	}
	test.Type(entries[0], "https://central.example.org")
	test.Type(entries[1], "demo@example.org")
	test.Type(entries[2], "mauvais mot de passe")
	test.Tap(button(t, w, tr("fr", "settings.sign_in")))
	var errLabel fyne.CanvasObject
	waitFor(t, func() bool {
		for _, o := range visible(w) {
			if m, ok := o.(*message); ok && m.Text != "" {
				errLabel = m
				return true
			}
		}
		return false
	})
	inCard := false
	for _, o := range visible(w) {
		if card, ok := o.(*widget.Card); ok && card.Title == tr("fr", "firstrun.sign_in_title") {
			walk(card, func(o fyne.CanvasObject) { inCard = inCard || o == errLabel })
		}
	}
	if !inCard {
		t.Error("the sign-in error is not in the sign-in card")
	}
}

// strengthArea is the passphrase meter's rectangle in the window.
func strengthArea(t *testing.T, w fyne.Window) image.Rectangle {
	t.Helper()
	var meter fyne.CanvasObject
	hint := ""
	for _, o := range visible(w) {
		if l, ok := o.(*widget.Label); ok && strings.HasPrefix(l.Text, strings.SplitN(tr("fr", "firstrun.strength"), "\u00a0", 2)[0]) {
			hint = l.Text
		}
	}
	_ = hint
	// The meter is the object just above the hint in the page's box.
	for _, o := range visible(w) {
		box, ok := o.(*fyne.Container)
		if !ok {
			continue
		}
		for i, child := range box.Objects {
			if l, ok := child.(*widget.Label); ok && strings.HasPrefix(l.Text, strings.SplitN(tr("fr", "firstrun.strength"), "\u00a0", 2)[0]) && i > 0 {
				meter = box.Objects[i-1]
			}
		}
	}
	if meter == nil {
		t.Fatal("no strength meter")
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(meter)
	size := meter.Size()
	return image.Rect(int(pos.X), int(pos.Y), int(pos.X+size.Width), int(pos.Y+size.Height))
}

// backgroundShare is the share of background pixels along the middle
// line of what is drawn in r (widened by a few pixels: the capture and
// the layout may differ by the window's padding): an outline leaves it
// empty, a bar or a track fills it.
func backgroundShare(w fyne.Window, r image.Rectangle) float64 {
	img := w.Canvas().Capture()
	bg := fyne.CurrentApp().Settings().Theme().Color(theme.ColorNameBackground, fyne.CurrentApp().Settings().ThemeVariant())
	br, bgg, bb, _ := bg.RGBA()
	isBg := func(x, y int) bool {
		cr, cg, cb, _ := img.At(x, y).RGBA()
		return near(cr, br) && near(cg, bgg) && near(cb, bb)
	}
	first, last := -1, -1
	for y := r.Min.Y; y < r.Max.Y+4; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !isBg(x, y) {
				if first < 0 {
					first = y
				}
				last = y
				break
			}
		}
	}
	if first < 0 || r.Dx() == 0 {
		return 1
	}
	y, same := (first+last)/2, 0
	for x := r.Min.X; x < r.Max.X; x++ {
		if isBg(x, y) {
			same++
		}
	}
	return float64(same) / float64(r.Dx())
}

func near(a, b uint32) bool { return max(a, b)-min(a, b) < 0x0800 }

// Item 14: no « Failed to focus object » in the log through the wizard,
// the unlock screen and a start on a saved visit draft.
func TestNoFocusErrorsInLog(t *testing.T) {
	var buf bytes.Buffer
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetOutput(io.Discard) })
	_, w := firstRunUI(t, "fr")
	test.Tap(button(t, w, tr("fr", "firstrun.next")))
	pass := passwordEntries(w)
	test.Type(pass[0], "cinq mots faciles à retenir")
	test.Type(pass[1], "cinq mots faciles à retenir")
	test.Tap(button(t, w, tr("fr", "firstrun.next")))
	test.Tap(button(t, w, tr("fr", "firstrun.back")))

	u2, _ := startUI(t, "fr")
	openMember(t, u2)
	u2.main.openVisitForm(u2.main.detail.id, nil)
	u2.main.form.notes.SetText("brouillon")
	u2.drafts.flush()
	profile := u2.cfg.Profile
	u2.Close()
	u3, w3 := runUI(t, Config{Profile: profile, Lang: "fr", Passphrase: testPassphrase, Now: fixedNow})
	if u3.main.form == nil || w3.Canvas().Focused() != fyne.Focusable(u3.main.form.date.entry) {
		t.Error("the restored draft's form does not have the keyboard")
	}
	if strings.Contains(buf.String(), "Failed to focus") {
		t.Errorf("log:\n%s", buf.String())
	}
}

// Item 11: a change of language keeps the search and the filters; the
// region filter lists the coordinator's regions first.
func TestLanguageSwitchKeepsSearchAndRegionsFirst(t *testing.T) {
	u, w := startUI(t, "fr")
	me, err := u.st.Me()
	if err != nil || len(me.Regions) == 0 {
		t.Fatalf("demo coordinator: %v %v", me, err)
	}
	// Their regions come first, right after « all ».
	for i, code := range me.Regions {
		if got := u.members.region.Options[i+1]; !strings.HasPrefix(got, code+" ") {
			t.Errorf("region option %d is %q, want the coordinator's %s", i+1, got, code)
		}
	}
	if n := len(u.members.region.Options); n >= 1+len(domain.Regions()) {
		t.Errorf("the region filter lists %d options for a coordinator of %d regions", n, len(me.Regions))
	}
	// « Autres régions… » is not a filter: it brings the other regions.
	u.members.region.SetSelectedIndex(len(u.members.region.Options) - 1)
	if n := len(u.members.region.Options); n != 1+len(domain.Regions()) || u.members.region.SelectedIndex() != 0 {
		t.Errorf("after « Autres régions… »: %d options, selected %q", n, u.members.region.Selected)
	}
	u.members.region.SetSelectedIndex(1)
	u.members.legalForm.SetSelectedIndex(1)
	test.Type(u.members.search, "co")
	want := slices.Clone(u.members.rows)
	text := u.members.search.Text
	region, form := u.members.region.Selected, u.members.legalForm.SelectedIndex()
	u.main.tabs.SelectIndex(tabSettings)
	radioWith(t, w, "English").SetSelected("English")
	u.main.tabs.SelectIndex(tabMembers)
	if u.members.search.Text != text || !strings.HasPrefix(u.members.region.Selected, strings.SplitN(region, " ", 2)[0]+" ") ||
		u.members.legalForm.SelectedIndex() != form {
		t.Errorf("after the switch: search %q, region %q, form %d; want %q, %q, %d",
			u.members.search.Text, u.members.region.Selected, u.members.legalForm.SelectedIndex(), text, region, form)
	}
	if len(u.members.rows) != len(want) {
		t.Errorf("after the switch %d members listed, want %d", len(u.members.rows), len(want))
	}

	// Nothing found: the message says that only their regions are here.
	u.members.region.SetSelectedIndex(0)
	test.Type(u.members.search, "zzzz")
	if !strings.Contains(u.members.count.Text, u.loc.Region(me.Regions[0])) {
		t.Errorf("no-match message %q does not say the search covers %s", u.members.count.Text, u.loc.Region(me.Regions[0]))
	}
}

// Item 11: the dashboard shows the coordinator's regions, not 13 at zero.
func TestDashboardShowsTheirRegions(t *testing.T) {
	u, w := startUI(t, "fr")
	me, _ := u.st.Me()
	u.main.tabs.SelectIndex(tabDashboard)
	waitFor(t, func() bool { return hasText(w, tr("fr", "dashboard.per_month")) })
	shown := 0
	for _, r := range domain.Regions() {
		if hasText(w, u.loc.Region(r.Code)) {
			shown++
		}
	}
	if shown == len(domain.Regions()) && len(me.Regions) < shown {
		t.Errorf("the dashboard lists all %d regions for a coordinator of %d", shown, len(me.Regions))
	}
	for _, code := range me.Regions {
		if !hasText(w, u.loc.Region(code)) {
			t.Errorf("the dashboard lacks the coordinator's region %s", code)
		}
	}
}

// Item 12: offline is said calmly; a real failure stays red.
func TestOfflineIsNotAFailure(t *testing.T) {
	p := newPublisher()
	u, _ := startUI(t, "fr", withPublisher(p))
	s := u.main.status
	p.publish(engine.State{SignedIn: true, Online: false, LastError: fmt.Errorf("sync: %w", client.ErrOffline)})
	if !s.errText.Visible() || s.errText.Importance == widget.DangerImportance ||
		strings.HasPrefix(s.errText.Text, strings.SplitN(tr("fr", "status.failed"), "\u00a0", 2)[0]) {
		t.Errorf("offline shown as %q (importance %d), want a calm line", s.errText.Text, s.errText.Importance)
	}
	p.publish(engine.State{SignedIn: true, Online: true, LastError: fmt.Errorf("sync: %w", client.ErrServer)})
	if s.errText.Importance != widget.DangerImportance {
		t.Errorf("a server failure shown as %q (importance %d), want red", s.errText.Text, s.errText.Importance)
	}
}

// Item 13: the merge of a phone number starts valid; dates say the time.
func TestConflictMergeOfPhoneAndTimes(t *testing.T) {
	u, w := startUI(t, "fr")
	id := u.members.rows[0].ID
	m, _ := u.st.Member(id)
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	at := time.Date(2026, 3, 12, 14, 5, 0, 0, time.Local)
	stamp := hlc.New(at.UnixMilli(), 0)
	phone := store.Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: id, MemberID: id, Field: "phone",
		Winner: store.ConflictSide{Value: str("418 555-0100"), HLC: stamp, Device: "central"},
		Loser:  store.ConflictSide{Value: str("418 555-0177"), HLC: stamp, Device: "other-device"}}
	if _, err := u.st.ApplyPull(store.Page{Cursor: 1, Changes: []store.Change{
		pulled(t, store.KindConflict, phone.ID, phone, 1)}}, nil); err != nil {
		t.Fatal(err)
	}
	u.main.tabs.SelectIndex(tabConflicts)
	var merged *entry
	for _, o := range visible(w) {
		if e, ok := o.(*entry); ok {
			merged = e
		}
	}
	if merged == nil {
		t.Fatal("no merge editor")
	}
	m.Phone = merged.Text
	if err := m.Validate(u.today()); err != nil || merged.MultiLine {
		t.Errorf("the phone's merge starts as %q (multi-line %v): %v", merged.Text, merged.MultiLine, err)
	}
	clock := "14 h 05"
	found := false
	for _, s := range texts(w) {
		if strings.Contains(s, clock) {
			found = true
		}
	}
	if !found {
		t.Errorf("no time of day (%s) on the conflicts screen: %q", clock, texts(w))
	}
}

var _ = color.Black
