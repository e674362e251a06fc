package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// The window's keyboard shortcuts. KeyModifierShortcutDefault is Ctrl, or
// Cmd on macOS.
var (
	shortcutNewVisit = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSearch   = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSave     = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}
	// shortcutHelp shows the list of shortcuts, as F1 does.
	shortcutHelp = &desktop.CustomShortcut{KeyName: fyne.KeySlash, Modifier: fyne.KeyModifierShortcutDefault}
)

func appShortcuts() []*desktop.CustomShortcut {
	return []*desktop.CustomShortcut{shortcutNewVisit, shortcutSearch, shortcutSave, shortcutHelp}
}

// shortcutList is what the « Raccourcis clavier » screen lists, as
// message IDs: ID+".keys" names the keys, ID what they do. It is the one
// list: a shortcut added to the window goes here too.
var shortcutList = []string{
	"shortcuts.search",
	"shortcuts.arrows",
	"shortcuts.open",
	"shortcuts.new_visit",
	"shortcuts.save",
	"shortcuts.tab",
	"shortcuts.escape",
	"shortcuts.help",
}

func isAppShortcut(s fyne.Shortcut) bool {
	for _, a := range appShortcuts() {
		if s.ShortcutName() == a.ShortcutName() {
			return true
		}
	}
	return false
}

// installKeys registers the shortcuts on the canvas, and Escape for
// whatever is open on top. Shortcuts typed in an entry reach the canvas
// through entry.TypedShortcut.
func (u *UI) installKeys() {
	c := u.win.Canvas()
	c.AddShortcut(shortcutNewVisit, func(fyne.Shortcut) { u.newVisitShortcut() })
	c.AddShortcut(shortcutSearch, func(fyne.Shortcut) { u.searchShortcut() })
	c.AddShortcut(shortcutSave, func(fyne.Shortcut) { u.saveShortcut() })
	c.AddShortcut(shortcutHelp, func(fyne.Shortcut) { u.showShortcuts() })
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) { u.typedKey(ev) })
}

// typedKey is a key that no focused widget took: Escape closes what is
// open or goes back one screen, F1 shows the shortcuts, Enter runs the
// screen's default action (the first-run wizard's « Continuer »). It
// reports whether the key was used.
func (u *UI) typedKey(ev *fyne.KeyEvent) bool {
	switch ev.Name {
	case fyne.KeyEscape:
		return u.escape() || u.back()
	case fyne.KeyF1:
		u.showShortcuts()
		return true
	case fyne.KeyReturn, fyne.KeyEnter:
		if u.enter != nil && len(u.dialogs) == 0 {
			u.enter()
			return true
		}
	}
	return false
}

// back is Escape with nothing open on top: from the visit form to the
// member, from the member to the list (focused on the member's row).
func (u *UI) back() bool {
	m := u.main
	if m == nil || len(u.dialogs) > 0 || m.tabs.SelectedIndex() != tabMembers {
		return false
	}
	switch {
	case m.form != nil:
		id := m.form.member.ID
		m.leaveForm(func() { m.showMember(id) })
		return true
	case m.detail != nil:
		m.showList()
		u.win.Canvas().Focus(m.list.list)
		return true
	}
	return false
}

// showShortcuts is the « Raccourcis clavier » screen: a dialog listing
// every shortcut, closed by Escape.
func (u *UI) showShortcuts() {
	if u.shortcuts != nil {
		return // already open
	}
	loc := u.loc
	grid := container.New(layout.NewFormLayout())
	for _, id := range shortcutList {
		grid.Add(widget.NewLabelWithStyle(loc.T(id+".keys"), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}))
		grid.Add(wrapped(loc.T(id)))
	}
	d := newInfo(u, loc.T("shortcuts.title"), sized(container.NewVBox(wrapped(loc.T("shortcuts.intro")), grid), 560))
	u.shortcuts = d
	u.showDialog(d, nil, func() { u.shortcuts = nil })
}

// dialogEntry is an open dialog and what Ctrl+S does in it, if anything.
type dialogEntry struct {
	d    dialog.Dialog
	save func()
}

// showDialog shows d and keeps it on the stack that Escape and Ctrl+S
// act on. save may be nil; closed, if given, runs when d closes (it takes
// the place of d's own OnClosed).
func (u *UI) showDialog(d dialog.Dialog, save func(), closed ...func()) {
	u.dialogs = append(u.dialogs, dialogEntry{d: d, save: save})
	d.SetOnClosed(func() {
		for i := len(u.dialogs) - 1; i >= 0; i-- {
			if u.dialogs[i].d == d {
				u.dialogs = append(u.dialogs[:i], u.dialogs[i+1:]...)
				break
			}
		}
		for _, fn := range closed {
			fn()
		}
	})
	d.Show()
}

// escape closes the open calendar pop-up, else the innermost dialog. It
// reports whether it closed anything.
func (u *UI) escape() bool {
	if u.popUp != nil && u.popUp.Visible() {
		u.popUp.Hide()
		u.popUp = nil
		return true
	}
	if n := len(u.dialogs); n > 0 {
		u.dialogs[n-1].d.Dismiss()
		return true
	}
	return false
}

func (u *UI) newVisitShortcut() {
	if u.main != nil && len(u.dialogs) == 0 {
		u.main.newVisitForCurrent()
	}
}

func (u *UI) searchShortcut() {
	if u.main != nil && len(u.dialogs) == 0 {
		u.main.focusSearch()
	}
}

func (u *UI) saveShortcut() {
	if n := len(u.dialogs); n > 0 {
		if save := u.dialogs[n-1].save; save != nil {
			save()
		}
		return
	}
	if u.main != nil {
		u.main.save()
	}
}

// entry is a widget.Entry that lets the window's shortcuts and Escape
// through: a focused Entry otherwise swallows Ctrl+N, Ctrl+S and Ctrl+F.
type entry struct {
	widget.Entry
	u *UI
	// down, when set, takes the Down key; it reports whether it did.
	down func() bool
}

func (u *UI) newEntry() *entry {
	e := &entry{u: u}
	e.ExtendBaseWidget(e)
	return e
}

func (u *UI) newMultiLineEntry(rows int) *entry {
	e := u.newEntry()
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(rows)
	return e
}

func (u *UI) newPasswordEntry() *entry {
	e := u.newEntry()
	e.Password = true
	return e
}

// TypedShortcut hands the window's shortcuts to the canvas.
func (e *entry) TypedShortcut(s fyne.Shortcut) {
	if isAppShortcut(s) {
		if sc, ok := e.u.win.Canvas().(fyne.Shortcutable); ok {
			sc.TypedShortcut(s)
			return
		}
	}
	e.Entry.TypedShortcut(s)
}

// TypedKey closes the open dialog or pop-up on Escape (or goes back one
// screen), shows the shortcuts on F1, and hands Down to the entry's down
// function when it has one (the search goes to the results).
func (e *entry) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape, fyne.KeyF1:
		if e.u.typedKey(ev) {
			return
		}
	case fyne.KeyDown:
		if e.down != nil && !e.MultiLine && e.down() {
			return
		}
	}
	e.Entry.TypedKey(ev)
}
