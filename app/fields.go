package app

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/domain"
)

// formField is an input with its error line under it. name is the domain's
// JSON field name, which is what a *domain.ValidationError reports.
type formField struct {
	name  string
	input fyne.CanvasObject
	err   *message
	box   *fyne.Container
}

func newFormField(name string, input fyne.CanvasObject) *formField {
	f := &formField{name: name, input: input, err: newMessage()}
	f.box = container.NewVBox(input, f.err)
	return f
}

// item is the field as a row of a widget.Form, labelled like the domain's
// field ("field.<name>").
func (f *formField) item(u *UI) *widget.FormItem {
	return widget.NewFormItem(u.loc.T("field."+f.name), f.box)
}

func (f *formField) setError(text string) {
	if f.err.Text == text {
		return
	}
	f.err.SetText(text)
	f.box.Refresh()
}

// showFieldErrors puts each field error of err under its field and
// clears the others. It returns the message for what no field shows
// (an I/O failure, or an error on a field the form does not have), or "".
func (u *UI) showFieldErrors(fields []*formField, err error) string {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		for _, f := range fields {
			f.setError("")
		}
		return u.errorText(err)
	}
	shown := map[string]bool{}
	for _, f := range fields {
		if fe, ok := ve.For(f.name); ok {
			f.setError(u.loc.T(fe.Code, map[string]any{"Max": u.loc.Number(float64(fe.Max), 0)}))
			shown[f.name] = true
		} else {
			f.setError("")
		}
	}
	var rest []domain.FieldError
	for _, fe := range ve.Fields {
		if !shown[fe.Field] {
			rest = append(rest, fe)
		}
	}
	if len(rest) > 0 {
		return u.loc.Error(&domain.ValidationError{Fields: rest})
	}
	return ""
}
