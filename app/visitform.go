package app

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// defaultDuration is what a visit usually lasts, in minutes.
const defaultDuration = 60

// Messages for what does not parse: the domain never sees such text, so
// it has no code for it.
const (
	codeDateFormat     = "form.date_invalid"
	codeNoSuchDay      = "form.date_no_such_day" // Max: the days of that month
	codeDurationFormat = "form.duration_invalid"
)

// visitForm records a visit and the follow-ups promised during it, or
// corrects a saved visit of its author (editing). What is typed is never
// cleared by a failed save, and is kept as a draft in the store a moment
// after every change.
type visitForm struct {
	u       *UI
	member  domain.Member
	visitID string
	// editing is the saved visit being corrected; nil for a new visit.
	editing *domain.Visit

	date     *dateField
	duration *entry
	mode     *widget.RadioGroup
	people   *entry
	services []*widget.Check
	notes    *entry
	needs    *entry
	next     *dateField

	fields    []*formField
	followUps []*followUpRow
	fuBox     *fyne.Container
	fuHead    fyne.CanvasObject // the column headings of the follow-ups
	msg       *message
	box       fyne.CanvasObject
	scroll    *container.Scroll

	serviceIDs []string
	modes      []domain.VisitMode
	initial    visitDraft // the untouched form: what "dirty" compares with
	loading    bool       // filling the widgets: no draft writes
}

// followUpRow is one follow-up to create with the visit.
type followUpRow struct {
	id          string
	service     *widget.Select
	description *entry
	due         *dateField
	err         *message
	box         *fyne.Container
}

func (u *UI) newVisitForm(memberID string, d *visitDraft) (*visitForm, error) {
	m, err := u.st.Member(memberID)
	if err != nil {
		return nil, err
	}
	f := &visitForm{u: u, member: m, msg: newMessage(), loading: true}
	loc := u.loc
	for _, s := range u.services() {
		f.serviceIDs = append(f.serviceIDs, s.ID)
		c := widget.NewCheck(loc.Service(s), func(bool) { f.changed() })
		f.services = append(f.services, c)
	}
	f.modes = domain.VisitModes()
	modeNames := make([]string, len(f.modes))
	for i, md := range f.modes {
		modeNames[i] = loc.VisitMode(md)
	}
	f.date = u.newDateField()
	f.duration = u.newEntry()
	f.mode = widget.NewRadioGroup(modeNames, func(string) { f.changed() })
	f.mode.Horizontal = true
	f.mode.Required = true
	f.people = u.newEntry()
	f.people.SetPlaceHolder(loc.T("visit.people_placeholder"))
	f.notes = u.newMultiLineEntry(4)
	f.needs = u.newMultiLineEntry(3)
	f.next = u.newDateField()
	for _, e := range []*entry{f.duration, f.people, f.notes, f.needs} {
		e.OnChanged = func(string) { f.changed() }
	}
	f.date.OnChanged = f.changed
	f.next.OnChanged = f.changed

	f.fields = []*formField{
		newFormField("date", f.date),
		newFormField("duration_minutes", f.duration),
		newFormField("mode", f.mode),
		newFormField("people_met", f.people),
		newFormField("services_discussed", container.NewGridWithColumns(2, checksAsObjects(f.services)...)),
		newFormField("notes", f.notes),
		newFormField("needs", f.needs),
		newFormField("next_visit", f.next),
	}
	f.fuBox = container.NewVBox()
	f.fuHead = f.followUpHeadings()

	f.initial = visitDraft{MemberID: memberID, VisitID: domain.NewID(), Date: u.today().String(),
		Duration: strconv.Itoa(defaultDuration), Mode: string(domain.OnSite)}
	if d != nil && d.Editing {
		// Dirty means "differs from what is saved", so the untouched
		// form is the stored visit, whatever the draft holds.
		v, err := u.st.Visit(d.VisitID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Deleted (or gone with its member's region) while its
			// correction waited as a draft: what was typed comes back as
			// a new visit, to save or discard, rather than vanish.
			restart := *d
			restart.Editing, restart.VisitID = false, f.initial.VisitID
			d = &restart
		case err != nil:
			return nil, err
		default:
			f.editing = &v
			f.initial = draftOf(v)
			f.initial.Services = f.checkable(v.ServicesDiscussed)
		}
	}
	start := f.initial
	if d != nil {
		start = *d
		if start.VisitID == "" {
			start.VisitID = f.initial.VisitID
		}
		f.initial.VisitID = start.VisitID
	}
	f.fill(start)
	f.loading = false
	f.box = f.build(u.nav.restored)
	return f, nil
}

// checkable is ids as the check boxes read them back: in catalog order,
// without the services the catalog no longer offers.
func (f *visitForm) checkable(ids []string) []string {
	var out []string
	for _, id := range f.serviceIDs {
		if slices.Contains(ids, id) {
			out = append(out, id)
		}
	}
	return out
}

func checksAsObjects(cs []*widget.Check) []fyne.CanvasObject {
	out := make([]fyne.CanvasObject, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

func (f *visitForm) build(restored bool) fyne.CanvasObject {
	u, loc := f.u, f.u.loc
	back := widget.NewButtonWithIcon("", theme.Icon(theme.IconNameNavigateBack), f.cancel)
	back.Importance = widget.LowImportance
	title := loc.T("visit.title", map[string]any{"Name": f.member.Name})
	if f.editing != nil {
		title = loc.T("visit.edit_title", map[string]any{"Name": f.member.Name, "Date": loc.Date(f.editing.Date)})
	}
	top := container.NewVBox(container.NewBorder(nil, nil, back, nil, heading(title)))
	if restored {
		key := "visit.draft_restored"
		if f.editing != nil {
			key = "visit.edit_draft_restored"
		}
		note := wrapped(loc.T(key))
		note.Importance = widget.WarningImportance
		top.Add(note)
	}
	items := make([]*widget.FormItem, len(f.fields))
	for i, fld := range f.fields {
		items[i] = fld.item(u)
	}
	add := widget.NewButtonWithIcon(loc.T("visit.add_followup"), theme.Icon(theme.IconNameContentAdd), func() {
		row := f.addFollowUp(followUpDraft{ID: domain.NewID()})
		u.win.Canvas().Focus(row.description)
		f.changed()
	})
	body := container.NewVBox(
		widget.NewForm(items...),
		widget.NewSeparator(),
		widget.NewLabelWithStyle(loc.T("visit.followups_title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		f.fuHead,
		f.fuBox,
		container.NewHBox(add),
	)
	cancel := widget.NewButton(loc.T("dialog.cancel"), f.cancel)
	save := widget.NewButtonWithIcon(loc.T("form.save"), theme.Icon(theme.IconNameDocumentSave), f.save)
	save.Importance = widget.HighImportance
	actions := container.NewHBox(cancel, save)
	if f.editing != nil {
		del := widget.NewButtonWithIcon(loc.T("visit.delete"), theme.Icon(theme.IconNameDelete), f.confirmDelete)
		del.Importance = widget.DangerImportance
		actions = container.NewHBox(del, widget.NewSeparator(), cancel, save)
	}
	bottom := container.NewBorder(nil, nil, nil, actions, f.msg)
	f.scroll = container.NewVScroll(container.NewPadded(body))
	return container.NewBorder(top, bottom, nil, nil, f.scroll)
}

func (f *visitForm) content() fyne.CanvasObject { return f.box }

func (f *visitForm) focusFirst() { f.u.win.Canvas().Focus(f.date.entry) }

// fill puts a draft's text in the widgets.
func (f *visitForm) fill(d visitDraft) {
	f.visitID = d.VisitID
	f.date.SetText(d.Date)
	f.duration.SetText(d.Duration)
	f.mode.SetSelected("")
	for i, md := range f.modes {
		if string(md) == d.Mode {
			f.mode.SetSelected(f.mode.Options[i])
		}
	}
	f.people.SetText(d.People)
	for i, id := range f.serviceIDs {
		f.services[i].SetChecked(slices.Contains(d.Services, id))
	}
	f.notes.SetText(d.Notes)
	f.needs.SetText(d.Needs)
	f.next.SetText(d.Next)
	for _, fu := range d.FollowUps {
		f.addFollowUp(fu)
	}
}

// snapshot reads the widgets into a draft.
func (f *visitForm) snapshot() visitDraft {
	d := visitDraft{
		MemberID: f.member.ID, VisitID: f.visitID, Editing: f.editing != nil,
		Date: f.date.Text(), Duration: strings.TrimSpace(f.duration.Text),
		People: f.people.Text, Notes: f.notes.Text, Needs: f.needs.Text, Next: f.next.Text(),
	}
	if i := slices.Index(f.mode.Options, f.mode.Selected); i >= 0 {
		d.Mode = string(f.modes[i])
	}
	for i, c := range f.services {
		if c.Checked {
			d.Services = append(d.Services, f.serviceIDs[i])
		}
	}
	for _, r := range f.followUps {
		fd := followUpDraft{ID: r.id, Description: r.description.Text, Due: r.due.Text()}
		if i := r.service.SelectedIndex(); i >= 0 {
			fd.Service = f.serviceIDs[i]
		}
		d.FollowUps = append(d.FollowUps, fd)
	}
	return d
}

// dirty reports whether the form holds anything the coordinator typed.
func (f *visitForm) dirty() bool {
	return !reflect.DeepEqual(f.snapshot(), f.initial)
}

// changed keeps the draft in step with the widgets.
func (f *visitForm) changed() {
	if f.loading || f.u.drafts == nil {
		return
	}
	d := f.snapshot()
	f.u.nav.visit = &d
	if f.dirty() {
		f.u.drafts.save(d)
	}
	f.clearFixed()
}

// clearFixed takes away the message of each field fixed since the last
// save, and the summary once nothing is left to fix. It adds none: a
// field being typed is not yet wrong.
func (f *visitForm) clearFixed() {
	if f.msg.Text == "" {
		return
	}
	p := f.parse()
	var ve *domain.ValidationError
	errors.As(p.visitErr, &ve)
	left := false
	for _, fld := range f.fields {
		if fld.err.Text == "" {
			continue
		}
		still := false
		if ve != nil {
			_, still = ve.For(fld.name)
		}
		if still {
			left = true
		} else {
			fld.setError("")
		}
	}
	for i, r := range f.followUps {
		if r.err.Text == "" {
			continue
		}
		if p.fuErrs[i] == nil {
			r.err.SetText("")
		} else {
			left = true
		}
	}
	if !left {
		f.msg.SetText("")
	}
}

func (f *visitForm) addFollowUp(d followUpDraft) *followUpRow {
	u, loc := f.u, f.u.loc
	names := make([]string, len(f.serviceIDs))
	for i, id := range f.serviceIDs {
		names[i] = u.serviceName(id)
	}
	r := &followUpRow{id: d.ID, err: newMessage()}
	r.service = widget.NewSelect(names, func(string) { f.changed() })
	r.service.PlaceHolder = loc.T("visit.followup_service")
	if i := slices.Index(f.serviceIDs, d.Service); i >= 0 {
		r.service.SetSelectedIndex(i)
	}
	r.description = u.newEntry()
	r.description.SetPlaceHolder(loc.T("visit.followup_description"))
	r.description.SetText(d.Description)
	r.description.OnChanged = func(string) { f.changed() }
	r.due = u.newDateField()
	r.due.SetText(d.Due)
	r.due.OnChanged = f.changed
	remove := widget.NewButtonWithIcon("", theme.Icon(theme.IconNameDelete), func() {
		f.followUps = slices.DeleteFunc(f.followUps, func(x *followUpRow) bool { return x == r })
		f.fuBox.Remove(r.box)
		if len(f.followUps) == 0 {
			f.fuHead.Hide()
		}
		f.changed()
	})
	remove.Importance = widget.LowImportance
	row := container.New(&columns{weights: followUpColumns}, r.service, r.description, r.due)
	r.box = container.NewVBox(container.NewBorder(nil, nil, nil, remove, row), r.err)
	f.followUps = append(f.followUps, r)
	f.fuBox.Add(r.box)
	f.fuHead.Show()
	return r
}

// followUpColumns are the widths of a follow-up row's service, text and due
// day, shared with the headings above the rows.
var followUpColumns = []float32{0.3, 0.42, 0.28}

// followUpHeadings labels the follow-up rows' columns with the names the
// error messages use ("Description: this field is required").
func (f *visitForm) followUpHeadings() fyne.CanvasObject {
	labels := make([]fyne.CanvasObject, 3)
	for i, name := range []string{"service_id", "description", "due"} {
		labels[i] = widget.NewLabelWithStyle(f.u.loc.T("field."+name), fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	}
	// The delete button's width, so the headings line up with the inputs.
	spacer := widget.NewButtonWithIcon("", theme.Icon(theme.IconNameDelete), nil)
	spacer.Importance = widget.LowImportance
	spacer.Hide()
	box := container.NewBorder(nil, nil, nil, container.NewGridWrap(spacer.MinSize()), container.New(&columns{weights: followUpColumns}, labels...))
	box.Hide()
	return box
}

// cancel leaves the form, asking first when something was typed.
func (f *visitForm) cancel() {
	m := f.u.main
	m.leaveForm(func() { m.showMember(f.member.ID) })
}

// parsed is the form read into records, with the field errors of each:
// text that does not parse, then the domain's validation.
type parsed struct {
	visit     domain.Visit
	followUps []domain.FollowUp
	visitErr  error
	fuErrs    []error
}

// parse turns the widgets into a visit and its follow-ups.
func (f *visitForm) parse() parsed {
	u := f.u
	d := f.snapshot()
	var bad []domain.FieldError
	v := domain.Visit{ID: d.VisitID, MemberID: d.MemberID, Mode: domain.VisitMode(d.Mode),
		PeopleMet: d.People, ServicesDiscussed: d.Services, Notes: d.Notes, Needs: d.Needs}
	if me, err := u.st.Me(); err == nil {
		v.CoordinatorID = me.ID
	}
	if f.editing != nil {
		// A correction keeps the author, and the services the catalog no
		// longer offers (the form has no check box for them).
		v.CoordinatorID = f.editing.CoordinatorID
		for _, id := range f.editing.ServicesDiscussed {
			if !slices.Contains(f.serviceIDs, id) {
				v.ServicesDiscussed = append(v.ServicesDiscussed, id)
			}
		}
	}
	date, fe := f.date.check("date")
	if fe != nil {
		bad = append(bad, *fe)
	}
	v.Date = date
	next, fe := f.next.check("next_visit")
	if fe != nil {
		bad = append(bad, *fe)
	}
	v.NextVisit = next
	if n, ok := domain.ParseDuration(d.Duration); ok {
		v.DurationMinutes = n
	} else if d.Duration == "" {
		bad = append(bad, domain.FieldError{Field: "duration_minutes", Code: domain.CodeRequired})
	} else {
		bad = append(bad, domain.FieldError{Field: "duration_minutes", Code: codeDurationFormat})
	}
	v.Normalize()
	visitErr := mergeFieldErrors(bad, v.Validate(u.today()))

	var assigned string
	if me, err := u.st.Me(); err == nil {
		assigned = me.Name
	}
	fus := make([]domain.FollowUp, len(f.followUps))
	fuErrs := make([]error, len(f.followUps))
	for i, r := range f.followUps {
		fd := d.FollowUps[i]
		fu := domain.FollowUp{ID: fd.ID, MemberID: v.MemberID, VisitID: v.ID, ServiceID: fd.Service,
			Description: fd.Description, Status: domain.FollowUpOpen, AssignedTo: assigned}
		var bad []domain.FieldError
		due, fe := r.due.check("due")
		if fe != nil {
			bad = append(bad, *fe)
		}
		fu.Due = due
		fu.Normalize()
		fuErrs[i] = mergeFieldErrors(bad, fu.ValidateForVisit(v, u.today()))
		fus[i] = fu
	}
	return parsed{visit: v, followUps: fus, visitErr: visitErr, fuErrs: fuErrs}
}

// mergeFieldErrors puts parse errors first; the domain's error on the
// same field (about the zero value the parse left) is dropped.
func mergeFieldErrors(parse []domain.FieldError, err error) error {
	var ve *domain.ValidationError
	if err != nil && !errors.As(err, &ve) {
		return err
	}
	out := slices.Clone(parse)
	if ve != nil {
		for _, fe := range ve.Fields {
			if !slices.ContainsFunc(out, func(p domain.FieldError) bool { return p.Field == fe.Field }) {
				out = append(out, fe)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &domain.ValidationError{Fields: out}
}

// save validates everything, then stores the visit and its follow-ups.
// On any error the form stays as it is, with the messages beside the
// fields.
func (f *visitForm) save() {
	u, loc := f.u, f.u.loc
	p := f.parse()
	v, fus, fuErrs := p.visit, p.followUps, p.fuErrs
	problems := false
	rest := u.showFieldErrors(f.fields, p.visitErr)
	if p.visitErr != nil {
		problems = true
	}
	if v.CoordinatorID == "" {
		// Nobody is signed in on this device: say so rather than name
		// an internal field.
		rest = loc.T("visit.no_coordinator")
	}
	for i, r := range f.followUps {
		text := ""
		if fuErrs[i] != nil {
			problems = true
			text = loc.Error(fuErrs[i])
		}
		r.err.SetText(text)
	}
	if problems {
		msg := loc.T("form.fix_errors")
		if rest != "" {
			msg += "\n" + rest
		}
		f.msg.SetText(msg)
		f.revealFirstError()
		return
	}
	if err := u.st.SaveVisit(v); err != nil {
		f.msg.SetText(f.saveError(err))
		return
	}
	for _, fu := range fus {
		if err := u.st.SaveFollowUp(fu); err != nil {
			f.msg.SetText(f.saveError(err))
			return
		}
	}
	u.drafts.discard()
	u.main.localChange()
	u.main.showMember(f.member.ID)
}

// saveError explains a refused save; a validation error here means the
// store's rules saw something the form's did not (its own "today").
func (f *visitForm) saveError(err error) string {
	if errors.Is(err, store.ErrDeleted) {
		return f.u.loc.T("visit.deleted_meanwhile")
	}
	if errors.Is(err, store.ErrNotFound) {
		return f.u.loc.T("visit.member_gone")
	}
	if rest := f.u.showFieldErrors(f.fields, err); rest != "" {
		return rest
	}
	return f.u.loc.T("form.fix_errors")
}

// revealFirstError scrolls the form to the first field marked in red,
// unless it is in view already.
func (f *visitForm) revealFirstError() {
	var target fyne.CanvasObject
	for _, fld := range f.fields {
		if fld.err.Visible() {
			target = fld.box
			break
		}
	}
	for _, r := range f.followUps {
		if target == nil && r.err.Visible() {
			target = r.box
		}
	}
	if target == nil || f.scroll == nil {
		return
	}
	d := fyne.CurrentApp().Driver()
	y := d.AbsolutePositionForObject(target).Y - d.AbsolutePositionForObject(f.scroll.Content).Y
	if y < f.scroll.Offset.Y || y+target.Size().Height > f.scroll.Offset.Y+f.scroll.Size().Height {
		f.scroll.ScrollToOffset(fyne.NewPos(0, max(0, y-theme.Padding())))
	}
}
