package app

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// The follow-up lists, in the order of the status choice.
const (
	followToday = iota // every open follow-up, in sections by due day
	followOverdue
	followDone
)

// The sections of the Today view, in order.
const (
	sectionOverdue = iota
	sectionToday
	sectionWeek
	sectionLater
	sectionNoDue
)

var sectionMessages = []string{"followups.section.overdue", "followups.section.today",
	"followups.section.week", "followups.section.later", "followups.section.no_due"}

// followUpsScreen lists follow-ups as a to-do list: the Today view (overdue,
// due today, this week, later), the overdue ones, or those done, narrowed
// by service and by member name. Each open one is closed with a tap, each
// done one reopened; the notice bar offers to undo either.
type followUpsScreen struct {
	u       *UI
	status  *widget.RadioGroup
	service *widget.Select
	member  *entry
	count   *widget.Label
	list    *widget.List
	box     fyne.CanvasObject

	serviceIDs []string
	all        []followUpItem // as read from the store
	rows       []followUpItem // after the member filter, with section headings
	headings   []int          // rows that are headings, for their height
	rowHeight  float32
	loads      int // numbers the loads, so a slow one cannot overwrite a newer one
}

// followUpItem is a follow-up with its member's name, or, when heading is
// set, the title of a section of the Today view.
type followUpItem struct {
	f       domain.FollowUp
	member  string
	heading string
}

func (u *UI) newFollowUpsScreen() *followUpsScreen {
	s := &followUpsScreen{u: u, count: widget.NewLabel("")}
	loc := u.loc
	s.status = widget.NewRadioGroup([]string{
		loc.T("followups.filter.today"), loc.T("followups.filter.overdue"), loc.T("followups.filter.done"),
	}, func(string) { s.refresh() })
	s.status.Horizontal = true
	s.status.Required = true
	s.status.SetSelected(s.status.Options[followToday])

	names := []string{loc.T("members.filter.all_services")}
	s.serviceIDs = []string{""}
	for _, sv := range u.services() {
		names = append(names, loc.Service(sv))
		s.serviceIDs = append(s.serviceIDs, sv.ID)
	}
	s.service = newFilter(names, s.refresh)
	s.member = u.newEntry()
	s.member.SetPlaceHolder(loc.T("followups.member_placeholder"))
	s.member.OnChanged = func(string) { s.filter() }

	s.list = widget.NewList(func() int { return len(s.rows) }, s.newRow, s.updateRow)
	s.rowHeight = s.newRow().MinSize().Height
	s.list.OnSelected = func(id widget.ListItemID) {
		s.list.UnselectAll()
		if id < len(s.rows) && s.rows[id].heading == "" {
			u.main.openMember(s.rows[id].f.MemberID)
		}
	}
	filters := container.NewBorder(nil, nil, s.status, nil,
		container.NewGridWithColumns(2, s.service, s.member))
	top := container.NewVBox(filters, s.count, widget.NewSeparator())
	s.box = container.NewBorder(top, nil, nil, nil, s.list)
	return s
}

// newRow is the list's template: a section heading, or a follow-up with
// its text and member on the left, and on the right its due day (never
// cut: it is what the list is about) and its button.
func (s *followUpsScreen) newRow() fyne.CanvasObject {
	loc := s.u.loc
	head := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.SizeName = theme.SizeNameSubHeadingText
	desc := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	desc.Truncation = fyne.TextTruncateEllipsis
	info := widget.NewLabel("")
	info.Truncation = fyne.TextTruncateEllipsis
	when := widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{})
	act := widget.NewButtonWithIcon(loc.T("followups.mark_done"), theme.Icon(theme.IconNameConfirm), nil)
	// The widest of the button's two labels, so rows line up.
	reopen := widget.NewButtonWithIcon(loc.T("followups.reopen"), theme.Icon(theme.IconNameContentUndo), nil)
	width := max(act.MinSize().Width, reopen.MinSize().Width)
	right := container.NewHBox(container.NewCenter(when),
		container.New(layout.NewGridWrapLayout(fyne.NewSize(width, act.MinSize().Height)), act))
	row := container.NewBorder(nil, nil, nil, container.NewCenter(right),
		container.New(layout.NewCustomPaddedVBoxLayout(0), desc, info))
	return container.NewStack(container.NewBorder(nil, nil, nil, nil, head), row)
}

func (s *followUpsScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.rows) {
		return
	}
	u, loc := s.u, s.u.loc
	it := s.rows[id]
	parts := o.(*fyne.Container).Objects
	headBox, row := parts[0].(*fyne.Container), parts[1].(*fyne.Container)
	if it.heading != "" {
		headBox.Objects[0].(*widget.Label).SetText(it.heading)
		headBox.Show()
		row.Hide()
		return
	}
	headBox.Hide()
	row.Show()
	texts := row.Objects[0].(*fyne.Container).Objects
	right := row.Objects[1].(*fyne.Container).Objects[0].(*fyne.Container)
	setCell(texts[0].(*widget.Label), it.f.Description)
	info := texts[1].(*widget.Label)
	setCell(info, u.followUpWho(it.f, it.member))
	when := right.Objects[0].(*fyne.Container).Objects[0].(*widget.Label)
	when.SetText(u.followUpWhen(it.f))
	if it.f.Overdue(u.today()) {
		when.Importance = widget.DangerImportance
	} else {
		when.Importance = widget.MediumImportance
	}
	when.Refresh()
	act := right.Objects[1].(*fyne.Container).Objects[0].(*widget.Button)
	f := it.f
	if f.Status == domain.FollowUpDone {
		act.SetText(loc.T("followups.reopen"))
		act.SetIcon(theme.Icon(theme.IconNameContentUndo))
		act.Importance = widget.MediumImportance
		act.OnTapped = func() { u.reopenFollowUp(f) }
	} else {
		act.SetText(loc.T("followups.mark_done"))
		act.SetIcon(theme.Icon(theme.IconNameConfirm))
		act.Importance = widget.MediumImportance
		act.OnTapped = func() { u.markDone(f) }
	}
	act.Refresh()
}

func (s *followUpsScreen) content() fyne.CanvasObject { return s.box }

// showOverdue switches the list to the overdue follow-ups.
func (s *followUpsScreen) showOverdue() {
	s.status.SetSelected(s.status.Options[followOverdue])
}

// showToday switches the list to the Today view.
func (s *followUpsScreen) showToday() {
	s.status.SetSelected(s.status.Options[followToday])
}

// view is the list chosen.
func (s *followUpsScreen) view() int { return slices.Index(s.status.Options, s.status.Selected) }

// refresh reads the follow-ups off the Fyne goroutine (with the large data
// set, thousands of records) and shows them when they arrive.
func (s *followUpsScreen) refresh() {
	if s.list == nil || s.u.st == nil {
		return
	}
	filter := store.FollowUpFilter{}
	if i := s.service.SelectedIndex(); i > 0 {
		filter.ServiceID = s.serviceIDs[i]
	}
	done := false
	switch s.view() {
	case followOverdue:
		filter.OverdueOnly = true
	case followDone:
		filter.Status = domain.FollowUpDone
		done = true
	}
	st := s.u.st
	s.loads++
	load := s.loads
	apply := func(items []followUpItem, err error) {
		if load != s.loads {
			return
		}
		if err != nil {
			s.all = nil
			s.count.SetText(s.u.errorText(err))
		} else {
			s.all = items
		}
		s.filter()
	}
	go func() {
		items, err := readFollowUps(st, filter, done)
		s.u.do(func() { apply(items, err) })
	}()
}

// readFollowUps reads follow-ups with their members' names. Done ones come
// latest first: those are the ones a coordinator looks back at.
func readFollowUps(st *store.Store, filter store.FollowUpFilter, latestFirst bool) ([]followUpItem, error) {
	fus, err := st.FollowUps(filter)
	if err != nil {
		return nil, err
	}
	members, err := st.SearchMembers(store.MemberQuery{})
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(members))
	for _, m := range members {
		names[m.ID] = m.Name
	}
	items := make([]followUpItem, len(fus))
	for i, f := range fus {
		items[i] = followUpItem{f: f, member: names[f.MemberID]}
	}
	if latestFirst {
		// By the day done; those closed before it was recorded come
		// after, by due day.
		slices.SortStableFunc(items, func(a, b followUpItem) int {
			if c := cmpBool(a.f.DoneOn.IsZero(), b.f.DoneOn.IsZero()); c != 0 {
				return c
			}
			if c := strings.Compare(b.f.DoneOn.String(), a.f.DoneOn.String()); c != 0 {
				return c
			}
			return strings.Compare(b.f.Due.String(), a.f.Due.String())
		})
	}
	return items, nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// todaySection places an open follow-up in the Today view. This week is the
// seven days after today.
func todaySection(f domain.FollowUp, today domain.Date) int {
	switch {
	case f.Due.IsZero():
		return sectionNoDue
	case f.Due.Before(today):
		return sectionOverdue
	case f.Due == today:
		return sectionToday
	case !f.Due.After(today.AddDays(7)):
		return sectionWeek
	}
	return sectionLater
}

// filter applies the member filter to what was read and, in the Today
// view, puts the headings of the sections.
func (s *followUpsScreen) filter() {
	words := strings.Fields(domain.Fold(s.member.Text))
	var kept []followUpItem
	for _, it := range s.all {
		name := domain.Fold(it.member)
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(name, w) }) {
			kept = append(kept, it)
		}
	}
	s.rows = s.rows[:0]
	if s.view() == followToday {
		today := s.u.today()
		bySection := make([][]followUpItem, len(sectionMessages))
		for _, it := range kept {
			n := todaySection(it.f, today)
			bySection[n] = append(bySection[n], it)
		}
		for n, items := range bySection {
			if len(items) == 0 {
				continue
			}
			title := s.u.loc.T(sectionMessages[n]) + " (" + s.u.loc.Number(float64(len(items)), 0) + ")"
			s.rows = append(s.rows, followUpItem{heading: title})
			s.rows = append(s.rows, items...)
		}
	} else {
		s.rows = append(s.rows, kept...)
	}
	s.setHeights()
	s.count.SetText(s.u.loc.N("followups.count", len(kept)))
	s.list.Refresh()
}

// setHeights gives the headings their own height, and the rows that were
// headings before theirs back.
func (s *followUpsScreen) setHeights() {
	for _, id := range s.headings {
		s.list.SetItemHeight(id, s.rowHeight)
	}
	s.headings = s.headings[:0]
	for id, it := range s.rows {
		if it.heading != "" {
			s.headings = append(s.headings, id)
			s.list.SetItemHeight(id, s.rowHeight*0.75)
		}
	}
}
