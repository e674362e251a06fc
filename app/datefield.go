package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
)

// dateField is a day typed as YYYY-MM-DD (ISO 8601, the Québec norm for
// numeric dates, the same in both languages) or picked from a calendar.
// Fyne's DateEntry follows the system locale and Fyne's own translations,
// which cannot switch at run time; this one speaks through locales.
type dateField struct {
	widget.BaseWidget
	u      *UI
	entry  *entry
	button *widget.Button
	// OnChanged is called after every change, typed or picked.
	OnChanged func()
}

func (u *UI) newDateField() *dateField {
	f := &dateField{u: u, entry: u.newEntry()}
	f.entry.SetPlaceHolder(u.loc.T("date.placeholder"))
	f.entry.OnChanged = func(string) {
		if f.OnChanged != nil {
			f.OnChanged()
		}
	}
	f.button = widget.NewButtonWithIcon("", theme.Icon(theme.IconNameCalendar), f.openCalendar)
	f.button.Importance = widget.LowImportance
	f.ExtendBaseWidget(f)
	return f
}

// CreateRenderer puts the calendar button after the entry, so Tab reaches
// the entry first.
func (f *dateField) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, nil, f.button, f.entry))
}

// Text is what the field holds, as typed.
func (f *dateField) Text() string { return strings.TrimSpace(f.entry.Text) }

// SetText replaces the typed text (restoring a draft).
func (f *dateField) SetText(s string) { f.entry.SetText(s) }

// SetDate shows d; the zero Date empties the field.
func (f *dateField) SetDate(d domain.Date) { f.entry.SetText(d.String()) }

// Date parses the field: the zero Date when empty, ok false when the text
// is not a day.
func (f *dateField) Date() (d domain.Date, ok bool) {
	d, err := domain.ParseDate(f.Text())
	return d, err == nil
}

// check parses the field for a form: the day, or the error to show under
// field, which tells a day the calendar lacks (2026-02-30: "that month has
// 28 days") from text that is no date.
func (f *dateField) check(field string) (domain.Date, *domain.FieldError) {
	d, err := domain.ParseDate(f.Text())
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, domain.ErrNoSuchDay):
		// ParseDate says so only of text shaped YYYY-MM-DD.
		t := f.Text()
		y, err1 := strconv.Atoi(t[:4])
		m, err2 := strconv.Atoi(t[5:7])
		if err1 == nil && err2 == nil {
			return domain.Date{}, &domain.FieldError{Field: field, Code: codeNoSuchDay, Max: domain.DaysIn(y, time.Month(m))}
		}
	}
	return domain.Date{}, &domain.FieldError{Field: field, Code: codeDateFormat}
}

func (f *dateField) openCalendar() {
	shown, ok := f.Date()
	if !ok || shown.IsZero() {
		shown = f.u.today()
	}
	cal := &calendar{u: f.u, month: domain.NewDate(shown.Year, shown.Month, 1), picked: f.pick}
	if d, ok := f.Date(); ok {
		cal.selected = d
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(f)
	if c == nil {
		return
	}
	pop := widget.NewPopUp(cal.build(), c)
	cal.pop = pop
	f.u.popUp = pop
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(f)
	pop.ShowAtPosition(pos.Add(fyne.NewPos(0, f.Size().Height)))
}

func (f *dateField) pick(d domain.Date) {
	f.SetDate(d)
	f.u.win.Canvas().Focus(f.entry)
}

// calendar is the month grid shown under a date field.
type calendar struct {
	u        *UI
	month    domain.Date // first day of the month shown
	selected domain.Date
	picked   func(domain.Date)
	pop      *widget.PopUp
	box      *fyne.Container
}

func (c *calendar) build() fyne.CanvasObject {
	c.box = container.NewVBox()
	c.fill()
	return c.box
}

// fill lays out the month: a header with the month's name and arrows, the
// days of the week from Sunday (the Canadian calendar), then the days.
func (c *calendar) fill() {
	loc := c.u.loc
	title := widget.NewLabelWithStyle(loc.T("date.month_year", map[string]any{
		"Month": loc.T(fmt.Sprintf("date.month.%02d", int(c.month.Month))),
		"Year":  strconv.Itoa(c.month.Year),
	}), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	prev := widget.NewButtonWithIcon("", theme.Icon(theme.IconNameNavigateBack), func() { c.shift(-1) })
	next := widget.NewButtonWithIcon("", theme.Icon(theme.IconNameNavigateNext), func() { c.shift(1) })
	prev.Importance, next.Importance = widget.LowImportance, widget.LowImportance
	header := container.NewBorder(nil, nil, prev, next, title)

	grid := container.NewGridWithColumns(7)
	for wd := range 7 {
		grid.Add(widget.NewLabelWithStyle(loc.T(fmt.Sprintf("date.weekday_short.%d", wd)), fyne.TextAlignCenter, fyne.TextStyle{}))
	}
	first := c.month.Time()
	for range int(first.Weekday()) {
		grid.Add(layout.NewSpacer())
	}
	today := c.u.today()
	for t := first; t.Month() == first.Month(); t = t.AddDate(0, 0, 1) {
		d := domain.DateOf(t)
		b := widget.NewButton(strconv.Itoa(t.Day()), func() {
			c.pop.Hide()
			c.u.popUp = nil
			c.picked(d)
		})
		switch {
		case d == c.selected:
			b.Importance = widget.HighImportance
		case d == today:
			b.Importance = widget.MediumImportance
		default:
			b.Importance = widget.LowImportance
		}
		grid.Add(b)
	}
	c.box.Objects = []fyne.CanvasObject{header, grid}
	c.box.Refresh()
}

func (c *calendar) shift(months int) {
	c.month = domain.DateOf(c.month.Time().AddDate(0, months, 0))
	c.fill()
	if c.pop != nil {
		c.pop.Resize(c.pop.MinSize())
	}
}

// monthsBack returns the first day of the month n months before d's.
func monthsBack(d domain.Date, n int) domain.Date {
	return domain.DateOf(time.Date(d.Year, d.Month-time.Month(n), 1, 0, 0, 0, 0, time.UTC))
}
