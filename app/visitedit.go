package app

import (
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
)

// Correcting and deleting a saved visit. Only its author may: the central
// service refuses anyone else's change, so the app does not offer it. The
// correction is an ordinary save of the visit form: the store queues only
// the fields that changed, and the server merges them field by field, so a
// correction made meanwhile on another device becomes a conflict record.

// draftOf is a saved visit as the form shows it.
func draftOf(v domain.Visit) visitDraft {
	d := visitDraft{
		MemberID: v.MemberID, VisitID: v.ID, Editing: true,
		Date: v.Date.String(), Mode: string(v.Mode),
		People: v.PeopleMet, Notes: v.Notes, Needs: v.Needs, Next: v.NextVisit.String(),
	}
	if v.DurationMinutes != 0 {
		d.Duration = strconv.Itoa(v.DurationMinutes)
	}
	if len(v.ServicesDiscussed) > 0 {
		d.Services = append([]string(nil), v.ServicesDiscussed...)
	}
	return d
}

// mine reports whether the coordinator signed in on this device wrote v.
func (u *UI) mine(v domain.Visit) bool {
	me, err := u.st.Me()
	return err == nil && me.ID != "" && me.ID == v.CoordinatorID
}

// openVisitEdit shows the visit form on a saved visit, or on the draft of
// its correction when one was left unsaved.
func (m *mainScreen) openVisitEdit(v domain.Visit) {
	d := draftOf(v)
	if saved, ok := m.u.drafts.load(); ok && saved.Editing && saved.VisitID == v.ID {
		d = saved
		m.u.nav.restored = true
	}
	m.openVisitForm(v.MemberID, &d)
}

// confirmDelete asks before deleting the visit being corrected. The
// follow-ups promised during it stay: they are work still to do.
func (f *visitForm) confirmDelete() {
	u, loc := f.u, f.u.loc
	if f.editing == nil {
		return
	}
	v := *f.editing
	u.confirm(loc.T("visit.delete_title"),
		loc.T("visit.delete_message", map[string]any{"Date": loc.Date(v.Date), "Name": f.member.Name}),
		loc.T("visit.delete"), loc.T("visit.delete_keep"), func() {
			if err := u.st.DeleteVisit(v.ID); err != nil {
				f.msg.SetText(f.saveError(err))
				return
			}
			u.drafts.discard()
			u.main.localChange()
			u.main.showMember(f.member.ID)
		})
}

// historyEntry is one visit of a member's history: its summary, with a
// way to correct it for its author, and its author's name for the others.
func (d *memberDetail) historyEntry(v domain.Visit) fyne.CanvasObject {
	u, loc := d.u, d.u.loc
	summary := u.visitSummary(v)
	if !u.mine(v) {
		text := loc.T("visit.summary.author_other")
		if c, err := u.st.Coordinator(v.CoordinatorID); err == nil && c.Name != "" {
			text = loc.T("visit.summary.author", map[string]any{"Name": c.Name})
		}
		// Italic rather than low importance: grey on the dark theme is
		// too faint to read.
		by := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
		return container.NewBorder(nil, nil, nil, container.NewVBox(d.reportButton(v)), container.NewVBox(summary, by))
	}
	edit := widget.NewButtonWithIcon(loc.T("visit.edit"), theme.Icon(theme.IconNameDocumentCreate), func() {
		u.main.openVisitEdit(v)
	})
	edit.Importance = widget.LowImportance
	return container.NewBorder(nil, nil, nil, container.NewVBox(edit, d.reportButton(v)), summary)
}
