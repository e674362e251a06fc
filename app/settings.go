package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

// serverPreference remembers the central service's address; it is not a
// secret (the device token is, and the engine keeps it in the store).
const serverPreference = "server"

// settingsScreen: language, theme, sync, exports, backup, passphrase and
// what this installation is.
type settingsScreen struct {
	u      *UI
	box    *fyne.Container
	msg    *message
	scroll *container.Scroll
}

func (u *UI) newSettingsScreen() *settingsScreen {
	s := &settingsScreen{u: u, box: container.NewStack(), msg: newMessage()}
	s.refresh()
	s.scroll.Offset = u.nav.settingsOffset
	return s
}

// offset is how far the page is scrolled.
func (s *settingsScreen) offset() fyne.Position { return s.scroll.Offset }

func (s *settingsScreen) content() fyne.CanvasObject { return s.box }

// refresh redraws the settings, where the coordinator had scrolled them:
// the sign-in part depends on the engine.
func (s *settingsScreen) refresh() {
	loc := s.u.loc
	body := container.NewVBox(
		section(loc.T("settings.language"), "", s.languageChoice()),
		section(loc.T("settings.theme"), "", s.themeChoice()),
		section(loc.T("settings.sync"), "", s.syncPart()),
		section(loc.T("settings.reminders_title"), "", s.u.remindersChoice()),
		section(loc.T("settings.data"), "", s.dataPart()),
		section(loc.T("settings.security"), "", container.NewHBox(
			widget.NewButton(loc.T("settings.change_passphrase"), s.changePassphrase))),
		section(loc.T("settings.keyboard"), "", container.NewHBox(
			widget.NewButtonWithIcon(loc.T("shortcuts.title"), theme.Icon(theme.IconNameHelp), s.u.showShortcuts))),
		section(loc.T("settings.about"), "", s.aboutPart()),
	)
	var offset fyne.Position
	if s.scroll != nil {
		offset = s.scroll.Offset
	}
	s.scroll = container.NewVScroll(container.NewPadded(body))
	s.scroll.Offset = offset
	s.box.Objects = []fyne.CanvasObject{s.scroll}
	s.box.Refresh()
}

func (s *settingsScreen) languageChoice() fyne.CanvasObject {
	u := s.u
	names := []string{u.loc.T("language.fr"), u.loc.T("language.en")}
	codes := locales.Supported()
	r := widget.NewRadioGroup(names, nil)
	r.Horizontal = true
	r.Required = true
	r.SetSelected(names[slices.Index(codes, u.loc.Lang())])
	r.OnChanged = func(sel string) {
		if i := slices.Index(names, sel); i >= 0 {
			u.setLanguage(codes[i], u.main.rebuild)
		}
	}
	return r
}

func (s *settingsScreen) themeChoice() fyne.CanvasObject {
	u := s.u
	names := []string{u.loc.T("settings.theme.system"), u.loc.T("settings.theme.light"), u.loc.T("settings.theme.dark")}
	r := widget.NewRadioGroup(names, nil)
	r.Horizontal = true
	r.Required = true
	current := slices.Index(themeChoices, u.app.Preferences().String(themePreference))
	r.SetSelected(names[max(current, 0)])
	r.OnChanged = func(sel string) {
		if i := slices.Index(names, sel); i >= 0 {
			u.setTheme(themeChoices[i])
			// Fyne repaints the screens on view, but what another tab
			// holds keeps the old colours in the OpenGL caches (white
			// text on white in the members list): draw the window anew,
			// as a change of language does.
			u.main.rebuild()
		}
	}
	return r
}

// syncPart signs in or out, and turns automatic sync on or off.
func (s *settingsScreen) syncPart() fyne.CanvasObject {
	u, loc := s.u, s.u.loc
	if u.syncer == nil {
		return wrapped(loc.T("status.no_server"))
	}
	server := u.newEntry()
	server.SetPlaceHolder(loc.T("settings.server_placeholder"))
	address := u.app.Preferences().String(serverPreference)
	if sess, err := u.st.Session(); err == nil && sess.Server != "" {
		address = sess.Server
	}
	server.SetText(address)
	// Checked before the callback is set: a redraw of the page must not
	// tell the engine anything (SetAutoSync wakes it up for a sync).
	auto := widget.NewCheck(loc.T("settings.auto_sync"), nil)
	auto.SetChecked(u.app.Preferences().BoolWithFallback(autoSyncPreference, true))
	auto.OnChanged = func(on bool) {
		if on == u.app.Preferences().BoolWithFallback(autoSyncPreference, true) {
			return
		}
		u.app.Preferences().SetBool(autoSyncPreference, on)
		u.syncer.SetAutoSync(on)
	}
	msg := newMessage()
	busy := widget.NewProgressBarInfinite()
	busy.Stop()
	busy.Hide()

	if u.syncState.SignedIn {
		who := loc.T("settings.signed_in")
		if me, err := u.st.Me(); err == nil {
			who = loc.T("settings.signed_in_as", map[string]any{"Name": me.Name, "Login": me.Email})
		}
		server.Disable()
		signOut := widget.NewButton(loc.T("settings.sign_out"), func() {
			u.confirm(loc.T("settings.sign_out"), loc.T("settings.sign_out_message"),
				loc.T("settings.sign_out"), loc.T("dialog.cancel"), func() {
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						defer cancel()
						err := u.syncer.SignOut(ctx)
						u.do(func() {
							if err != nil {
								u.showError(err)
							}
							s.refresh()
						})
					}()
				})
		})
		return container.NewVBox(
			widget.NewForm(widget.NewFormItem(loc.T("settings.server"), server)),
			wrapped(who), container.NewHBox(signOut), auto)
	}

	email, password := u.newEntry(), u.newPasswordEntry()
	var signIn *widget.Button
	signIn = widget.NewButton(loc.T("settings.sign_in"), func() {
		if server.Text == "" || email.Text == "" || password.Text == "" {
			msg.SetText(loc.T("settings.sign_in_incomplete"))
			return
		}
		u.app.Preferences().SetString(serverPreference, server.Text)
		msg.SetText("")
		signIn.Disable()
		busy.Show()
		busy.Start()
		addr, mail, pass := server.Text, email.Text, password.Text
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := u.syncer.SignIn(ctx, addr, mail, pass)
			u.do(func() {
				busy.Stop()
				busy.Hide()
				signIn.Enable()
				if err != nil {
					msg.SetText(u.syncErrorText(err))
					return
				}
				u.syncer.SyncNow()
				s.refresh()
			})
		}()
	})
	signIn.Importance = widget.HighImportance
	password.OnSubmitted = func(string) { signIn.OnTapped() }
	return container.NewVBox(
		widget.NewForm(
			widget.NewFormItem(loc.T("settings.server"), server),
			widget.NewFormItem(loc.T("settings.email"), email),
			widget.NewFormItem(loc.T("settings.password"), password),
		),
		container.NewHBox(layout.NewSpacer(), signIn), busy, msg, auto)
}

// dataPart exports to CSV and makes or restores a backup.
func (s *settingsScreen) dataPart() fyne.CanvasObject {
	loc := s.u.loc
	today := s.u.today().String()
	visits := widget.NewButton(loc.T("settings.export_visits"), func() {
		s.export(loc.T("settings.export_visits_file", map[string]any{"Date": today}), exportVisits)
	})
	followUps := widget.NewButton(loc.T("settings.export_followups"), func() {
		s.export(loc.T("settings.export_followups_file", map[string]any{"Date": today}), exportFollowUps)
	})
	backup := widget.NewButton(loc.T("settings.backup"), s.backup)
	restore := widget.NewButton(loc.T("settings.restore"), s.restore)
	return container.NewVBox(
		container.NewGridWithColumns(2, visits, followUps),
		wrapped(loc.T("settings.export_hint")),
		container.NewGridWithColumns(2, backup, restore),
		s.msg,
	)
}

// saveDialog is UI.saveFile, shared with the member screen's PDF.
func (s *settingsScreen) saveDialog(name string, write func(fyne.URIWriteCloser)) {
	s.u.saveFile(name, write)
}

func (s *settingsScreen) export(name string, write func(io.Writer, *store.Store, *locales.Localizer) (int, error)) {
	u := s.u
	s.saveDialog(name, func(w fyne.URIWriteCloser) {
		st, loc := u.st, u.loc
		n := 0 // written by the goroutine, read after it in done
		u.writeChosen(w, func(w io.Writer) (err error) {
			n, err = write(w, st, loc)
			return err
		}, loc.T("settings.export_done_title"), func(path string) string {
			return loc.N("settings.export_done", n, map[string]any{"Path": path})
		})
	})
}

func (s *settingsScreen) backup() {
	u := s.u
	name := u.loc.T("settings.backup_file", map[string]any{"Date": u.today().String()})
	s.saveDialog(name, func(w fyne.URIWriteCloser) {
		st, loc := u.st, u.loc
		u.writeChosen(w, st.Backup, loc.T("settings.backup_done_title"), func(path string) string {
			return loc.T("settings.backup_done", map[string]any{"Path": path})
		})
	})
}

// restore replaces the profile by a backup. The backup is first restored
// beside the profile, which checks its passphrase and integrity; only then
// does it take the profile's place, the old one being kept aside.
func (s *settingsScreen) restore() {
	u := s.u
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		if r != nil {
			s.askRestore(r)
		}
	}, u.win)
	d.SetTitleText(u.loc.T("settings.restore"))
	d.SetConfirmText(u.loc.T("settings.restore_open"))
	d.SetDismissText(u.loc.T("dialog.cancel"))
	u.showDialog(d, nil)
	d.Resize(u.win.Canvas().Size().SubtractWidthHeight(40, 40))
}

func (s *settingsScreen) askRestore(r fyne.URIReadCloser) {
	u, loc := s.u, s.u.loc
	pass := u.newPasswordEntry()
	msg := newMessage()
	busy := widget.NewProgressBarInfinite()
	busy.Stop()
	busy.Hide()
	content := sized(container.NewVBox(
		wrapped(loc.T("settings.restore_warning", map[string]any{"File": r.URI().Name()})),
		widget.NewForm(widget.NewFormItem(loc.T("settings.restore_passphrase"), pass)),
		busy, msg), 480)
	running := false
	var dlg dialog.Dialog
	act := func(dialog.Dialog) {
		if running {
			return
		}
		running = true
		busy.Show()
		busy.Start()
		phrase := []byte(pass.Text)
		failed := func(err error) {
			busy.Stop()
			busy.Hide()
			running = false
			msg.SetText(u.errorText(err))
		}
		go func() {
			staged, err := u.stageRestore(r, phrase)
			u.do(func() {
				if err != nil {
					failed(err)
					return
				}
				// The running profile is about to move: stop using it.
				u.stopProfile()
				go func() {
					st, err := u.swapInRestore(staged, phrase)
					u.do(func() {
						if err != nil {
							// The old profile is back in place (or the
							// error says where it is): show it again.
							dlg.Hide()
							u.showFatal(err)
							return
						}
						dlg.Hide()
						u.nav = navState{tab: tabSettings}
						u.opened(st)
						u.showInfo(loc.T("settings.restore_done_title"), loc.T("settings.restore_done"))
					})
				}()
			})
		}()
	}
	dlg = newFormDialog(u, loc.T("settings.restore"), loc.T("settings.restore_confirm"), content, act)
	u.showDialog(dlg, func() { act(dlg) }, func() { r.Close() })
	u.win.Canvas().Focus(pass)
}

// stageRestore restores a backup beside the profile, off the Fyne
// goroutine: this checks the passphrase and the backup's integrity while
// the profile stays in use. It returns the staged directory.
func (u *UI) stageRestore(r io.Reader, pass []byte) (string, error) {
	staged := filepath.Clean(u.cfg.Profile) + ".restore-" + u.cfg.Now().Format("20060102-150405")
	st, err := store.Restore(r, staged, pass, store.Options{Now: u.cfg.Now, Logger: u.log})
	if err != nil {
		os.RemoveAll(staged)
		return "", err
	}
	if err := st.Close(); err != nil {
		os.RemoveAll(staged)
		return "", err
	}
	return staged, nil
}

// swapInRestore puts a staged restore in the profile's place, keeping the
// old profile aside under a dated name, and opens it. The profile must be
// closed (stopProfile). It runs off the Fyne goroutine.
func (u *UI) swapInRestore(staged string, pass []byte) (*store.Store, error) {
	dir := filepath.Clean(u.cfg.Profile)
	old := dir + ".before-restore-" + u.cfg.Now().Format("20060102-150405")
	if err := os.Rename(dir, old); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(staged, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return nil, fmt.Errorf("restore: %w (the former profile is in %s)", err, old)
		}
		return nil, fmt.Errorf("restore: %w", err)
	}
	return store.Open(dir, pass, store.Options{Now: u.cfg.Now, Logger: u.log})
}

// stopProfile stops sync and closes the store, leaving the window up.
func (u *UI) stopProfile() {
	if u.unsub != nil {
		u.unsub()
		u.unsub = nil
	}
	if u.syncer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := u.syncer.Stop(ctx); err != nil {
			u.log.Warn("stop sync", "err", err)
		}
		cancel()
		u.syncer = nil
	}
	if u.drafts != nil {
		u.drafts.flush()
	}
	if u.ticker != nil {
		u.ticker.Stop()
	}
	if u.st != nil {
		if err := u.st.Close(); err != nil {
			u.log.Warn("close store", "err", err)
		}
		u.st = nil
	}
}

func (s *settingsScreen) changePassphrase() {
	u, loc := s.u, s.u.loc
	old, next, again := u.newPasswordEntry(), u.newPasswordEntry(), u.newPasswordEntry()
	hint := widget.NewLabel("")
	hint.Wrapping = fyne.TextWrapWord
	next.OnChanged = func(p string) {
		level := passphraseStrength(p)
		hint.SetText(loc.T("firstrun.strength", map[string]any{"Level": loc.T(strengthIDs[level]), "Min": MinPassphrase}))
		hint.Importance = strengthImportance[level]
		hint.Refresh()
	}
	msg := newMessage()
	busy := widget.NewProgressBarInfinite()
	busy.Stop()
	busy.Hide()
	content := sized(container.NewVBox(widget.NewForm(
		widget.NewFormItem(loc.T("settings.current_passphrase"), old),
		widget.NewFormItem(loc.T("settings.new_passphrase"), next),
		widget.NewFormItem(loc.T("unlock.passphrase_confirm"), again),
	), hint, busy, msg), 480)
	running := false
	var dlg dialog.Dialog
	act := func(dialog.Dialog) {
		switch {
		case running:
			return
		case utf8.RuneCountInString(next.Text) < MinPassphrase:
			msg.SetText(loc.T("unlock.passphrase_too_short", map[string]any{"Min": MinPassphrase}))
			return
		case next.Text != again.Text:
			msg.SetText(loc.T("unlock.passphrases_differ"))
			return
		}
		running = true
		msg.SetText("")
		busy.Show()
		busy.Start()
		st, o, n := u.st, []byte(old.Text), []byte(next.Text)
		go func() {
			err := st.ChangePassphrase(o, n)
			u.do(func() {
				running = false
				busy.Stop()
				busy.Hide()
				if err != nil {
					msg.SetText(u.errorText(err))
					return
				}
				dlg.Hide()
				u.showInfo(loc.T("settings.change_passphrase"), loc.T("settings.passphrase_changed"))
			})
		}()
	}
	dlg = newFormDialog(u, loc.T("settings.change_passphrase"), loc.T("settings.change"), content, act)
	u.showDialog(dlg, func() { act(dlg) })
	u.win.Canvas().Focus(old)
}

func (s *settingsScreen) aboutPart() fyne.CanvasObject {
	u, loc := s.u, s.u.loc
	version := u.cfg.Version
	if version == "" {
		version = u.app.Metadata().Version
	}
	device := ""
	if u.st != nil {
		device = u.st.DeviceID()
	}
	return widget.NewForm(
		widget.NewFormItem(loc.T("settings.version"), selectable(version)),
		widget.NewFormItem(loc.T("settings.data_dir"), selectable(u.cfg.Profile)),
		widget.NewFormItem(loc.T("settings.log_file"), selectable(u.cfg.LogFile)),
		widget.NewFormItem(loc.T("settings.device"), selectable(device)),
	)
}
