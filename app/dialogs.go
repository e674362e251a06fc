package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// Dialogs are built without Fyne's default buttons, whose labels come
// from Fyne's own translations and follow the system language, not the
// coordinator's choice.

// newConfirm asks a question; onYes runs on the affirmative answer only.
func newConfirm(u *UI, title, message, yes, no string, onYes func()) dialog.Dialog {
	d := dialog.NewCustomWithoutButtons(title, wrappedWidth(message, 420), u.win)
	noBtn := widget.NewButton(no, d.Hide)
	yesBtn := widget.NewButton(yes, func() {
		d.Hide()
		onYes()
	})
	yesBtn.Importance = widget.DangerImportance
	d.SetButtons([]fyne.CanvasObject{noBtn, yesBtn})
	return d
}

// newInfo shows content with a single OK button.
func newInfo(u *UI, title string, content fyne.CanvasObject) dialog.Dialog {
	d := dialog.NewCustomWithoutButtons(title, content, u.win)
	ok := widget.NewButton(u.loc.T("dialog.ok"), d.Hide)
	ok.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{ok})
	return d
}

// newFormDialog shows a form with Cancel and a primary action. The action
// decides itself whether to close the dialog (it stays open on errors).
func newFormDialog(u *UI, title, action string, content fyne.CanvasObject, onAction func(d dialog.Dialog)) dialog.Dialog {
	d := dialog.NewCustomWithoutButtons(title, content, u.win)
	cancel := widget.NewButton(u.loc.T("dialog.cancel"), d.Hide)
	act := widget.NewButton(action, func() { onAction(d) })
	act.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{cancel, act})
	return d
}

// wrappedWidth is running text that wraps at about width.
func wrappedWidth(text string, width float32) fyne.CanvasObject {
	return sized(wrapped(text), width)
}
