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
	followOpen = iota
	followOverdue
	followDone
)

// followUpsScreen lists follow-ups: open, overdue or done, narrowed by
// service and by member name, each one closable with a tap.
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
	rows       []followUpItem // after the member filter
	loads      int            // numbers the loads, so a slow one cannot overwrite a newer one
}

type followUpItem struct {
	f      domain.FollowUp
	member string
}

func (u *UI) newFollowUpsScreen() *followUpsScreen {
	s := &followUpsScreen{u: u, count: widget.NewLabel("")}
	loc := u.loc
	s.status = widget.NewRadioGroup([]string{
		loc.T("followups.filter.open"), loc.T("followups.filter.overdue"), loc.T("followups.filter.done"),
	}, func(string) { s.refresh() })
	s.status.Horizontal = true
	s.status.Required = true
	s.status.SetSelected(s.status.Options[followOpen])

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

	s.list = widget.NewList(
		func() int { return len(s.rows) },
		func() fyne.CanvasObject {
			desc := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			desc.Truncation = fyne.TextTruncateEllipsis
			info := widget.NewLabel("")
			info.Truncation = fyne.TextTruncateEllipsis
			done := widget.NewButtonWithIcon(loc.T("followups.mark_done"), theme.Icon(theme.IconNameConfirm), nil)
			return container.NewBorder(nil, nil, nil, container.NewCenter(done),
				container.New(layout.NewCustomPaddedVBoxLayout(0), desc, info))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(s.rows) {
				return
			}
			it := s.rows[id]
			row := o.(*fyne.Container)
			texts := row.Objects[0].(*fyne.Container).Objects
			setCell(texts[0].(*widget.Label), it.f.Description)
			info := texts[1].(*widget.Label)
			setCell(info, u.followUpInfo(it.f, it.member))
			if it.f.Overdue(u.today()) {
				info.Importance = widget.DangerImportance
			} else {
				info.Importance = widget.MediumImportance
			}
			info.Refresh()
			done := row.Objects[1].(*fyne.Container).Objects[0].(*widget.Button)
			if it.f.Status == domain.FollowUpDone {
				done.Hide()
			} else {
				done.Show()
			}
			done.OnTapped = func() {
				if err := u.markDone(it.f); err != nil {
					u.showError(err)
					return
				}
				s.refresh()
			}
		},
	)
	s.list.OnSelected = func(id widget.ListItemID) {
		s.list.UnselectAll()
		if id < len(s.rows) {
			u.main.openMember(s.rows[id].f.MemberID)
		}
	}
	filters := container.NewBorder(nil, nil, s.status, nil,
		container.NewGridWithColumns(2, s.service, s.member))
	top := container.NewVBox(filters, s.count, widget.NewSeparator())
	s.box = container.NewBorder(top, nil, nil, nil, s.list)
	return s
}

func (s *followUpsScreen) content() fyne.CanvasObject { return s.box }

// showOverdue switches the list to the overdue follow-ups.
func (s *followUpsScreen) showOverdue() {
	s.status.SetSelected(s.status.Options[followOverdue])
}

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
	switch slices.Index(s.status.Options, s.status.Selected) {
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
		slices.Reverse(items)
	}
	return items, nil
}

// filter applies the member filter to what was read.
func (s *followUpsScreen) filter() {
	words := strings.Fields(domain.Fold(s.member.Text))
	s.rows = s.rows[:0]
	for _, it := range s.all {
		name := domain.Fold(it.member)
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(name, w) }) {
			s.rows = append(s.rows, it)
		}
	}
	s.count.SetText(s.u.loc.N("followups.count", len(s.rows)))
	s.list.Refresh()
}
