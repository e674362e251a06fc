package app

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// unlockForm is the screen of every run but the first.
type unlockForm struct {
	passphrase *entry
	submit     *widget.Button
	message    *message
	busy       *widget.ProgressBarInfinite
}

func (u *UI) showUnlock() {
	f := &unlockForm{
		passphrase: u.newPasswordEntry(),
		message:    newMessage(),
		busy:       widget.NewProgressBarInfinite(),
	}
	f.busy.Hide()
	f.busy.Stop()
	f.submit = widget.NewButton(u.loc.T("unlock.unlock"), func() { u.submitUnlock(f) })
	f.submit.Importance = widget.HighImportance
	f.passphrase.OnSubmitted = func(string) { u.submitUnlock(f) }

	form := widget.NewForm(widget.NewFormItem(u.loc.T("unlock.passphrase"), f.passphrase))
	box := container.NewVBox(
		heading(u.loc.T("unlock.title")),
		form,
		container.NewHBox(layout.NewSpacer(), f.submit),
		f.busy,
		f.message,
		widget.NewSeparator(),
		u.languageChoice(func() { u.showUnlock() }),
	)
	u.win.SetContent(centered(box, 480))
	u.win.Canvas().Focus(f.passphrase)
}

// languageChoice is the Français / English switch shown before unlocking;
// rebuild redraws the screen in the new language.
func (u *UI) languageChoice(rebuild func()) fyne.CanvasObject {
	names := []string{u.loc.T("language.fr"), u.loc.T("language.en")}
	codes := locales.Supported()
	r := widget.NewRadioGroup(names, nil)
	r.Horizontal = true
	r.Required = true
	for i, c := range codes {
		if c == u.loc.Lang() {
			r.SetSelected(names[i])
		}
	}
	r.OnChanged = func(s string) {
		for i, n := range names {
			if n == s {
				u.setLanguage(codes[i], rebuild)
			}
		}
	}
	return container.NewHBox(widget.NewLabel(u.loc.T("language.label")), r)
}

func (u *UI) submitUnlock(f *unlockForm) {
	pass := f.passphrase.Text
	if pass == "" {
		f.message.SetText(u.loc.T("unlock.passphrase_empty"))
		return
	}
	f.message.SetText("")
	f.submit.Disable()
	f.busy.Show()
	f.busy.Start()
	u.unlock([]byte(pass), false, func(err error) {
		f.busy.Stop()
		f.busy.Hide()
		f.submit.Enable()
		f.message.SetText(u.errorText(err))
		f.passphrase.SetText("")
		u.win.Canvas().Focus(f.passphrase)
	})
}

// unlock opens or creates the store off the UI goroutine (the key
// derivation takes a noticeable fraction of a second by design), then shows
// the main screen. failed runs on the UI goroutine when it did not work;
// with no failed callback the error replaces the window's content.
func (u *UI) unlock(pass []byte, creating bool, failed func(error)) {
	go func() {
		st, err := u.openStore(pass, creating)
		u.do(func() {
			if err != nil {
				u.log.Warn("unlock failed", "err", err)
				if failed != nil {
					failed(err)
					return
				}
				u.showFatal(err)
				return
			}
			u.opened(st)
		})
	}()
}

// showFatal replaces the window's content with an explanation.
func (u *UI) showFatal(err error) {
	msg := widget.NewLabel(u.errorText(err))
	msg.Wrapping = fyne.TextWrapWord
	u.win.SetContent(container.NewPadded(msg))
}

func (u *UI) openStore(pass []byte, creating bool) (*store.Store, error) {
	opt := store.Options{Now: u.cfg.Now, Logger: u.log}
	if !creating {
		return store.Open(u.cfg.Profile, pass, opt)
	}
	st, err := store.Create(u.cfg.Profile, pass, opt)
	if err != nil {
		return nil, err
	}
	if u.cfg.Demo {
		if err := seedDemo(st, domain.DateOf(u.cfg.Now())); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// opened takes over a freshly opened store: sync starts, the saved draft
// comes back, and the main screen shows.
func (u *UI) opened(st *store.Store) {
	u.st = st
	u.drafts = newDraftSaver(st, u.log)
	if u.syncer == nil {
		u.startSync()
	}
	u.ticker = time.NewTicker(30 * time.Second)
	go u.tick(u.ticker.C)
	u.restoreNav()
	u.showMain()
	u.refreshReminders()
	u.ready.Store(true)
	if !u.cfg.Started.IsZero() {
		u.log.Info("main window ready", "members", st.CountMembers(),
			"since_start", time.Since(u.cfg.Started).Round(time.Millisecond))
	}
}

// startSync makes and starts the engine, if this build has one, and
// bridges its events to the widgets through fyne.Do.
func (u *UI) startSync() {
	if u.cfg.NewSyncer == nil || u.st == nil {
		return
	}
	s, err := u.cfg.NewSyncer(u.st)
	if err != nil {
		u.log.Error("start sync", "err", err)
		return
	}
	u.syncer = s
	u.syncState = s.State()
	u.unsub = s.Subscribe(func(state engine.State) {
		u.do(func() { u.syncChanged(state) })
	})
	s.SetAutoSync(u.app.Preferences().BoolWithFallback(autoSyncPreference, true))
	s.Start()
}

// syncChanged runs on the Fyne goroutine with the engine's latest state.
func (u *UI) syncChanged(state engine.State) {
	if u.main != nil && u.main.status.scripted {
		return // the screenshot's fixed state stays on screen
	}
	wasSyncing, wasSignedIn := u.syncState.Syncing, u.syncState.SignedIn
	u.syncState = state
	if u.main == nil {
		return
	}
	u.main.status.update()
	if wasSignedIn != state.SignedIn && u.main.tabs.SelectedIndex() == tabSettings {
		u.main.settings.refresh() // sign-in form or account
	}
	if wasSyncing && !state.Syncing {
		// Pulled changes may touch any screen: redraw the data.
		u.main.dataChanged()
	}
}

// tick keeps "5 minutes ago" true while nothing else changes.
func (u *UI) tick(c <-chan time.Time) {
	for {
		select {
		case <-u.stopped:
			return
		case <-c:
			u.do(func() {
				if u.main != nil {
					u.main.status.update()
				}
				u.dailyCheck()
			})
		}
	}
}

// createAndSignIn creates the profile (unless an earlier attempt did) and
// signs in to the central service. failed runs on the UI goroutine when it
// did not work; the profile then stays open for another try.
func (u *UI) createAndSignIn(pass []byte, server, email, password string, failed func(error)) {
	st := u.st
	go func() {
		var err error
		if st == nil {
			st, err = store.Create(u.cfg.Profile, pass, store.Options{Now: u.cfg.Now, Logger: u.log})
		}
		u.do(func() {
			if err != nil {
				u.signInFailed(err, failed)
				return
			}
			u.st = st
			if u.syncer == nil {
				u.startSync()
			}
			if u.syncer == nil {
				u.signInFailed(errNoSync, failed)
				return
			}
			s := u.syncer
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				err := s.SignIn(ctx, server, email, password)
				u.do(func() {
					if err != nil {
						u.signInFailed(err, failed)
						return
					}
					u.opened(st)
					s.SyncNow()
				})
			}()
		})
	}()
}

func (u *UI) signInFailed(err error, failed func(error)) {
	u.log.Warn("sign in failed", "err", err)
	if failed != nil {
		failed(err)
		return
	}
	u.showFatal(err)
}

// createDemo creates the profile and fills it with the demo data, for a
// coordinator who wants to look around offline.
func (u *UI) createDemo(pass []byte, failed func(error)) {
	st := u.st
	go func() {
		var err error
		if st == nil {
			st, err = store.Create(u.cfg.Profile, pass, store.Options{Now: u.cfg.Now, Logger: u.log})
		}
		if err == nil {
			err = seedDemo(st, domain.DateOf(u.cfg.Now()))
		}
		u.do(func() {
			if err != nil {
				if st != nil {
					u.st = st
				}
				failed(err)
				return
			}
			u.opened(st)
		})
	}()
}

// demoSeed fixes the demo data set: every demo profile shows the same
// members, which keeps screenshots and support calls comparable.
const demoSeed = 2026

// seedDemo imports the demo members, visits and follow-ups, and signs the
// demo coordinator in locally so that visits can be recorded offline.
func seedDemo(st *store.Store, today domain.Date) error {
	g := demo.New(demoSeed, demo.Small(), today)
	var visits []domain.Visit
	if err := g.EachVisit(func(v domain.Visit) error { visits = append(visits, v); return nil }); err != nil {
		return fmt.Errorf("demo visits: %w", err)
	}
	var fus []domain.FollowUp
	if err := g.EachFollowUp(func(f domain.FollowUp) error { fus = append(fus, f); return nil }); err != nil {
		return fmt.Errorf("demo follow-ups: %w", err)
	}
	if err := st.Import(g.Members(), visits, fus); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	for _, k := range g.Coordinators() {
		if err := st.PutCoordinator(k); err != nil {
			return fmt.Errorf("seed demo coordinators: %w", err)
		}
	}
	if err := st.SetMe(g.Coordinators()[0].ID); err != nil {
		return fmt.Errorf("seed demo coordinator: %w", err)
	}
	return nil
}
