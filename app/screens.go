package app

import (
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// The screens the screenshot script asks for (Config.Screen).
const (
	screenMembers    = "members"
	screenMember     = "member"
	screenVisitError = "visit-error"
	screenVisitEdit  = "visit-edit"
	screenDashboard  = "dashboard"
	screenSyncing    = "syncing"
	screenVisitPDF   = "visit-pdf"
	screenMemberPDF  = "member-pdf"
	screenToday      = "today" // the follow-ups' Today view
	// Not in the default set of the screenshot script, for a look at the
	// other tabs.
	screenFollowUps = "followups"
	screenConflicts = "conflicts"
	screenSettings  = "settings"
	// Issue 13: Settings scrolled to the bottom, the members list after a
	// switch to the light theme at run time, the keyboard shortcuts.
	screenSettingsBottom = "settings-bottom"
	screenMembersLight   = "members-light"
	screenShortcuts      = "shortcuts"
)

// applyScreen shows the screen Config.Screen names, once, after unlock.
func (u *UI) applyScreen() {
	screen := u.cfg.Screen
	if screen == "" || u.main == nil {
		return
	}
	u.cfg.Screen = ""
	m := u.main
	switch screen {
	case screenMembers:
		m.showList()
		m.tabs.SelectIndex(tabMembers)
	case screenMember, screenVisitError, screenVisitPDF, screenMemberPDF:
		id := u.showcaseMember()
		if id == "" {
			return
		}
		m.tabs.SelectIndex(tabMembers)
		if screen != screenVisitError {
			m.showMember(id)
			if screen != screenMember {
				u.screenPDF(screen == screenVisitPDF, id)
			}
			return
		}
		m.openVisitForm(id, nil)
		u.fillInvalidVisit(id)
	case screenVisitEdit:
		v, ok := u.showcaseOwnVisit()
		if !ok {
			return
		}
		m.tabs.SelectIndex(tabMembers)
		m.openVisitEdit(v)
		if m.form != nil {
			u.win.Canvas().Focus(m.form.notes)
		}
	case screenDashboard:
		m.tabs.SelectIndex(tabDashboard)
	case screenFollowUps:
		m.tabs.SelectIndex(tabFollowUps)
	case screenToday:
		m.showToday()
	case screenConflicts:
		m.tabs.SelectIndex(tabConflicts)
	case screenSettings:
		m.tabs.SelectIndex(tabSettings)
	case screenSettingsBottom:
		m.tabs.SelectIndex(tabSettings)
		m.settings.scroll.ScrollToBottom()
	case screenMembersLight:
		// As the coordinator would: Settings open, light chosen, then back
		// to the list (the switch used to leave it unreadable).
		// Not saved: the screenshot must not change the theme of the
		// next run (Fyne's preferences are per user, not per profile).
		m.tabs.SelectIndex(tabSettings)
		applyTheme(u.app, themeLight)
		u.nav.tab = tabMembers
		m.rebuild()
	case screenShortcuts:
		u.showShortcuts()
	case screenSyncing:
		m.tabs.SelectIndex(tabMembers)
		if u.syncer != nil && u.syncState.SignedIn {
			u.syncer.SyncNow()
			return
		}
		// Nothing to sync with: a fixed state, for the picture only.
		pending, _ := u.st.PendingCount()
		m.status.scripted = true
		u.syncState = engine.State{SignedIn: true, Online: true, Syncing: true, PagesDone: 3,
			RecordsDone: 1200, RecordsTotal: 3000, Pending: pending,
			LastSuccess: u.cfg.Now().Add(-5 * time.Minute)}
		m.status.update()
	}
}

// showcaseMember picks a member worth showing: visited, with open
// follow-ups, first by name.
func (u *UI) showcaseMember() string {
	rows, err := u.st.SearchMembers(store.MemberQuery{})
	if err != nil || len(rows) == 0 {
		return ""
	}
	for _, r := range rows {
		if r.LastVisit.IsZero() {
			continue
		}
		fus, err := u.st.FollowUps(store.FollowUpFilter{MemberID: r.ID, Limit: 1})
		if err == nil && len(fus) > 0 {
			return r.ID
		}
	}
	return rows[0].ID
}

// showcaseOwnVisit picks the newest visit of the signed-in coordinator,
// at the showcase member if it has one.
func (u *UI) showcaseOwnVisit() (domain.Visit, bool) {
	ids := []string{u.showcaseMember()}
	if rows, err := u.st.SearchMembers(store.MemberQuery{}); err == nil {
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
	}
	for _, id := range ids {
		vs, err := u.st.VisitsOfMember(id, 0)
		if err != nil {
			continue
		}
		for _, v := range vs {
			if u.mine(v) {
				return v, true
			}
		}
	}
	return domain.Visit{}, false
}

// fillInvalidVisit types a visit with two mistakes (no duration, the next
// visit before this one) and tries to save it, as a coordinator might.
// The text comes from the member's last visit.
func (u *UI) fillInvalidVisit(memberID string) {
	f := u.main.form
	if f == nil {
		return
	}
	if last, err := u.st.VisitsOfMember(memberID, 1); err == nil && len(last) > 0 {
		f.people.SetText(last[0].PeopleMet)
		f.notes.SetText(last[0].Notes)
		for i, id := range f.serviceIDs {
			for _, s := range last[0].ServicesDiscussed {
				if s == id {
					f.services[i].SetChecked(true)
				}
			}
		}
	}
	f.duration.SetText("")
	f.next.SetDate(u.today().AddDays(-7))
	f.save()
}
