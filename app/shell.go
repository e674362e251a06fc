package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The main window's tabs, in order.
const (
	tabMembers = iota
	tabFollowUps
	tabDashboard
	tabConflicts
	tabSettings
)

// navState is where the coordinator is, kept across a rebuild of the
// window (a change of language) so that the same screen comes back.
type navState struct {
	tab      int
	memberID string      // member detail open in the Members tab
	visit    *visitDraft // visit form open (for memberID), with its content
	// restored marks a draft that came back from the store at start.
	restored bool
	// members is the search and filters of the members list.
	members membersState
	// settingsOffset is how far Settings was scrolled.
	settingsOffset fyne.Position
}

// mainScreen is the unlocked window: the tabs and the status bar.
type mainScreen struct {
	u      *UI
	tabs   *container.AppTabs
	items  []*container.TabItem
	stack  *fyne.Container // the Members tab: list, member or visit form
	status *statusBar
	// notices holds the day's summary and the offer to undo.
	notices *noticeBar

	list      *membersScreen
	detail    *memberDetail
	form      *visitForm
	followUps *followUpsScreen
	dashboard *dashboardScreen
	conflicts *conflictsScreen
	settings  *settingsScreen
	// shown turns true once the window holds this screen: focusing a
	// widget before logs « Failed to focus object ».
	shown bool
}

// showMain builds the main window from u.nav.
func (u *UI) showMain() {
	m := &mainScreen{u: u}
	u.main = m
	m.status = u.newStatusBar()
	m.notices = u.newNoticeBar()
	m.list = u.newMembersScreen()
	u.members = m.list
	m.followUps = u.newFollowUpsScreen()
	m.dashboard = u.newDashboardScreen()
	m.conflicts = u.newConflictsScreen()
	m.settings = u.newSettingsScreen()
	m.stack = container.NewStack()

	m.items = []*container.TabItem{
		container.NewTabItemWithIcon(u.loc.T("nav.members"), theme.Icon(theme.IconNameAccount), m.stack),
		container.NewTabItemWithIcon(u.loc.T("nav.followups"), theme.Icon(theme.IconNameConfirm), m.followUps.content()),
		container.NewTabItemWithIcon(u.loc.T("nav.dashboard"), theme.Icon(theme.IconNameGrid), m.dashboard.content()),
		container.NewTabItemWithIcon(u.loc.T("nav.conflicts"), theme.Icon(theme.IconNameWarning), m.conflicts.content()),
		container.NewTabItemWithIcon(u.loc.T("nav.settings"), theme.Icon(theme.IconNameSettings), m.settings.content()),
	}
	m.tabs = container.NewAppTabs(m.items...)
	m.tabs.SetTabLocation(container.TabLocationLeading)

	switch {
	case u.nav.visit != nil && u.nav.memberID != "":
		m.openVisitForm(u.nav.memberID, u.nav.visit)
	case u.nav.memberID != "":
		m.showMember(u.nav.memberID)
	default:
		m.showList()
	}
	m.tabs.SelectIndex(u.nav.tab)
	m.tabs.OnSelected = func(*container.TabItem) {
		u.nav.tab = m.tabs.SelectedIndex()
		m.tabShown()
	}
	m.tabShown()
	m.status.update()
	u.win.SetContent(container.NewBorder(m.notices.content(), m.status.content(), nil, nil, m.tabs))
	m.shown = true
	if !u.todo.day.IsZero() {
		u.showReminders() // a rebuild keeps the summary
	}
	switch {
	case m.form != nil && u.nav.tab == tabMembers:
		m.form.focusFirst() // on the canvas now: earlier, Fyne refuses
	case m.form == nil && u.nav.tab == tabMembers && u.nav.memberID == "":
		u.win.Canvas().Focus(m.list.search)
	}
	// Last, so that a screenshot screen's own focus (the notes of a visit
	// being corrected) is the one shown.
	u.applyScreen()
}

// rebuild redraws the main window in the current language, keeping the
// screen and what the visit form holds.
func (m *mainScreen) rebuild() {
	m.u.nav.members = m.list.state()
	m.u.nav.settingsOffset = m.settings.offset()
	if m.form != nil {
		d := m.form.snapshot()
		m.u.nav.visit = &d
	}
	m.u.showMain()
}

// tabShown loads the data of the tab that just came into view.
func (m *mainScreen) tabShown() {
	switch m.tabs.SelectedIndex() {
	case tabFollowUps:
		m.followUps.refresh()
	case tabDashboard:
		m.dashboard.refresh()
	case tabConflicts:
		m.conflicts.refresh()
	case tabSettings:
		m.settings.refresh()
	}
}

// dataChanged redraws what shows stored data after a sync brought changes.
// Settings shows none: redrawing it would re-tick its check boxes (and
// ask for another sync) and lose the coordinator's place on the page.
func (m *mainScreen) dataChanged() {
	m.list.reload()
	if m.detail != nil && m.form == nil {
		m.detail.reload()
	}
	if m.tabs.SelectedIndex() != tabSettings {
		m.tabShown()
	}
	m.u.refreshReminders()
}

// localChange follows a save made on this device.
func (m *mainScreen) localChange() {
	if m.u.syncer != nil {
		m.u.syncer.Refresh()
	}
	m.list.reload()
	m.status.update()
}

func (m *mainScreen) setMembersContent(o fyne.CanvasObject) {
	m.stack.Objects = []fyne.CanvasObject{o}
	m.stack.Refresh()
}

// showList shows the members list in the Members tab.
func (m *mainScreen) showList() {
	m.detail, m.form = nil, nil
	m.u.nav.memberID, m.u.nav.visit = "", nil
	m.setMembersContent(m.list.content())
}

// showMember shows a member's detail in the Members tab.
func (m *mainScreen) showMember(id string) {
	m.form = nil
	m.u.nav.memberID, m.u.nav.visit = id, nil
	m.detail = m.u.newMemberDetail(id)
	m.setMembersContent(m.detail.content())
	// The list (or form) that had the keyboard is gone: keys go to the
	// window again (Ctrl+N, Escape).
	m.u.win.Canvas().Unfocus()
}

// openMember goes to a member from another tab.
func (m *mainScreen) openMember(id string) {
	m.leaveForm(func() {
		m.showMember(id)
		m.tabs.SelectIndex(tabMembers)
	})
}

// openVisitForm shows the visit form for a member, filled from d when
// given (a draft or a rebuild), else from the saved draft if it is this
// member's.
func (m *mainScreen) openVisitForm(memberID string, d *visitDraft) {
	if d == nil {
		if saved, ok := m.u.drafts.load(); ok && saved.MemberID == memberID && !saved.Editing {
			d = &saved
			m.u.nav.restored = true
		}
	}
	f, err := m.u.newVisitForm(memberID, d)
	if err != nil {
		m.u.showError(err)
		return
	}
	m.detail = nil
	m.form = f
	m.u.nav.memberID = memberID
	snap := f.snapshot()
	m.u.nav.visit = &snap
	m.setMembersContent(f.content())
	m.u.nav.restored = false
	if m.shown {
		f.focusFirst()
	}
}

// leaveForm runs next once the visit form may go: at once when it holds
// nothing unsaved, after the coordinator agrees to discard it otherwise.
func (m *mainScreen) leaveForm(next func()) {
	if m.form == nil || !m.form.dirty() {
		if m.form != nil {
			m.u.drafts.discard()
		}
		next()
		return
	}
	m.u.confirm(m.u.loc.T("visit.discard_title"), m.u.loc.T("visit.discard_message"),
		m.u.loc.T("visit.discard"), m.u.loc.T("visit.keep_editing"), func() {
			m.u.drafts.discard()
			next()
		})
}

// newVisitForCurrent is Ctrl+N: a visit for the member on screen.
func (m *mainScreen) newVisitForCurrent() {
	m.tabs.SelectIndex(tabMembers)
	switch {
	case m.form != nil:
		m.form.focusFirst()
	case m.u.nav.memberID != "":
		m.openVisitForm(m.u.nav.memberID, nil)
	default:
		m.list.hint(m.u.loc.T("members.choose_first"))
		m.u.win.Canvas().Focus(m.list.search)
	}
}

// focusSearch is Ctrl+F.
func (m *mainScreen) focusSearch() {
	m.leaveForm(func() {
		if m.detail != nil || m.form != nil {
			m.showList()
		}
		m.tabs.SelectIndex(tabMembers)
		m.u.win.Canvas().Focus(m.list.search)
	})
}

// save is Ctrl+S outside dialogs.
func (m *mainScreen) save() {
	if m.form != nil && m.tabs.SelectedIndex() == tabMembers {
		m.form.save()
	}
}

// setConflictCount shows how many items wait in the Conflicts tab.
func (m *mainScreen) setConflictCount(n int) {
	text := m.u.loc.T("nav.conflicts")
	if n > 0 {
		text = m.u.loc.T("nav.conflicts_count", map[string]any{"N": n})
	}
	if m.items[tabConflicts].Text != text {
		m.items[tabConflicts].Text = text
		m.tabs.Refresh()
	}
}

// closeRequested is the window's close button: a visit being typed is
// kept as a draft, but the coordinator is asked first.
func (u *UI) closeRequested() {
	if u.main != nil && u.main.form != nil && u.main.form.dirty() {
		u.confirm(u.loc.T("quit.title"), u.loc.T("quit.message"),
			u.loc.T("quit.quit"), u.loc.T("visit.keep_editing"), u.win.Close)
		return
	}
	u.win.Close()
}

// confirm asks a yes/no question with explicit button labels; yes runs
// only on the affirmative answer. Escape answers no.
func (u *UI) confirm(title, message, yes, no string, onYes func()) {
	d := newConfirm(u, title, message, yes, no, onYes)
	u.showDialog(d, nil)
}

// showError tells the coordinator that something failed.
func (u *UI) showError(err error) {
	u.log.Warn("error shown", "err", err)
	msg := wrapped(u.errorText(err))
	d := newInfo(u, u.loc.T("error.title"), msg)
	u.showDialog(d, nil)
}

// showInfo shows a message with an OK button, wide enough for a file path.
func (u *UI) showInfo(title, message string) {
	u.showDialog(newInfo(u, title, wrappedWidth(message, 420)), nil)
}

// selectable is a read-only label whose text can be copied.
func selectable(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Selectable = true
	l.Wrapping = fyne.TextWrapWord
	return l
}
