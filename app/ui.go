// Package app is Terrain's Fyne user interface. It is built from a fyne.App
// and a fyne.Window handed over by main, so the same code runs under
// fyne.io/fyne/v2/test in the tests.
//
// Every widget is touched on the Fyne goroutine: work that may block (the
// key derivation, sync, exports) runs in goroutines that come back through
// fyne.Do.
package app

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// Syncer is what the interface needs from the sync engine. It is declared
// here, where it is consumed; *engine.Engine satisfies it.
type Syncer interface {
	// Subscribe calls fn with every new state, from the engine's
	// goroutine, until unsubscribe is called.
	Subscribe(fn func(engine.State)) (unsubscribe func())
	State() engine.State
	Start()
	SyncNow()
	// Refresh tells the engine that the coordinator saved something, so
	// that it counts and pushes it soon.
	Refresh()
	SetAutoSync(on bool)
	SignIn(ctx context.Context, server, email, password string) error
	SignOut(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Config is what main learns from the command line and the environment.
type Config struct {
	// Profile is the directory of the coordinator's encrypted store.
	Profile string
	// Lang forces the language ("fr" or "en"); empty means the saved
	// choice, then the system locale.
	Lang string
	// Passphrase, when set, unlocks (or creates) the profile without
	// asking: for scripts and screenshots, never for daily use.
	Passphrase string
	// Demo seeds the demo members into a new profile.
	Demo bool
	// Server, Email and Password, when all set, sign a new profile in at
	// first run without asking (make run against a local central service).
	Server, Email, Password string
	// NewSyncer makes the sync engine of an open store, not yet started.
	// Nil means this build syncs with nothing: the status bar says so.
	NewSyncer func(st *store.Store) (Syncer, error)
	// SyncMessageID names the locales message explaining a sync error
	// (engine.MessageID); nil explains every error as unexpected.
	SyncMessageID func(error) string
	// Screen opens one screen after unlocking (the screenshot script):
	// members, member, visit-error, dashboard, syncing, today,
	// settings-bottom, members-light or shortcuts (and followups, conflicts,
	// settings); visit-pdf and member-pdf open the member and save a
	// document to PDFOut.
	Screen string
	PDFOut string
	// NoTray keeps Terrain out of the system tray: main sets it where
	// the desktop has none (a Linux session without D-Bus, where Fyne's
	// tray crashes on quitting).
	NoTray bool
	// Version is shown in Settings > About.
	Version string
	// LogFile is the app's log file, shown in Settings > About; empty when
	// it could not be opened.
	LogFile string
	// Started is when the process started; the log then says how long
	// the main window took to be ready.
	Started time.Time
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives diagnostics; slog.Default when nil.
	Logger *slog.Logger
}

// Preferences kept by Fyne outside the encrypted store, because they are
// needed before it is unlocked or are not secret.
const (
	langPreference     = "language"
	themePreference    = "theme"
	autoSyncPreference = "autosync"
)

// MinPassphrase is the shortest passphrase accepted for a new profile.
const MinPassphrase = 8

// UI is the running interface of one window.
type UI struct {
	app fyne.App
	win fyne.Window
	cfg Config
	loc *locales.Localizer
	log *slog.Logger

	st     *store.Store
	syncer Syncer
	unsub  func()
	// syncState is the engine's last published state, as the widgets
	// have seen it (read and written on the Fyne goroutine only).
	syncState engine.State

	nav     navState
	main    *mainScreen
	members *membersScreen // the list of the open main screen
	dialogs []dialogEntry  // open dialogs, innermost last, for Escape
	popUp   *widget.PopUp  // the open calendar, for Escape
	// shortcuts is the open « Raccourcis clavier » dialog, if any.
	shortcuts dialog.Dialog
	// enter is the screen's default action for Enter when no widget
	// takes it (the first-run wizard); nil elsewhere.
	enter   func()
	drafts  *draftSaver
	todo    reminders // the day's summary of follow-ups, tray and notification
	ticker  *time.Ticker
	stopped chan struct{}

	// post runs a function on the Fyne goroutine: fyne.Do, except in
	// tests (see do).
	post func(func())
	// ready turns true once the main screen is up after unlocking.
	ready atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// New prepares the interface; Start shows it.
func New(a fyne.App, w fyne.Window, cfg Config) *UI {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u := &UI{app: a, win: w, cfg: cfg, log: cfg.Logger, stopped: make(chan struct{}), post: fyne.Do}
	u.loc = locales.New(u.language())
	w.SetTitle(u.loc.T("app.title"))
	applyTheme(a, a.Preferences().String(themePreference))
	u.installKeys()
	w.SetCloseIntercept(u.closeRequested)
	return u
}

// language picks the forced language, then the saved one, then the
// system's (French when the system says nothing useful).
func (u *UI) language() string {
	if u.cfg.Lang != "" {
		return locales.Normalize(u.cfg.Lang)
	}
	if saved := u.app.Preferences().String(langPreference); saved != "" {
		return locales.Normalize(saved)
	}
	return locales.Detect(nil)
}

// do runs fn on the Fyne goroutine; every result of background work
// reaches the widgets through it. It is fyne.Do, which Fyne's test driver
// runs at once on the calling goroutine: the tests replace it with a
// queue that their own goroutine drains, so that widgets are only ever
// touched from one goroutine there too.
// Work that comes back after Close finds no store: it is dropped.
func (u *UI) do(fn func()) {
	u.post(func() {
		select {
		case <-u.stopped:
		default:
			fn()
		}
	})
}

// Localizer returns the current language's localizer.
func (u *UI) Localizer() *locales.Localizer { return u.loc }

// setLanguage switches the language at once: the choice is saved and the
// window's content rebuilt in place, keeping what was on screen.
func (u *UI) setLanguage(lang string, rebuild func()) {
	lang = locales.Normalize(lang)
	u.app.Preferences().SetString(langPreference, lang)
	u.cfg.Lang = "" // a forced language gives way to the coordinator's choice
	if lang == u.loc.Lang() {
		return
	}
	u.loc = locales.New(lang)
	u.win.SetTitle(u.loc.T("app.title"))
	rebuild()
}

// Start shows the first-run wizard, the unlock screen, or unlocks at once
// when the configuration carries a passphrase.
func (u *UI) Start() {
	if u.cfg.Passphrase != "" {
		creating := !store.Exists(u.cfg.Profile)
		if creating && !u.cfg.Demo && u.cfg.Server != "" && u.cfg.Email != "" && u.cfg.Password != "" {
			u.createAndSignIn([]byte(u.cfg.Passphrase), u.cfg.Server, u.cfg.Email, u.cfg.Password, nil)
			return
		}
		u.unlock([]byte(u.cfg.Passphrase), creating, nil)
		return
	}
	if !store.Exists(u.cfg.Profile) {
		u.showFirstRun()
		return
	}
	u.showUnlock()
}

// Store returns the open store, or nil while locked.
func (u *UI) Store() *store.Store { return u.st }

// Close stops sync, writes the pending draft and releases the store. main
// calls it when the window has closed; calling it again does nothing.
func (u *UI) Close() error {
	u.closeOnce.Do(func() {
		close(u.stopped)
		if u.ticker != nil {
			u.ticker.Stop()
		}
		if u.unsub != nil {
			u.unsub()
		}
		if u.syncer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := u.syncer.Stop(ctx); err != nil {
				u.log.Warn("stop sync", "err", err)
			}
			cancel()
		}
		if u.drafts != nil {
			u.drafts.flush()
		}
		if u.st != nil {
			u.closeErr = u.st.Close()
			u.st = nil
		}
	})
	return u.closeErr
}

// today is the coordinator's calendar day.
func (u *UI) today() domain.Date { return domain.DateOf(u.cfg.Now()) }

// errorText turns an error into words for a coordinator. The store's
// errors name their own messages, which Localizer.Error reads.
func (u *UI) errorText(err error) string { return u.loc.Error(err) }

// syncErrorText explains a sync failure through the engine's message IDs.
func (u *UI) syncErrorText(err error) string {
	if err == nil {
		return ""
	}
	if u.cfg.SyncMessageID != nil {
		if id := u.cfg.SyncMessageID(err); id != "" && len(locales.MissingIDs([]string{id})) == 0 {
			return u.loc.T(id)
		}
	}
	return u.errorText(err)
}
