package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Small layout helpers shared by the screens.

// heading is a screen or section title.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	l.Wrapping = fyne.TextWrapWord
	return l
}

// message is a label for errors: red, wrapped, and hidden while empty so
// that it takes no room until there is something to say.
type message struct{ widget.Label }

func newMessage() *message {
	m := &message{}
	m.Wrapping = fyne.TextWrapWord
	m.Importance = widget.DangerImportance
	m.ExtendBaseWidget(m)
	m.Hide()
	return m
}

// SetText shows the message, or hides it when text is empty.
func (m *message) SetText(text string) {
	m.Label.SetText(text)
	if text == "" {
		m.Hide()
	} else {
		m.Show()
	}
}

// wrapped is a label of running text.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// centered holds a narrow form in the middle of the window.
func centered(o fyne.CanvasObject, width float32) fyne.CanvasObject {
	return container.NewCenter(sized(o, width))
}

// sized gives o at least width.
func sized(o fyne.CanvasObject, width float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(width, 0))
	return container.NewStack(r, o)
}

// section is a titled block of a screen: a card whose title is the size
// of a section heading rather than of a page title.
func section(title, subtitle string, content fyne.CanvasObject) fyne.CanvasObject {
	return container.NewThemeOverride(widget.NewCard(title, subtitle, content), sectionTheme{})
}

// sectionTheme is the app's current theme with headings one step
// smaller. It asks the app each time, so a change of theme applies.
type sectionTheme struct{}

func (sectionTheme) base() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (t sectionTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return t.base().Color(n, v)
}

func (t sectionTheme) Font(s fyne.TextStyle) fyne.Resource { return t.base().Font(s) }

func (t sectionTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base().Icon(n) }

func (t sectionTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameHeadingText:
		return t.base().Size(theme.SizeNameSubHeadingText)
	case theme.SizeNameSubHeadingText:
		return t.base().Size(theme.SizeNameText)
	}
	return t.base().Size(n)
}
