package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/sync/engine"
)

// statusBar is the line under every screen: connection, pending changes,
// last successful sync, progress while syncing, the last error and the
// Sync button. It shows u.syncState, which only syncChanged writes, on the
// Fyne goroutine: engine events reach it through fyne.Do.
type statusBar struct {
	u        *UI
	dot      *canvas.Circle
	online   *widget.Label
	pending  *widget.Label
	last     *widget.Label
	progress *widget.ProgressBar
	working  *widget.ProgressBarInfinite
	errText  *widget.Label
	action   *widget.Button
	box      fyne.CanvasObject
	// scripted shows a fixed state without an engine (screenshots only).
	scripted bool
}

func (u *UI) newStatusBar() *statusBar {
	s := &statusBar{
		u:        u,
		dot:      canvas.NewCircle(color.Transparent),
		online:   widget.NewLabel(""),
		pending:  widget.NewLabel(""),
		last:     widget.NewLabel(""),
		progress: widget.NewProgressBar(),
		working:  widget.NewProgressBarInfinite(),
		errText:  widget.NewLabel(""),
	}
	s.errText.Importance = widget.DangerImportance
	s.errText.Wrapping = fyne.TextWrapWord
	s.progress.TextFormatter = s.progressText
	s.working.Stop()
	s.action = widget.NewButtonWithIcon("", theme.Icon(theme.IconNameViewRefresh), s.act)
	dot := container.NewGridWrap(fyne.NewSize(10, 10), s.dot)
	left := container.NewHBox(container.NewCenter(dot), s.online, widget.NewSeparator(), s.pending,
		widget.NewSeparator(), s.last)
	bars := container.NewStack(sized(s.progress, 200), s.working)
	line := container.NewBorder(nil, nil, left, container.NewHBox(bars, s.action))
	s.box = container.NewVBox(widget.NewSeparator(), line, s.errText)
	return s
}

func (s *statusBar) content() fyne.CanvasObject { return s.box }

// progressText is "1 200 / 3 000" with the language's digit grouping.
func (s *statusBar) progressText() string {
	st := s.u.syncState
	return s.u.loc.T("status.progress", map[string]any{
		"Done":  s.u.loc.Number(float64(st.RecordsDone), 0),
		"Total": s.u.loc.Number(float64(st.RecordsTotal), 0),
	})
}

// signedIn reports whether sync can run.
func (s *statusBar) signedIn() bool {
	return (s.u.syncer != nil || s.scripted) && s.u.syncState.SignedIn
}

// update redraws the bar from u.syncState and the store's outbox.
func (s *statusBar) update() {
	u, loc, st := s.u, s.u.loc, s.u.syncState
	th := u.app.Settings().Theme()
	variant := u.app.Settings().ThemeVariant()
	switch {
	case !s.signedIn():
		s.online.SetText(loc.T("status.not_signed_in"))
		s.dot.FillColor = th.Color(theme.ColorNameWarning, variant)
	case st.Syncing:
		s.online.SetText(loc.T("status.syncing"))
		s.dot.FillColor = th.Color(theme.ColorNamePrimary, variant)
	case st.Online:
		s.online.SetText(loc.T("status.online"))
		s.dot.FillColor = th.Color(theme.ColorNameSuccess, variant)
	default:
		s.online.SetText(loc.T("status.offline"))
		s.dot.FillColor = th.Color(theme.ColorNameDisabled, variant)
	}
	s.dot.Refresh()

	// The store's own counts show a local save or resolution at once, but
	// they cost key scans: while a sync publishes a state per page, the
	// engine's counts do, and the store is read again when it ends.
	readStore := u.st != nil && !s.scripted && !st.Syncing
	pending := st.Pending
	if readStore {
		if n, err := u.st.PendingCount(); err == nil {
			pending = n // the outbox itself: a save shows before the engine knows
		}
	}
	if pending == 0 {
		s.pending.SetText(loc.T("status.pending_none"))
	} else {
		s.pending.SetText(loc.N("status.pending", pending))
	}

	if st.LastSuccess.IsZero() {
		s.last.SetText(loc.T("status.never_synced"))
	} else {
		s.last.SetText(loc.T("status.last_sync", map[string]any{"Ago": loc.Ago(u.cfg.Now().Sub(st.LastSuccess))}))
	}

	switch {
	case st.Syncing && st.RecordsTotal > 0:
		s.working.Stop()
		s.working.Hide()
		s.progress.Max = float64(st.RecordsTotal)
		s.progress.SetValue(float64(min(st.RecordsDone, st.RecordsTotal)))
		s.progress.Show()
	case st.Syncing:
		s.progress.Hide()
		s.working.Show()
		s.working.Start()
	default:
		s.progress.Hide()
		s.working.Stop()
		s.working.Hide()
	}

	switch {
	case st.Syncing:
		s.errText.SetText("")
	case st.LastError != nil && engine.Offline(st.LastError):
		// No network is the normal state on the road, not a failure:
		// said calmly, in the text colour.
		s.errText.Importance = widget.MediumImportance
		s.errText.SetText(loc.T("status.offline_calm"))
	case st.LastError != nil:
		s.errText.Importance = widget.DangerImportance
		s.errText.SetText(loc.T("status.failed", map[string]any{"Reason": u.syncErrorText(st.LastError)}))
	default:
		s.errText.SetText("")
	}
	if s.errText.Text == "" {
		s.errText.Hide()
	} else {
		s.errText.Show()
	}

	if s.signedIn() {
		s.action.SetText(loc.T("status.sync_now"))
		s.action.SetIcon(theme.Icon(theme.IconNameViewRefresh))
		if st.Syncing {
			s.action.Disable()
		} else {
			s.action.Enable()
		}
	} else {
		s.action.SetText(loc.T("status.sign_in"))
		s.action.SetIcon(theme.Icon(theme.IconNameLogin))
		s.action.Enable()
	}
	waiting := st.Conflicts + st.Quarantined
	if readStore {
		// The store itself: a conflict resolved here shows at once.
		c, err1 := u.st.ConflictCount()
		q, err2 := u.st.QuarantineCount()
		if err1 == nil && err2 == nil {
			waiting = c + q
		}
	}
	if u.main != nil {
		u.main.setConflictCount(waiting)
	}
}

// act is the button: sync now, or go and sign in.
func (s *statusBar) act() {
	if s.signedIn() && s.u.syncer != nil {
		s.u.syncer.SyncNow()
		return
	}
	if s.u.main != nil {
		s.u.main.tabs.SelectIndex(tabSettings)
	}
}
