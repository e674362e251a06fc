package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/store"
)

// conflictsScreen shows what sync could not settle alone: conflicts (two
// people changed the same field; both values side by side, keep one or
// write a merged value) and the quarantine (changes the central service
// refused, with its reason; fix and send again, or discard).
type conflictsScreen struct {
	u   *UI
	box *fyne.Container
}

func (u *UI) newConflictsScreen() *conflictsScreen {
	return &conflictsScreen{u: u, box: container.NewStack()}
}

func (s *conflictsScreen) content() fyne.CanvasObject { return s.box }

// refresh reads both lists; there are a handful of entries at most.
func (s *conflictsScreen) refresh() {
	u, loc := s.u, s.u.loc
	if u.st == nil {
		return
	}
	conflicts, err := u.st.Conflicts(store.ConflictFilter{})
	var quarantine []store.Quarantined
	if err == nil {
		quarantine, err = u.st.Quarantine()
	}
	if err != nil {
		s.box.Objects = []fyne.CanvasObject{wrapped(u.errorText(err))}
		s.box.Refresh()
		return
	}
	names := s.memberNames()
	body := container.NewVBox()
	if len(conflicts) == 0 && len(quarantine) == 0 {
		body.Add(wrapped(loc.T("conflicts.none")))
	}
	if len(conflicts) > 0 {
		list := container.NewVBox(wrapped(loc.T("conflicts.intro")))
		for i, c := range conflicts {
			if i > 0 {
				list.Add(widget.NewSeparator())
			}
			list.Add(s.conflictBlock(c, names))
		}
		body.Add(section(loc.T("conflicts.title", map[string]any{"N": len(conflicts)}), "", list))
	}
	if len(quarantine) > 0 {
		list := container.NewVBox(wrapped(loc.T("conflicts.quarantine_intro")))
		for i, q := range quarantine {
			if i > 0 {
				list.Add(widget.NewSeparator())
			}
			list.Add(s.quarantineBlock(q, names))
		}
		body.Add(section(loc.T("conflicts.quarantine_title", map[string]any{"N": len(quarantine)}), "", list))
	}
	s.box.Objects = []fyne.CanvasObject{container.NewVScroll(container.NewPadded(body))}
	s.box.Refresh()
	if u.main != nil {
		u.main.status.update()
	}
}

func (s *conflictsScreen) memberNames() map[string]string {
	names := map[string]string{}
	if rows, err := s.u.st.SearchMembers(store.MemberQuery{}); err == nil {
		for _, r := range rows {
			names[r.ID] = r.Name
		}
	}
	return names
}

// recordTitle says which record an entry is about: "Visite · Coop du
// Fjord".
func (s *conflictsScreen) recordTitle(kind domain.Kind, memberName string) string {
	return s.u.loc.T("conflicts.kind."+string(kind)) + " · " + memberName
}

func (s *conflictsScreen) conflictBlock(c store.Conflict, names map[string]string) fyne.CanvasObject {
	u, loc := s.u, s.u.loc
	msg := newMessage()
	title := widget.NewLabelWithStyle(s.recordTitle(c.RecordKind, names[c.MemberID])+" · "+loc.T("field."+c.Field),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Wrapping = fyne.TextWrapWord
	act := func(value json.RawMessage) {
		if value != nil {
			if err := u.setField(c.RecordKind, c.RecordID, c.Field, value); err != nil {
				msg.SetText(u.errorText(err))
				return
			}
		}
		if err := u.st.ResolveConflict(c.ID); err != nil {
			msg.SetText(u.errorText(err))
			return
		}
		u.main.localChange()
		s.refresh()
	}
	side := func(labelID string, v store.ConflictSide, action string, value json.RawMessage) fyne.CanvasObject {
		b := widget.NewButton(loc.T(action), func() { act(value) })
		return container.NewVBox(
			widget.NewLabelWithStyle(loc.T(labelID), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			widget.NewLabel(s.who(v)),
			selectable(u.fieldValueText(c.RecordKind, c.Field, v.Value)),
			container.NewHBox(b),
		)
	}
	sides := container.NewGridWithColumns(2,
		side("conflicts.kept", c.Winner, "conflicts.keep", nil),
		side("conflicts.lost", c.Loser, "conflicts.take", c.Loser.Value))
	box := container.NewVBox(title, sides)
	// Text can be merged by hand; other values are picked.
	var a, b string
	if json.Unmarshal(c.Winner.Value, &a) == nil && json.Unmarshal(c.Loser.Value, &b) == nil {
		// Running text starts as both versions, one under the other; a
		// phone number, an address or a name would be invalid that way,
		// so it starts as the kept value, to be corrected on one line.
		merged := u.newEntry()
		merged.SetText(a)
		if freeText(c.Field) {
			merged = u.newMultiLineEntry(3)
			merged.SetText(strings.TrimSpace(a + "\n" + b))
		}
		save := widget.NewButton(loc.T("conflicts.save_merge"), func() {
			value, _ := json.Marshal(merged.Text)
			act(value)
		})
		box.Add(widget.NewForm(widget.NewFormItem(loc.T("conflicts.merge"), merged)))
		box.Add(container.NewHBox(layout.NewSpacer(), save))
	}
	box.Add(msg)
	return box
}

// freeText tells the fields of running text, which a merge may join.
func freeText(field string) bool {
	switch field {
	case "notes", "needs", "people_met":
		return true
	}
	return false
}

// who says who wrote a value and when.
func (s *conflictsScreen) who(v store.ConflictSide) string {
	loc := s.u.loc
	by := loc.T("conflicts.by_other_device")
	switch v.Device {
	case s.u.st.DeviceID():
		by = loc.T("conflicts.by_this_device")
	case "central":
		by = loc.T("conflicts.by_central")
	}
	if v.HLC == 0 {
		return by
	}
	return loc.T("conflicts.when", map[string]any{"Who": by, "Date": loc.DateTime(v.HLC.Time())})
}

func (s *conflictsScreen) quarantineBlock(q store.Quarantined, names map[string]string) fyne.CanvasObject {
	u, loc := s.u, s.u.loc
	m := q.Mutation
	title := widget.NewLabelWithStyle(s.recordTitle(m.Kind, names[u.memberOf(m.Kind, m.ID)]),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(title)
	if !q.At.IsZero() {
		box.Add(widget.NewLabel(loc.T("conflicts.refused_on", map[string]any{"Date": loc.DateTime(q.At)})))
	}
	reason := loc.T("conflicts.reason.other")
	if id := "conflicts.reason." + q.Code; locales.Has(id) {
		reason = loc.T(id)
	}
	box.Add(wrapped(reason))
	msg := newMessage()

	// The refused text and number fields can be corrected here; the
	// server's complaint about each is shown under it.
	var fields []*formField
	inputs := map[string]*entry{}
	var order []string
	for name := range m.Fields {
		order = append(order, name)
	}
	slices.Sort(order)
	var items []*widget.FormItem
	for _, name := range order {
		raw := m.Fields[name]
		var text string
		var num float64
		switch {
		case json.Unmarshal(raw, &text) == nil:
		case json.Unmarshal(raw, &num) == nil:
			text = strconv.FormatFloat(num, 'f', -1, 64)
		default:
			continue
		}
		bad := slices.ContainsFunc(q.Fields, func(fe domain.FieldError) bool { return fe.Field == name })
		if !bad {
			continue
		}
		e := u.newEntry()
		e.SetText(text)
		f := newFormField(name, e)
		fields = append(fields, f)
		inputs[name] = e
		items = append(items, f.item(u))
	}
	for _, fe := range q.Fields {
		for _, f := range fields {
			if f.name == fe.Field {
				f.setError(loc.FieldError(fe))
			}
		}
		if _, ok := inputs[fe.Field]; !ok {
			box.Add(wrapped(loc.FieldError(fe)))
		}
	}
	if len(items) > 0 {
		box.Add(widget.NewForm(items...))
	}

	done := func(err error) {
		if err != nil {
			if rest := u.showFieldErrors(fields, err); rest != "" {
				msg.SetText(rest)
			}
			return
		}
		u.main.localChange()
		s.refresh()
	}
	var buttons []fyne.CanvasObject
	if len(inputs) > 0 {
		fix := widget.NewButton(loc.T("conflicts.fix_resend"), func() {
			values := map[string]json.RawMessage{}
			for name, e := range inputs {
				values[name] = retyped(m.Fields[name], e.Text)
			}
			done(u.st.FixQuarantined(q.Mutation.Seq, values))
		})
		fix.Importance = widget.HighImportance
		buttons = append(buttons, fix)
	} else {
		buttons = append(buttons, widget.NewButton(loc.T("conflicts.resend"), func() {
			done(u.st.ResendQuarantined(q.Mutation.Seq))
		}))
	}
	discard := widget.NewButton(loc.T("conflicts.discard"), func() {
		u.confirm(loc.T("conflicts.discard_title"), loc.T("conflicts.discard_message"),
			loc.T("conflicts.discard"), loc.T("dialog.cancel"), func() {
				done(u.st.DiscardQuarantined(q.Mutation.Seq))
			})
	})
	discard.Importance = widget.DangerImportance
	buttons = append(buttons, discard)
	box.Add(container.NewHBox(append([]fyne.CanvasObject{layout.NewSpacer()}, buttons...)...))
	box.Add(msg)
	return box
}

// retyped turns corrected text back into the JSON type of the refused
// value: a number stays a number when it parses as one.
func retyped(was json.RawMessage, text string) json.RawMessage {
	var num float64
	if json.Unmarshal(was, &num) == nil {
		if n, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err == nil {
			return json.RawMessage(strconv.FormatFloat(n, 'f', -1, 64))
		}
	}
	out, _ := json.Marshal(text)
	return out
}

// memberOf finds the member a record belongs to, for titles.
func (u *UI) memberOf(kind domain.Kind, id string) string {
	switch kind {
	case domain.KindVisit:
		if v, err := u.st.Visit(id); err == nil {
			return v.MemberID
		}
	case domain.KindFollowUp:
		if f, err := u.st.FollowUp(id); err == nil {
			return f.MemberID
		}
	}
	return id
}

// setField writes one field of a record, as an ordinary edit: validated,
// queued for the server.
func (u *UI) setField(kind domain.Kind, id, field string, value json.RawMessage) error {
	switch kind {
	case domain.KindMember:
		return patchAndSave(u.st.Member, u.st.SaveMember, id, field, value)
	case domain.KindVisit:
		return patchAndSave(u.st.Visit, u.st.SaveVisit, id, field, value)
	case domain.KindFollowUp:
		return patchAndSave(u.st.FollowUp, u.st.SaveFollowUp, id, field, value)
	}
	return fmt.Errorf("set %s of %s %s: %w", field, kind, id, store.ErrNotFound)
}

func patchAndSave[T any](get func(string) (T, error), save func(T) error, id, field string, value json.RawMessage) error {
	rec, err := get(id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	fields[field] = value
	if data, err = json.Marshal(fields); err != nil {
		return err
	}
	var next T
	if err := json.Unmarshal(data, &next); err != nil {
		return err
	}
	return save(next)
}

// fieldValueText shows a field's JSON value in words: names for codes,
// dates written out, service names.
func (u *UI) fieldValueText(kind domain.Kind, field string, raw json.RawMessage) string {
	loc := u.loc
	var s string
	var list []string
	switch {
	case json.Unmarshal(raw, &list) == nil:
		names := make([]string, len(list))
		for i, id := range list {
			names[i] = u.serviceName(id)
		}
		s = strings.Join(names, ", ")
	case json.Unmarshal(raw, &s) == nil:
		switch field {
		case "region":
			s = loc.Region(s)
		case "legal_form":
			s = loc.LegalForm(domain.LegalForm(s))
		case "mode":
			s = loc.VisitMode(domain.VisitMode(s))
		case "service_id":
			s = u.serviceName(s)
		case "status":
			if kind == domain.KindFollowUp {
				s = loc.FollowUpStatus(domain.FollowUpStatus(s))
			} else {
				s = loc.MemberStatus(domain.MemberStatus(s))
			}
		case "date", "next_visit", "due", "member_since", "done_on":
			if d, err := domain.ParseDate(s); err == nil {
				s = loc.Date(d)
			}
		}
	default:
		var n float64
		if json.Unmarshal(raw, &n) == nil {
			s = loc.Number(n, -1)
		} else {
			s = string(raw)
		}
	}
	if strings.TrimSpace(s) == "" {
		return loc.T("conflicts.empty_value")
	}
	return s
}
