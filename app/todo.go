package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// markDone closes a follow-up, dated today and signed with the
// coordinator's name; the notice bar offers to undo it.
func (u *UI) markDone(f domain.FollowUp) {
	by := ""
	if me, err := u.st.Me(); err == nil {
		by = me.Name
	}
	u.changeFollowUp(f, u.loc.T("followups.marked_done", map[string]any{"Description": f.Description}),
		func(f *domain.FollowUp) {
			f.Status, f.DoneOn, f.DoneBy = domain.FollowUpDone, u.today(), by
		})
}

// reopenFollowUp puts a done follow-up back on the to-do list.
func (u *UI) reopenFollowUp(f domain.FollowUp) {
	u.changeFollowUp(f, u.loc.T("followups.reopened", map[string]any{"Description": f.Description}),
		func(f *domain.FollowUp) {
			f.Status, f.DoneOn, f.DoneBy = domain.FollowUpOpen, domain.Date{}, ""
		})
}

// changeFollowUp applies change to the stored follow-up (a sync may have
// brought a newer one than the list shows) and offers to undo it. Undo
// puts back the state fields only, so that nothing synced meanwhile is
// lost.
func (u *UI) changeFollowUp(shown domain.FollowUp, text string, change func(*domain.FollowUp)) {
	cur, err := u.st.FollowUp(shown.ID)
	if err != nil {
		u.showError(err)
		return
	}
	prev := cur
	change(&cur)
	if err := u.st.SaveFollowUp(cur); err != nil {
		u.showError(err)
		return
	}
	u.followUpsChanged()
	if u.main == nil {
		return
	}
	u.main.notices.showUndo(text, func() {
		back, err := u.st.FollowUp(prev.ID)
		if err != nil {
			u.showError(err)
			return
		}
		back.Status, back.DoneOn, back.DoneBy = prev.Status, prev.DoneOn, prev.DoneBy
		if err := u.st.SaveFollowUp(back); err != nil {
			u.showError(err)
			return
		}
		u.followUpsChanged()
	})
}

// followUpsChanged redraws what shows follow-ups after a change made here.
func (u *UI) followUpsChanged() {
	m := u.main
	if m != nil {
		m.localChange()
		if m.detail != nil && m.form == nil {
			m.detail.reload()
		}
		m.tabShown()
	}
	u.refreshReminders()
}

// followUpCounts counts the open follow-ups overdue, and those due in the
// next seven days (today included): the day's summary.
func followUpCounts(st *store.Store, today domain.Date) (overdue, week int, err error) {
	fus, err := st.FollowUps(store.FollowUpFilter{})
	if err != nil {
		return 0, 0, err
	}
	for _, f := range fus {
		switch todaySection(f, today) {
		case sectionOverdue:
			overdue++
		case sectionToday, sectionWeek:
			week++
		}
	}
	return overdue, week, nil
}

// summaryText is « 3 suivis en retard, 2 cette semaine », or "" when
// nothing is due.
func (u *UI) summaryText(overdue, week int) string {
	loc := u.loc
	switch {
	case overdue > 0 && week > 0:
		return loc.N("followups.summary.overdue_week", week,
			map[string]any{"Overdue": loc.N("followups.summary.overdue", overdue)})
	case overdue > 0:
		return loc.N("followups.summary.overdue", overdue)
	case week > 0:
		return loc.N("followups.summary.week", week)
	}
	return ""
}

// noticeBar sits above the tabs: the day's summary of follow-ups, and the
// offer to undo the last change of a follow-up. Each closes with its ×.
type noticeBar struct {
	box         *fyne.Container
	summary     *fyne.Container
	summaryText *widget.Label
	undo        *fyne.Container
	undoText    *widget.Label
	undoFn      func()
}

func (u *UI) newNoticeBar() *noticeBar {
	loc := u.loc
	n := &noticeBar{summaryText: widget.NewLabel(""), undoText: widget.NewLabel("")}
	n.summaryText.TextStyle.Bold = true
	n.summaryText.Truncation = fyne.TextTruncateEllipsis
	n.undoText.Truncation = fyne.TextTruncateEllipsis
	closer := func(hide func()) *widget.Button {
		b := widget.NewButtonWithIcon("", theme.Icon(theme.IconNameCancel), hide)
		b.Importance = widget.LowImportance
		return b
	}
	see := widget.NewButtonWithIcon(loc.T("followups.summary.see"), theme.Icon(theme.IconNameConfirm), func() {
		if u.main != nil {
			u.main.showToday()
		}
	})
	n.summary = container.NewBorder(nil, nil, widget.NewIcon(theme.Icon(theme.IconNameInfo)),
		container.NewHBox(see, closer(func() {
			u.todo.dismissed = u.today()
			n.summary.Hide()
		})), n.summaryText)
	n.summary.Hide()
	undo := widget.NewButtonWithIcon(loc.T("followups.undo"), theme.Icon(theme.IconNameContentUndo), func() {
		fn := n.undoFn
		n.hideUndo()
		if fn != nil {
			fn()
		}
	})
	n.undo = container.NewBorder(nil, nil, widget.NewIcon(theme.Icon(theme.IconNameConfirm)),
		container.NewHBox(undo, closer(n.hideUndo)), n.undoText)
	n.undo.Hide()
	n.box = container.NewVBox(n.summary, n.undo)
	return n
}

func (n *noticeBar) content() fyne.CanvasObject { return n.box }

// showUndo offers to undo what text describes; a newer change replaces it.
func (n *noticeBar) showUndo(text string, undo func()) {
	n.undoText.SetText(text)
	n.undoFn = undo
	n.undo.Show()
	n.box.Refresh()
}

func (n *noticeBar) hideUndo() {
	n.undoFn = nil
	n.undo.Hide()
	n.box.Refresh()
}

// setSummary shows the day's summary, or hides it when there is none.
func (n *noticeBar) setSummary(text string) {
	n.summaryText.SetText(text)
	if text == "" {
		n.summary.Hide()
	} else {
		n.summary.Show()
	}
	n.box.Refresh()
}

// showToday goes to the Today view of the follow-ups.
func (m *mainScreen) showToday() {
	m.followUps.showToday()
	m.tabs.SelectIndex(tabFollowUps)
}
