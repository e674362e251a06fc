package app

import (
	"errors"
	"image/color"
	"math"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/locales"
)

// errNoSync means this build has no sync engine to sign in with.
var errNoSync = errors.New("sync not configured")

// firstRun is the wizard of a new profile: language, passphrase, then sign
// in or demo data. What was typed survives a change of language.
type firstRun struct {
	u     *UI
	step  int
	pass  string
	again string

	server, email string
}

func (u *UI) showFirstRun() {
	fr := &firstRun{u: u, server: u.cfg.Server, email: u.cfg.Email}
	fr.show()
}

func (fr *firstRun) show() {
	var page fyne.CanvasObject
	var focus fyne.Focusable
	fr.u.enter = nil
	switch fr.step {
	case 0:
		page = fr.languagePage()
	case 1:
		page, focus = fr.passphrasePage()
	default:
		page, focus = fr.startPage()
	}
	fr.u.win.SetContent(page)
	// Focused once on the canvas: before, Fyne refuses (and logs
	// « Failed to focus object »).
	if focus != nil {
		fr.u.win.Canvas().Focus(focus)
	}
}

// steps says where the coordinator is: "Étape 2 sur 3", in the text
// colour (the low-importance grey nearly vanished on the dark theme).
func (fr *firstRun) steps() *widget.Label {
	return widget.NewLabelWithStyle(fr.u.loc.T("firstrun.step", map[string]any{"Step": fr.step + 1, "Steps": 3}),
		fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
}

func (fr *firstRun) languagePage() fyne.CanvasObject {
	u := fr.u
	names := []string{u.loc.T("language.fr"), u.loc.T("language.en")}
	codes := locales.Supported()
	choice := widget.NewRadioGroup(names, nil)
	choice.Required = true
	for i, c := range codes {
		if c == u.loc.Lang() {
			choice.SetSelected(names[i])
		}
	}
	choice.OnChanged = func(s string) {
		for i, n := range names {
			if n == s {
				u.setLanguage(codes[i], fr.show)
			}
		}
	}
	advance := func() {
		// Saved even when the preselected language is kept.
		u.app.Preferences().SetString(langPreference, u.loc.Lang())
		fr.step = 1
		fr.show()
	}
	next := widget.NewButton(u.loc.T("firstrun.next"), advance)
	next.Importance = widget.HighImportance
	// Nothing to type on this page: Enter is « Continuer ».
	u.enter = advance
	box := container.NewVBox(
		heading(u.loc.T("firstrun.welcome")),
		fr.steps(),
		wrapped(u.loc.T("firstrun.intro")),
		widget.NewLabelWithStyle(u.loc.T("firstrun.language"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		choice,
		container.NewHBox(layout.NewSpacer(), next),
	)
	return centered(box, 520)
}

func (fr *firstRun) passphrasePage() (fyne.CanvasObject, fyne.Focusable) {
	u := fr.u
	pass, again := u.newPasswordEntry(), u.newPasswordEntry()
	pass.SetText(fr.pass)
	again.SetText(fr.again)
	strength := newStrengthMeter()
	hint := widget.NewLabel("")
	hint.Wrapping = fyne.TextWrapWord
	msg := newMessage()
	showStrength := func() {
		level := passphraseStrength(pass.Text)
		strength.set(level)
		hint.SetText(u.loc.T("firstrun.strength", map[string]any{
			"Level": u.loc.T(strengthIDs[level]),
			"Min":   MinPassphrase,
		}))
		hint.Importance = strengthImportance[level]
		hint.Refresh()
	}
	pass.OnChanged = func(s string) { fr.pass = s; showStrength() }
	again.OnChanged = func(s string) { fr.again = s }
	showStrength()

	next := func() {
		switch {
		case utf8.RuneCountInString(pass.Text) < MinPassphrase:
			msg.SetText(u.loc.T("unlock.passphrase_too_short", map[string]any{"Min": MinPassphrase}))
		case pass.Text != again.Text:
			msg.SetText(u.loc.T("unlock.passphrases_differ"))
		default:
			fr.step = 2
			fr.show()
		}
	}
	pass.OnSubmitted = func(string) { u.win.Canvas().Focus(again) }
	again.OnSubmitted = func(string) { next() }
	back := widget.NewButton(u.loc.T("firstrun.back"), func() { fr.step = 0; fr.show() })
	cont := widget.NewButton(u.loc.T("firstrun.next"), next)
	cont.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem(u.loc.T("unlock.passphrase"), pass),
		widget.NewFormItem(u.loc.T("unlock.passphrase_confirm"), again),
	)
	box := container.NewVBox(
		heading(u.loc.T("firstrun.passphrase_title")),
		fr.steps(),
		wrapped(u.loc.T("unlock.create_hint")),
		form,
		strength,
		hint,
		msg,
		container.NewHBox(back, layout.NewSpacer(), cont),
	)
	return centered(box, 520), pass
}

// startPage offers the two ways to begin: sign in to the central service,
// or look around with the demo data.
func (fr *firstRun) startPage() (fyne.CanvasObject, fyne.Focusable) {
	u := fr.u
	server, email, password := u.newEntry(), u.newEntry(), u.newPasswordEntry()
	server.SetPlaceHolder(u.loc.T("settings.server_placeholder"))
	server.SetText(fr.server)
	email.SetText(fr.email)
	server.OnChanged = func(s string) { fr.server = s }
	email.OnChanged = func(s string) { fr.email = s }
	// Each card says its own errors: a refused password shows under the
	// sign-in form, not under the demo card.
	msg, demoMsg := newMessage(), newMessage()
	busy := widget.NewProgressBarInfinite()
	busy.Hide()
	busy.Stop()

	var signIn, useDemo *widget.Button
	setBusy := func(on bool) {
		if on {
			busy.Show()
			busy.Start()
			signIn.Disable()
			useDemo.Disable()
			return
		}
		busy.Stop()
		busy.Hide()
		useDemo.Enable()
		if u.cfg.NewSyncer != nil {
			signIn.Enable()
		}
	}
	failed := func(err error) {
		setBusy(false)
		msg.SetText(u.syncErrorText(err))
	}
	demoFailed := func(err error) {
		setBusy(false)
		demoMsg.SetText(u.errorText(err))
	}
	signIn = widget.NewButton(u.loc.T("settings.sign_in"), func() {
		if server.Text == "" || email.Text == "" || password.Text == "" {
			msg.SetText(u.loc.T("settings.sign_in_incomplete"))
			return
		}
		msg.SetText("")
		setBusy(true)
		u.createAndSignIn([]byte(fr.pass), server.Text, email.Text, password.Text, failed)
	})
	signIn.Importance = widget.HighImportance
	password.OnSubmitted = func(string) { signIn.OnTapped() }
	useDemo = widget.NewButton(u.loc.T("firstrun.use_demo"), func() {
		msg.SetText("")
		demoMsg.SetText("")
		setBusy(true)
		u.createDemo([]byte(fr.pass), demoFailed)
	})

	signInBox := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem(u.loc.T("settings.server"), server),
			widget.NewFormItem(u.loc.T("settings.email"), email),
			widget.NewFormItem(u.loc.T("settings.password"), password),
		),
		container.NewHBox(layout.NewSpacer(), signIn),
		busy,
		msg,
	)
	if u.cfg.NewSyncer == nil {
		signInBox = container.NewVBox(wrapped(u.loc.T("status.no_server")))
	}
	demoBox := container.NewVBox(wrapped(u.loc.T("firstrun.demo_hint")), container.NewHBox(layout.NewSpacer(), useDemo), demoMsg)
	back := widget.NewButton(u.loc.T("firstrun.back"), func() { fr.step = 1; fr.show() })
	if u.st != nil {
		back.Disable() // the profile exists now: its passphrase is set
	}
	box := container.NewVBox(
		heading(u.loc.T("firstrun.start_title")),
		fr.steps(),
		section(u.loc.T("firstrun.sign_in_title"), "", signInBox),
		section(u.loc.T("firstrun.demo_title"), "", demoBox),
		container.NewHBox(back),
	)
	var first fyne.Focusable
	if u.cfg.NewSyncer != nil {
		first = server
	}
	return container.NewVScroll(centered(box, 560)), first
}

// strengthIDs name the levels passphraseStrength returns.
var strengthIDs = []string{"firstrun.strength.too_short", "firstrun.strength.weak",
	"firstrun.strength.fair", "firstrun.strength.good", "firstrun.strength.strong"}

var strengthImportance = []widget.Importance{widget.DangerImportance, widget.DangerImportance,
	widget.WarningImportance, widget.SuccessImportance, widget.SuccessImportance}

// passphraseStrength rates a passphrase from 0 (shorter than the minimum)
// to 4 by a rough entropy estimate: length times the bits of the character
// classes used, with repeated characters counted once. It is a hint for
// the coordinator, not a gate beyond the minimum length.
func passphraseStrength(p string) int {
	if utf8.RuneCountInString(p) < MinPassphrase {
		return 0
	}
	var lower, upper, digit, other, accented bool
	distinct := map[rune]bool{}
	for _, r := range p {
		distinct[r] = true
		switch {
		case r > unicode.MaxASCII:
			accented = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	pool := 0
	for _, c := range []struct {
		used bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}, {accented, 40}} {
		if c.used {
			pool += c.size
		}
	}
	n := min(utf8.RuneCountInString(p), 2*len(distinct))
	bits := float64(n) * math.Log2(float64(pool))
	switch {
	case bits < 45:
		return 1
	case bits < 60:
		return 2
	case bits < 80:
		return 3
	}
	return 4
}

// strengthMeter shows a passphrase's strength as four segments: none
// filled while it is too short, then one to four in the level's colour.
// (Fyne's progress bar drew its full-width track, which read as « full »
// at « trop courte ».)
type strengthMeter struct {
	widget.BaseWidget
	level int
	segs  [4]*canvas.Rectangle
}

func newStrengthMeter() *strengthMeter {
	m := &strengthMeter{}
	for i := range m.segs {
		r := canvas.NewRectangle(color.Transparent)
		r.CornerRadius = 2
		m.segs[i] = r
	}
	m.ExtendBaseWidget(m)
	return m
}

func (m *strengthMeter) set(level int) {
	m.level = level
	m.Refresh()
}

func (m *strengthMeter) CreateRenderer() fyne.WidgetRenderer {
	objs := make([]fyne.CanvasObject, len(m.segs))
	for i, r := range m.segs {
		objs[i] = r
	}
	box := container.NewGridWithColumns(len(m.segs), objs...)
	r := &strengthRenderer{m: m, box: box}
	r.Refresh()
	return r
}

type strengthRenderer struct {
	m   *strengthMeter
	box *fyne.Container
}

func (r *strengthRenderer) Layout(s fyne.Size)           { r.box.Resize(s) }
func (r *strengthRenderer) MinSize() fyne.Size           { return fyne.NewSize(120, 8) }
func (r *strengthRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.box} }
func (r *strengthRenderer) Destroy()                     {}

func (r *strengthRenderer) Refresh() {
	th := r.m.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	fill := th.Color(theme.ColorNameError, v)
	switch strengthImportance[r.m.level] {
	case widget.WarningImportance:
		fill = th.Color(theme.ColorNameWarning, v)
	case widget.SuccessImportance:
		fill = th.Color(theme.ColorNameSuccess, v)
	}
	for i, seg := range r.m.segs {
		if i < r.m.level {
			seg.FillColor, seg.StrokeColor, seg.StrokeWidth = fill, fill, 0
		} else {
			// An empty segment is an outline only.
			seg.FillColor, seg.StrokeColor, seg.StrokeWidth = color.Transparent, th.Color(theme.ColorNameDisabled, v), 1
		}
		seg.Refresh()
	}
}
