package app

import (
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
	list      *widget.List
	box       fyne.CanvasObject
	columns   *columns

	// codes behind each select's options; index 0 is "all".
	regionCodes  []string
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

	regionNames := []string{loc.T("members.filter.all_regions")}
	m.regionCodes = []string{""}
	for _, r := range domain.Regions() {
		regionNames = append(regionNames, r.Code+" "+loc.Region(r.Code))
		m.regionCodes = append(m.regionCodes, r.Code)
	}
	m.region = newFilter(regionNames, m.refresh)

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
	m.columns = &columns{weights: memberColumns, fixed: []float32{0, 0, 0, m.dateWidth()}}
	m.list = widget.NewList(
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
	m.refresh()
	return m
}

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
	if i := m.region.SelectedIndex(); i > 0 {
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
