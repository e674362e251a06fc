package app

import (
	"fmt"
	"image/color"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// dashboardRows is how many members and follow-ups each list shows; the
// rest are counted.
const dashboardRows = 8

// notVisitedMonths is how long without a visit puts a member on the list.
const notVisitedMonths = 6

// dashboardScreen shows the activity: visits per month over the last 12
// months and per region, the members not visited for 6 months, and the
// overdue follow-ups.
type dashboardScreen struct {
	u     *UI
	box   *fyne.Container
	loads int
	// allRegions shows every region, not only the coordinator's own and
	// those with visits.
	allRegions bool
}

// dashboardData is everything the dashboard shows, read in one go.
type dashboardData struct {
	counts     store.VisitCounts
	notVisited []store.MemberSummary
	overdue    []domain.FollowUp
	names      map[string]string
}

func (u *UI) newDashboardScreen() *dashboardScreen {
	return &dashboardScreen{u: u, box: container.NewStack(widget.NewLabel(u.loc.T("dashboard.loading")))}
}

func (s *dashboardScreen) content() fyne.CanvasObject { return s.box }

// refresh reads the figures off the Fyne goroutine: counting a year of
// visits reads many keys with the large data set.
func (s *dashboardScreen) refresh() {
	st := s.u.st
	if st == nil {
		return
	}
	s.loads++
	load := s.loads
	today := s.u.today()
	go func() {
		data, err := readDashboard(st, today)
		s.u.do(func() {
			if load != s.loads {
				return
			}
			if err != nil {
				s.box.Objects = []fyne.CanvasObject{wrapped(s.u.errorText(err))}
			} else {
				s.box.Objects = []fyne.CanvasObject{s.build(data)}
			}
			s.box.Refresh()
		})
	}()
}

func readDashboard(st *store.Store, today domain.Date) (dashboardData, error) {
	var d dashboardData
	var err error
	d.counts, err = st.CountVisits(monthsBack(today, 11), today)
	if err != nil {
		return d, err
	}
	since := domain.DateOf(today.Time().AddDate(0, -notVisitedMonths, 0))
	if d.notVisited, err = st.MembersNotVisitedSince(since); err != nil {
		return d, err
	}
	if d.overdue, err = st.FollowUps(store.FollowUpFilter{OverdueOnly: true}); err != nil {
		return d, err
	}
	members, err := st.SearchMembers(store.MemberQuery{})
	if err != nil {
		return d, err
	}
	d.names = make(map[string]string, len(members))
	for _, m := range members {
		d.names[m.ID] = m.Name
	}
	return d, nil
}

func (s *dashboardScreen) build(d dashboardData) fyne.CanvasObject {
	u, loc := s.u, s.u.loc

	months := make([]bar, len(d.counts.Months))
	for i, m := range d.counts.Months {
		months[i] = bar{label: loc.T(fmt.Sprintf("date.month_short.%02d", int(m.Month))), value: m.Visits}
	}
	monthCard := section(loc.T("dashboard.per_month"), loc.N("dashboard.visits_total", d.counts.Total),
		s.columnChart(months))

	// A coordinator of four regions sees those four; the others come on
	// demand (13 regions at zero said nothing).
	mine, _ := u.myRegions()
	var regions []bar
	hidden := 0
	for _, r := range domain.Regions() {
		n := d.counts.ByRegion[r.Code]
		if !s.allRegions && len(mine) > 0 && !slices.Contains(mine, r.Code) {
			hidden++
			continue
		}
		regions = append(regions, bar{label: loc.Region(r.Code), value: n})
	}
	var regionBody fyne.CanvasObject = s.rowChart(regions)
	if hidden > 0 {
		more := widget.NewButton(loc.N("dashboard.other_regions", hidden), func() {
			s.allRegions = true
			s.refresh()
		})
		more.Importance = widget.LowImportance
		regionBody = container.NewVBox(regionBody, container.NewHBox(more))
	}
	regionCard := section(loc.T("dashboard.per_region"), loc.T("dashboard.last_12_months"), regionBody)

	notVisited := container.NewVBox()
	for i, m := range d.notVisited {
		if i == dashboardRows {
			break
		}
		last := loc.T("members.never_visited")
		if !m.LastVisit.IsZero() {
			last = loc.Date(m.LastVisit)
		}
		id := m.ID
		notVisited.Add(linkRow(m.Name, loc.Region(m.Region)+" · "+last, func() { u.main.openMember(id) }))
	}
	if len(d.notVisited) == 0 {
		notVisited.Add(widget.NewLabel(loc.T("dashboard.all_visited")))
	} else if len(d.notVisited) > dashboardRows {
		notVisited.Add(widget.NewLabel(loc.N("dashboard.more_members", len(d.notVisited)-dashboardRows)))
	}
	notVisitedCard := section(loc.T("dashboard.not_visited", map[string]any{"Months": notVisitedMonths}),
		loc.N("members.count", len(d.notVisited)), notVisited)

	overdue := container.NewVBox()
	for i, f := range d.overdue {
		if i == dashboardRows {
			break
		}
		id := f.MemberID
		info := d.names[f.MemberID] + " · " + loc.T("followups.overdue_since", map[string]any{"Date": loc.Date(f.Due)})
		overdue.Add(linkRow(f.Description, info, func() { u.main.openMember(id) }))
	}
	if len(d.overdue) == 0 {
		overdue.Add(widget.NewLabel(loc.T("dashboard.no_overdue")))
	} else {
		all := widget.NewButton(loc.T("dashboard.see_overdue"), func() {
			u.main.tabs.SelectIndex(tabFollowUps)
			u.main.followUps.showOverdue()
		})
		overdue.Add(container.NewHBox(all))
	}
	overdueCard := section(loc.T("dashboard.overdue"), loc.N("followups.count", len(d.overdue)), overdue)

	lower := container.NewGridWithColumns(2, regionCard, container.NewVBox(notVisitedCard, overdueCard))
	return container.NewVScroll(container.NewVBox(monthCard, lower))
}

// linkRow is a two-line entry of a dashboard list that opens something
// when tapped.
func linkRow(title, detail string, open func()) fyne.CanvasObject {
	b := widget.NewButton(title, open)
	b.Alignment = widget.ButtonAlignLeading
	b.Importance = widget.LowImportance
	l := widget.NewLabel(detail)
	l.Truncation = fyne.TextTruncateEllipsis
	return container.New(layout.NewCustomPaddedVBoxLayout(0), truncatedButton(b), l)
}

// truncatedButton keeps a long title from widening its card.
func truncatedButton(b *widget.Button) fyne.CanvasObject {
	return container.New(&shrink{}, b)
}

// shrink lets its object be as narrow as the space given: a button's text
// is clipped instead of pushing the layout wider.
type shrink struct{}

func (shrink) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (shrink) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(0, h)
}

// bar is one value of a chart.
type bar struct {
	label string
	value int
}

func maxValue(bars []bar) int {
	m := 0
	for _, b := range bars {
		m = max(m, b.value)
	}
	return m
}

func (s *dashboardScreen) barColor() color.Color {
	return s.u.app.Settings().Theme().Color(theme.ColorNamePrimary, s.u.app.Settings().ThemeVariant())
}

// columnChart draws vertical bars with their value above and their label
// under, from rectangles and labels.
func (s *dashboardScreen) columnChart(bars []bar) fyne.CanvasObject {
	top := maxValue(bars)
	cols := make([]fyne.CanvasObject, len(bars))
	for i, b := range bars {
		rect := canvas.NewRectangle(s.barColor())
		value := widget.NewLabelWithStyle(s.u.loc.Number(float64(b.value), 0), fyne.TextAlignCenter, fyne.TextStyle{})
		label := widget.NewLabelWithStyle(b.label, fyne.TextAlignCenter, fyne.TextStyle{})
		area := container.New(&barLayout{frac: fraction(b.value, top), vertical: true, min: 140}, rect)
		cols[i] = container.NewBorder(value, label, nil, nil, area)
	}
	return container.NewGridWithColumns(len(bars), cols...)
}

// rowChart draws horizontal bars, one row per label.
func (s *dashboardScreen) rowChart(bars []bar) fyne.CanvasObject {
	top := maxValue(bars)
	rows := container.New(layout.NewCustomPaddedVBoxLayout(0))
	for _, b := range bars {
		rect := canvas.NewRectangle(s.barColor())
		name := widget.NewLabel(b.label)
		name.Truncation = fyne.TextTruncateEllipsis
		value := widget.NewLabel(s.u.loc.Number(float64(b.value), 0))
		area := container.New(&barLayout{frac: fraction(b.value, top)}, rect)
		rows.Add(container.New(&columns{weights: []float32{0.5, 0.38, 0.12}}, name, area, value))
	}
	return rows
}

func fraction(v, top int) float32 {
	if top == 0 {
		return 0
	}
	return float32(v) / float32(top)
}

// barLayout sizes its rectangle to frac of the space: the height from the
// bottom when vertical, else the width from the left, centred across.
type barLayout struct {
	frac     float32
	vertical bool
	min      float32
}

func (l *barLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		if l.vertical {
			w := size.Width * 0.6
			h := size.Height * l.frac
			o.Move(fyne.NewPos((size.Width-w)/2, size.Height-h))
			o.Resize(fyne.NewSize(w, h))
			continue
		}
		h := size.Height * 0.6
		o.Move(fyne.NewPos(0, (size.Height-h)/2))
		o.Resize(fyne.NewSize(size.Width*l.frac, h))
	}
}

func (l *barLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	if l.vertical {
		return fyne.NewSize(8, l.min)
	}
	return fyne.NewSize(20, 8)
}
