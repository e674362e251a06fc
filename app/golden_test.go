package app

import (
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"

	"leconsortium.coop/terrain/locales"
)

// The markup goldens of the main screens, in both languages, at the
// smaller window size, under testdata/<lang>/. A change of layout or text
// shows as a diff; a failing run writes the new markup under
// testdata/failed/, to be reviewed and copied over the golden.

func TestGoldenMainScreens(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			u, w := startUI(t, lang)
			golden := func(name string) {
				t.Helper()
				uiq.drain()
				test.AssertRendersToMarkup(t, filepath.Join(lang, name+".xml"), w.Canvas())
			}
			golden("members")

			id := openMember(t, u)
			golden("member")

			u.main.openVisitForm(id, nil)
			u.fillInvalidVisit(id)
			golden("visit-error")

			// Leave the form without saving; the next screens start clean.
			u.drafts.discard()
			u.main.showList()

			u.main.tabs.SelectIndex(tabFollowUps)
			waitFor(t, func() bool { return len(u.main.followUps.rows) > 0 })
			golden("followups")

			u.main.tabs.SelectIndex(tabDashboard)
			waitFor(t, func() bool { return hasText(w, tr(lang, "dashboard.per_month")) })
			golden("dashboard")

			u.main.tabs.SelectIndex(tabConflicts)
			golden("conflicts")
		})
	}
}

func TestGoldenFirstRunAndUnlock(t *testing.T) {
	for _, lang := range locales.Supported() {
		t.Run(lang, func(t *testing.T) {
			a := test.NewTempApp(t)
			w := a.NewWindow("")
			w.Resize(testSize)
			dir := filepath.Join(t.TempDir(), "profile")
			u := New(a, w, Config{Profile: dir, Lang: lang, Now: fixedNow})
			u.post = uiq.post
			t.Cleanup(func() { u.Close() })
			u.Start()
			test.AssertRendersToMarkup(t, filepath.Join(lang, "firstrun-language.xml"), w.Canvas())
			test.Tap(button(t, w, tr(lang, "firstrun.next")))
			test.AssertRendersToMarkup(t, filepath.Join(lang, "firstrun-passphrase.xml"), w.Canvas())

			// A profile exists: the next start unlocks it.
			u2, _ := startUI(t, lang)
			profile := u2.cfg.Profile
			u2.Close()
			a3 := test.NewTempApp(t)
			w3 := a3.NewWindow("")
			w3.Resize(testSize)
			u3 := New(a3, w3, Config{Profile: profile, Lang: lang, Now: fixedNow})
			u3.post = uiq.post
			t.Cleanup(func() { u3.Close() })
			u3.Start()
			test.AssertRendersToMarkup(t, filepath.Join(lang, "unlock.xml"), w3.Canvas())
		})
	}
}
