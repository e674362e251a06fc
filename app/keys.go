package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// The window's keyboard shortcuts. KeyModifierShortcutDefault is Ctrl, or
// Cmd on macOS.
var (
	shortcutNewVisit = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSearch   = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutSave     = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}
)

func appShortcuts() []*desktop.CustomShortcut {
	return []*desktop.CustomShortcut{shortcutNewVisit, shortcutSearch, shortcutSave}
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
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			u.escape()
		}
	})
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

// TypedKey closes the open dialog or pop-up on Escape.
func (e *entry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.u.escape() {
		return
	}
	e.Entry.TypedKey(ev)
}
