package app

import (
	"errors"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// maxHistory bounds the visits drawn in a member's history; older ones
// are counted, not shown.
const maxHistory = 100

// memberDetail is one member: profile, main contact, services, visit
// history, open follow-ups, and the way to a new visit.
type memberDetail struct {
	u      *UI
	id     string
	member domain.Member
	visits []domain.Visit
	open   []domain.FollowUp
	err    error
	box    *fyne.Container

	history *fyne.Container // one block per visit, newest first
}

func (u *UI) newMemberDetail(id string) *memberDetail {
	d := &memberDetail{u: u, id: id, box: container.NewStack()}
	d.reload()
	return d
}

func (d *memberDetail) content() fyne.CanvasObject { return d.box }

// reload reads the member again and redraws.
func (d *memberDetail) reload() {
	d.err = nil
	m, err := d.u.st.Member(d.id)
	if err == nil {
		d.member = m
		d.visits, err = d.u.st.VisitsOfMember(d.id, 0)
	}
	if err == nil {
		d.open, err = d.u.st.FollowUps(store.FollowUpFilter{MemberID: d.id})
	}
	d.err = err
	d.box.Objects = []fyne.CanvasObject{d.build()}
	d.box.Refresh()
}

func (d *memberDetail) build() fyne.CanvasObject {
	u, loc := d.u, d.u.loc
	back := widget.NewButtonWithIcon(loc.T("nav.members"), theme.Icon(theme.IconNameNavigateBack), func() { u.main.showList() })
	back.Importance = widget.LowImportance
	if d.err != nil {
		return container.NewBorder(container.NewHBox(back), nil, nil, nil, wrapped(u.errorText(d.err)))
	}
	m := d.member
	newVisit := widget.NewButtonWithIcon(loc.T("member.new_visit"), theme.Icon(theme.IconNameContentAdd), func() {
		u.main.openVisitForm(d.id, nil)
	})
	newVisit.Importance = widget.HighImportance
	edit := widget.NewButtonWithIcon(loc.T("member.edit_contact"), theme.Icon(theme.IconNameDocumentCreate), d.editContact)
	title := heading(m.Name)
	subtitle := widget.NewLabel(loc.LegalForm(m.LegalForm) + " · " + m.Municipality + " · " + loc.Region(m.Region))
	subtitle.Wrapping = fyne.TextWrapWord
	top := container.NewVBox(
		container.NewBorder(nil, nil, back, container.NewHBox(d.sheetButton(), edit, newVisit)),
		title, subtitle,
	)

	profile := widget.NewForm(
		d.row("field.legal_form", loc.LegalForm(m.LegalForm)),
		d.row("member.neq", m.NEQ),
		d.row("field.address", joinNonEmpty(", ", m.Address, m.Municipality, m.PostalCode)),
		d.row("field.region", loc.Region(m.Region)),
		d.row("field.phone", m.Phone),
		d.address("field.email", m.Email),
		d.address("field.website", m.Website),
		d.row("field.member_since", loc.Date(m.MemberSince)),
		d.row("field.status", loc.MemberStatus(m.Status)),
	)
	contact := widget.NewForm(
		d.row("field.name", m.ContactName),
		d.row("member.contact_role", m.ContactRole),
		d.row("field.phone", m.ContactPhone),
		d.address("field.email", m.ContactEmail),
	)
	var services fyne.CanvasObject = widget.NewLabel(loc.T("member.no_services"))
	if len(m.Services) > 0 {
		box := container.NewVBox()
		for _, id := range m.Services {
			box.Add(widget.NewLabel("• " + u.serviceName(id)))
		}
		services = box
	}
	left := section(loc.T("member.profile"), "", profile)
	right := container.NewVBox(
		section(loc.T("member.main_contact"), "", contact),
		section(loc.T("field.services"), "", services),
	)
	// The profile holds the longer values (addresses, web sites); in a
	// narrow window the cards go one under the other, so that they keep
	// the whole width.
	cards := container.New(&adaptiveColumns{columns: columns{weights: []float32{0.56, 0.44}}, breakAt: detailBreak}, left, right)
	if m.Notes != "" {
		cards = container.NewVBox(cards, section(loc.T("field.notes"), "", wrapped(m.Notes)))
	}

	d.history = container.NewVBox()
	d.fillHistory()
	followUps := container.NewVBox()
	if len(d.open) == 0 {
		followUps.Add(widget.NewLabel(loc.T("member.no_open_followups")))
	}
	for _, f := range d.open {
		followUps.Add(d.followUpRow(f))
	}
	body := container.NewVBox(
		cards,
		section(loc.T("member.open_followups", map[string]any{"N": len(d.open)}), "", followUps),
		section(loc.T("member.history"), loc.N("visits.count", len(d.visits)), d.history),
	)
	return container.NewBorder(top, nil, nil, nil, container.NewVScroll(body))
}

// row is one line of a read-only form; an empty value shows a dash.
func (d *memberDetail) row(labelID, value string) *widget.FormItem {
	if value == "" {
		value = "—"
	}
	return widget.NewFormItem(d.u.loc.T(labelID), selectable(value))
}

// address is a row whose value is an e-mail or web address: never broken
// across lines (a break inside an address misleads), cut with an ellipsis
// only if the window is too narrow even for the one-column layout.
func (d *memberDetail) address(labelID, value string) *widget.FormItem {
	item := d.row(labelID, value)
	l := item.Widget.(*widget.Label)
	l.Wrapping = fyne.TextWrapOff
	l.Truncation = fyne.TextTruncateEllipsis
	return item
}

// detailBreak is the width under which the member's cards stack: at
// 1024×640 the two columns left e-mail and web addresses too little room.
const detailBreak = 960

// adaptiveColumns lays its objects out as columns, or one under the
// other when narrower than breakAt.
type adaptiveColumns struct {
	columns
	breakAt float32
	narrow  bool
}

func (a *adaptiveColumns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	a.narrow = size.Width < a.breakAt
	if !a.narrow {
		a.columns.Layout(objs, size)
		return
	}
	y := float32(0)
	for _, o := range objs {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h + theme.Padding()
	}
}

func (a *adaptiveColumns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if !a.narrow {
		return a.columns.MinSize(objs)
	}
	var s fyne.Size
	for i, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height
		if i > 0 {
			s.Height += theme.Padding()
		}
	}
	return s
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func (d *memberDetail) fillHistory() {
	loc := d.u.loc
	d.history.RemoveAll()
	if len(d.visits) == 0 {
		d.history.Add(widget.NewLabel(loc.T("member.no_visits")))
		return
	}
	for i, v := range d.visits {
		if i == maxHistory {
			d.history.Add(widget.NewLabel(loc.N("member.more_visits", len(d.visits)-maxHistory)))
			break
		}
		if i > 0 {
			d.history.Add(widget.NewSeparator())
		}
		d.history.Add(d.historyEntry(v))
	}
}

// visitSummary is one visit of a history: when, how, who, what.
func (u *UI) visitSummary(v domain.Visit) fyne.CanvasObject {
	loc := u.loc
	head := widget.NewLabelWithStyle(
		loc.Date(v.Date)+" · "+loc.VisitMode(v.Mode)+" · "+loc.N("visit.minutes", v.DurationMinutes),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	box := container.NewVBox(head)
	if v.PeopleMet != "" {
		box.Add(wrapped(loc.T("visit.summary.people", map[string]any{"People": v.PeopleMet})))
	}
	if len(v.ServicesDiscussed) > 0 {
		names := make([]string, len(v.ServicesDiscussed))
		for i, id := range v.ServicesDiscussed {
			names[i] = u.serviceName(id)
		}
		box.Add(wrapped(loc.T("visit.summary.services", map[string]any{"Services": strings.Join(names, ", ")})))
	}
	if v.Notes != "" {
		box.Add(wrapped(v.Notes))
	}
	if v.Needs != "" {
		box.Add(wrapped(loc.T("visit.summary.needs", map[string]any{"Needs": v.Needs})))
	}
	if !v.NextVisit.IsZero() {
		box.Add(widget.NewLabel(loc.T("visit.summary.next", map[string]any{"Date": loc.Date(v.NextVisit)})))
	}
	return box
}

// followUpRow is an open follow-up with its "done" button.
func (d *memberDetail) followUpRow(f domain.FollowUp) fyne.CanvasObject {
	u := d.u
	desc := wrapped(f.Description)
	info := widget.NewLabel(u.followUpInfo(f, ""))
	info.Wrapping = fyne.TextWrapWord
	if f.Overdue(u.today()) {
		info.Importance = widget.DangerImportance
	}
	done := widget.NewButtonWithIcon(u.loc.T("followups.mark_done"), theme.Icon(theme.IconNameConfirm), func() {
		u.markDone(f)
	})
	return container.NewBorder(nil, nil, nil, container.NewVBox(done), container.NewVBox(desc, info))
}

// followUpInfo is the second line of a follow-up: service, due date and
// state, with the member's name when given.
func (u *UI) followUpInfo(f domain.FollowUp, memberName string) string {
	return u.followUpWho(f, memberName) + " · " + u.followUpWhen(f)
}

// followUpWho names the member (when given), the service and, for one
// under way, its state.
func (u *UI) followUpWho(f domain.FollowUp, memberName string) string {
	parts := []string{}
	if memberName != "" {
		parts = append(parts, memberName)
	}
	parts = append(parts, u.serviceName(f.ServiceID))
	if f.Status == domain.FollowUpInProgress {
		parts = append(parts, u.loc.FollowUpStatus(f.Status))
	}
	return strings.Join(parts, " · ")
}

// followUpWhen is where a follow-up stands in time: done on a day by
// someone, overdue since, or due on a day.
func (u *UI) followUpWhen(f domain.FollowUp) string {
	loc := u.loc
	switch {
	case f.Status == domain.FollowUpDone && !f.DoneOn.IsZero() && f.DoneBy != "":
		return loc.T("followups.done_by", map[string]any{"Date": loc.Date(f.DoneOn), "Name": f.DoneBy})
	case f.Status == domain.FollowUpDone && !f.DoneOn.IsZero():
		return loc.T("followups.done_on", map[string]any{"Date": loc.Date(f.DoneOn)})
	case f.Status == domain.FollowUpDone:
		return loc.FollowUpStatus(f.Status)
	case f.Overdue(u.today()):
		return loc.T("followups.overdue_since", map[string]any{"Date": loc.Date(f.Due)})
	case !f.Due.IsZero():
		return loc.T("followups.due", map[string]any{"Date": loc.Date(f.Due)})
	}
	return loc.FollowUpStatus(f.Status)
}

// editContact lets the coordinator correct the member's contact details,
// offline: the change waits in the outbox like any other.
func (d *memberDetail) editContact() {
	u := d.u
	m := d.member
	type binding struct {
		field *formField
		e     *entry
		value *string
	}
	var binds []binding
	var recheck func()
	add := func(name string, value *string) *widget.FormItem {
		e := u.newEntry()
		e.SetText(*value)
		e.OnChanged = func(string) { recheck() }
		f := newFormField(name, e)
		binds = append(binds, binding{f, e, value})
		return f.item(u)
	}
	items := []*widget.FormItem{
		add("phone", &m.Phone),
		add("email", &m.Email),
		add("website", &m.Website),
		add("address", &m.Address),
		add("postal_code", &m.PostalCode),
		add("contact_name", &m.ContactName),
		add("contact_role", &m.ContactRole),
		add("contact_phone", &m.ContactPhone),
		add("contact_email", &m.ContactEmail),
	}
	msg := newMessage()
	// typed is the member with what the dialog holds.
	typed := func() domain.Member {
		next := d.member
		copyVals := []*string{&next.Phone, &next.Email, &next.Website, &next.Address, &next.PostalCode,
			&next.ContactName, &next.ContactRole, &next.ContactPhone, &next.ContactEmail}
		for i, b := range binds {
			*copyVals[i] = b.e.Text
		}
		return next
	}
	// recheck takes away the message of each field fixed since the last
	// save; it adds none while typing.
	recheck = func() {
		if !slices.ContainsFunc(binds, func(b binding) bool { return b.field.err.Text != "" }) {
			return
		}
		next := typed()
		next.Normalize()
		var ve *domain.ValidationError
		errors.As(next.Validate(u.today()), &ve)
		for _, b := range binds {
			if b.field.err.Text == "" {
				continue
			}
			if ve == nil {
				b.field.setError("")
			} else if _, still := ve.For(b.field.name); !still {
				b.field.setError("")
			}
		}
	}
	form := widget.NewForm(items...)
	content := sized(container.NewVBox(form, msg), 560)

	var dlg dialog.Dialog
	save := func() {
		fields := make([]*formField, len(binds))
		for i, b := range binds {
			fields[i] = b.field
		}
		next := typed()
		if err := u.st.SaveMember(next); err != nil {
			msg.SetText(u.showFieldErrors(fields, err))
			return
		}
		dlg.Hide()
		u.main.localChange()
		d.reload()
	}
	dlg = newFormDialog(u, u.loc.T("member.edit_contact_title", map[string]any{"Name": m.Name}),
		u.loc.T("form.save"), container.NewVScroll(content), func(dialog.Dialog) { save() })
	u.showDialog(dlg, save)
	dlg.Resize(fyne.NewSize(640, min(u.win.Canvas().Size().Height-40, 640)))
	if len(binds) > 0 {
		u.win.Canvas().Focus(binds[0].e)
	}
}
