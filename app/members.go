package app

import (
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// membersScreen lists the members, narrowed as the coordinator types and
// by the region, legal form and service filters. The list is a
// widget.List: only the rows on screen exist, whatever the member count.
type membersScreen struct {
	u *UI

	search    *entry
	region    *widget.Select
	legalForm *widget.Select
	service   *widget.Select
	count     *widget.Label
	list      *memberList
	box       fyne.CanvasObject
	columns   *columns

	// codes behind each select's options; index 0 is "all". The region
	// select lists the coordinator's own regions, then « Autres
	// régions… », which brings the others (allRegions).
	regionCodes  []string
	myRegions    []string
	allRegions   bool
	legalForms   []domain.LegalForm
	serviceCodes []string

	rows []store.MemberSummary
}

// memberColumns share the width between name, municipality and region;
// the last visit gets the width of the longest date (dates are never cut).
// The header and every row use the same layout.
var memberColumns = []float32{0.52, 0.22, 0.26, 0}

func (u *UI) newMembersScreen() *membersScreen {
	m := &membersScreen{u: u}
	loc := u.loc

	m.search = u.newEntry()
	m.search.SetPlaceHolder(loc.T("members.search_placeholder"))
	m.search.ActionItem = widget.NewIcon(theme.Icon(theme.IconNameSearch))
	m.search.OnChanged = func(string) { m.refresh() }
	// Down (or Enter) goes from the search to the results, where the
	// arrows move and Enter opens the member.
	m.search.down = func() bool {
		if len(m.rows) == 0 {
			return false
		}
		u.win.Canvas().Focus(m.list)
		return true
	}
	m.search.OnSubmitted = func(string) { m.search.down() }

	if me, err := u.myRegions(); err == nil {
		m.myRegions = me
	}
	m.region = widget.NewSelect(nil, nil)
	m.fillRegions(u.nav.members.Region)

	formNames := []string{loc.T("members.filter.all_legal_forms")}
	m.legalForms = []domain.LegalForm{""}
	for _, f := range domain.LegalForms() {
		formNames = append(formNames, loc.LegalForm(f))
		m.legalForms = append(m.legalForms, f)
	}
	m.legalForm = newFilter(formNames, m.refresh)

	serviceNames := []string{loc.T("members.filter.all_services")}
	m.serviceCodes = []string{""}
	for _, s := range u.services() {
		serviceNames = append(serviceNames, loc.Service(s))
		m.serviceCodes = append(m.serviceCodes, s.ID)
	}
	m.service = newFilter(serviceNames, m.refresh)

	m.count = widget.NewLabel("")
	// The no-match message names the coordinator's regions: it wraps
	// rather than widen the window.
	m.count.Wrapping = fyne.TextWrapWord
	m.columns = &columns{weights: memberColumns, fixed: []float32{0, 0, 0, m.dateWidth()}}
	m.list = newMemberList(u,
		func() int { return len(m.rows) },
		func() fyne.CanvasObject {
			name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			cells := []fyne.CanvasObject{name, widget.NewLabel(""), widget.NewLabel(""), widget.NewLabel("")}
			for _, c := range cells {
				c.(*widget.Label).Truncation = fyne.TextTruncateEllipsis
			}
			return container.New(m.columns, cells...)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(m.rows) {
				return
			}
			r := m.rows[id]
			cells := o.(*fyne.Container).Objects
			setCell(cells[0].(*widget.Label), r.Name)
			setCell(cells[1].(*widget.Label), r.Municipality)
			setCell(cells[2].(*widget.Label), loc.Region(r.Region))
			setCell(cells[3].(*widget.Label), m.lastVisit(r))
		},
	)
	m.list.OnSelected = func(id widget.ListItemID) {
		m.list.UnselectAll()
		if id < len(m.rows) && u.main != nil {
			u.main.showMember(m.rows[id].ID)
		}
	}

	header := container.New(m.columns,
		columnTitle(loc.T("members.column.name")),
		columnTitle(loc.T("members.column.municipality")),
		columnTitle(loc.T("members.column.region")),
		columnTitle(loc.T("members.column.last_visit")))
	filters := container.NewGridWithColumns(3, m.region, m.legalForm, m.service)
	top := container.NewVBox(m.search, filters, m.count, header, widget.NewSeparator())
	m.box = container.NewBorder(top, nil, nil, nil, m.list)
	m.restore(u.nav.members)
	m.refresh()
	return m
}

// membersState is what the list shows, kept across a rebuild of the
// window (a change of language or theme).
type membersState struct {
	Text, Region, Service string
	LegalForm             domain.LegalForm
}

// state reads the search and the filters.
func (m *membersScreen) state() membersState {
	q := m.query()
	return membersState{Text: q.Text, Region: q.Region, LegalForm: q.LegalForm, Service: q.Service}
}

// restore puts a saved search and filters back, before the first search.
func (m *membersScreen) restore(s membersState) {
	m.search.Text = s.Text // no OnChanged: refresh follows
	m.search.Refresh()
	m.legalForm.SetSelectedIndex(max(slices.Index(m.legalForms, s.LegalForm), 0))
	m.service.SetSelectedIndex(max(slices.Index(m.serviceCodes, s.Service), 0))
}

// myRegions are the regions of the coordinator signed in on this device;
// empty for an admin or before the first sign-in.
func (u *UI) myRegions() ([]string, error) {
	if u.st == nil {
		return nil, nil
	}
	me, err := u.st.Me()
	if err != nil {
		return nil, err
	}
	return me.Regions, nil
}

// fillRegions sets the region select's options, selecting code: the
// coordinator's regions, then « Autres régions… » until chosen, then
// the others.
func (m *membersScreen) fillRegions(code string) {
	loc := m.u.loc
	mine := m.myRegions
	if code != "" && !slices.Contains(mine, code) {
		m.allRegions = true
	}
	names := []string{loc.T("members.filter.all_regions")}
	m.regionCodes = []string{""}
	add := func(c string) {
		names = append(names, c+" "+loc.Region(c))
		m.regionCodes = append(m.regionCodes, c)
	}
	for _, c := range mine {
		add(c)
	}
	if len(mine) > 0 && !m.allRegions {
		names = append(names, loc.T("members.filter.other_regions"))
		m.regionCodes = append(m.regionCodes, otherRegions)
	}
	if len(mine) == 0 || m.allRegions {
		for _, r := range domain.Regions() {
			if !slices.Contains(mine, r.Code) {
				add(r.Code)
			}
		}
	}
	m.region.OnChanged = nil
	m.region.Options = names
	m.region.SetSelectedIndex(max(slices.Index(m.regionCodes, code), 0))
	m.region.OnChanged = func(string) {
		if m.regionCodes[m.region.SelectedIndex()] == otherRegions {
			// « Autres régions… » is not a filter: it brings the other
			// regions into the list and opens it again.
			m.allRegions = true
			m.fillRegions("")
			m.refresh()
			return
		}
		m.refresh()
	}
}

// otherRegions is the code behind « Autres régions… ».
const otherRegions = "…"

// setCell shows text in a table cell, with an ellipsis only when it does
// not fit: Fyne shapes the whole text again for every ellipsis, which made
// truncation most of the cost of a keystroke with 20,000 members.
func setCell(l *widget.Label, text string) {
	room := l.Size().Width - 2*theme.InnerPadding()
	trunc := fyne.TextTruncateEllipsis
	if room > 0 && fyne.MeasureText(text, theme.TextSize(), l.TextStyle).Width <= room {
		trunc = fyne.TextTruncateOff
	}
	if l.Text == text && l.Truncation == trunc {
		return
	}
	l.Truncation = trunc
	l.SetText(text)
}

func columnTitle(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// services is the catalog, or the built-in one when the store has none.
func (u *UI) services() []domain.Service {
	if u.st != nil {
		if s, err := u.st.Services(); err == nil && len(s) > 0 {
			return s
		}
	}
	return domain.DefaultServices()
}

// serviceName names a service by id in the current language.
func (u *UI) serviceName(id string) string {
	for _, s := range u.services() {
		if s.ID == id {
			return u.loc.Service(s)
		}
	}
	return id
}

// newFilter is a select whose first option means "no filter".
func newFilter(options []string, changed func()) *widget.Select {
	s := widget.NewSelect(options, func(string) { changed() })
	s.SetSelectedIndex(0)
	return s
}

// dateWidth fits the longest last-visit text of the language: a date in
// the month with the longest name, "never visited", or the header.
func (m *membersScreen) dateWidth() float32 {
	loc := m.u.loc
	texts := []string{loc.T("members.never_visited"), loc.T("members.column.last_visit")}
	for month := time.January; month <= time.December; month++ {
		texts = append(texts, loc.Date(domain.NewDate(2026, month, 28)))
	}
	w := float32(0)
	for _, t := range texts {
		w = max(w, fyne.MeasureText(t, theme.TextSize(), fyne.TextStyle{}).Width)
	}
	return w + 2*theme.InnerPadding() + theme.Padding()
}

func (m *membersScreen) lastVisit(s store.MemberSummary) string {
	if s.LastVisit.IsZero() {
		return m.u.loc.T("members.never_visited")
	}
	return m.u.loc.Date(s.LastVisit)
}

func (m *membersScreen) content() fyne.CanvasObject { return m.box }

// query reads the widgets into a store query.
func (m *membersScreen) query() store.MemberQuery {
	q := store.MemberQuery{Text: m.search.Text}
	if i := m.region.SelectedIndex(); i > 0 && m.regionCodes[i] != otherRegions {
		q.Region = m.regionCodes[i]
	}
	if i := m.legalForm.SelectedIndex(); i > 0 {
		q.LegalForm = m.legalForms[i]
	}
	if i := m.service.SelectedIndex(); i > 0 {
		q.Service = m.serviceCodes[i]
	}
	return q
}

// refresh runs the search on the UI goroutine: the store answers from an
// in-memory index in a few milliseconds even with 20,000 members, so there
// is nothing to gain from a goroutine and a race to lose. A new query
// starts at the top of the list.
func (m *membersScreen) refresh() { m.run(true) }

// reload runs the same query again after the data changed (a save, a
// sync), leaving the list where the coordinator scrolled it.
func (m *membersScreen) reload() { m.run(false) }

func (m *membersScreen) run(top bool) {
	if m.list == nil || m.count == nil || m.u.st == nil { // selects fire while being built
		return
	}
	rows, err := m.u.st.SearchMembers(m.query())
	if err != nil {
		m.rows = nil
		m.count.SetText(m.u.errorText(err))
		m.list.Refresh()
		return
	}
	m.rows = rows
	switch {
	case len(rows) == 0 && m.search.Text != "" && len(m.myRegions) > 0:
		// This device holds the members of the coordinator's regions
		// only: a member elsewhere is not missing, just not here.
		var names []string
		for _, c := range m.myRegions {
			names = append(names, m.u.loc.Region(c))
		}
		m.count.SetText(m.u.loc.T("members.no_match_regions", map[string]any{"Query": m.search.Text,
			"Regions": strings.Join(names, ", ")}))
	case len(rows) == 0 && m.search.Text != "":
		m.count.SetText(m.u.loc.T("members.no_match", map[string]any{"Query": m.search.Text}))
	case len(rows) == 0 && m.u.st.CountMembers() == 0:
		m.count.SetText(m.u.loc.T("members.empty"))
	default:
		m.count.SetText(m.u.loc.N("members.count", len(rows)))
	}
	m.list.Refresh()
	if top {
		m.list.ScrollToTop()
	}
}

// hint replaces the count line with a piece of advice until the next
// search.
func (m *membersScreen) hint(text string) { m.count.SetText(text) }

// columns lays its objects side by side: those with a fixed width get it,
// the others share the rest by weight. A row's columns line up with the
// header's.
type columns struct {
	weights []float32
	fixed   []float32 // 0 for a weighted column; may be nil
}

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	avail := size.Width - pad*float32(len(objs)-1)
	for i := range objs {
		if i < len(c.fixed) {
			avail -= c.fixed[i]
		}
	}
	x := float32(0)
	for i, o := range objs {
		w := max(avail, 0) * c.weights[i]
		if i < len(c.fixed) && c.fixed[i] > 0 {
			w = c.fixed[i]
		}
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w + pad
	}
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h, w := float32(0), float32(len(objs))*40
	for i, o := range objs {
		h = max(h, o.MinSize().Height)
		if i < len(c.fixed) {
			w += c.fixed[i]
		}
	}
	return fyne.NewSize(w, h)
}

// memberList is the members' widget.List, where Enter opens the member
// under the keyboard focus (Fyne's list takes Space only) and Escape or
// F1 reach the window.
type memberList struct {
	widget.List
	u *UI
}

func newMemberList(u *UI, length func() int, create func() fyne.CanvasObject,
	update func(widget.ListItemID, fyne.CanvasObject)) *memberList {
	l := &memberList{u: u}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

func (l *memberList) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		l.List.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	case fyne.KeyEscape, fyne.KeyF1:
		if !l.u.typedKey(ev) && ev.Name == fyne.KeyEscape && l.u.members != nil {
			l.u.win.Canvas().Focus(l.u.members.search)
		}
	default:
		l.List.TypedKey(ev)
	}
}
