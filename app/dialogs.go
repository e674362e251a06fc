package app

import (
	"io"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
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

// writeChosen writes to the file the coordinator chose, off the UI
// goroutine (an export or a backup may take a while), then says where it
// went — done makes the message from the path — or what went wrong.
func (u *UI) writeChosen(w fyne.URIWriteCloser, write func(io.Writer) error, title string, done func(path string) string) {
	go func() {
		err := write(w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		u.do(func() {
			if err != nil {
				u.showError(err)
				return
			}
			u.showInfo(title, done(w.URI().Path()))
		})
	}()
}

// saveFile asks where to save a file, suggesting name in the home folder,
// and hands write the chosen file; nothing happens on cancel. The labels
// are in the current language (the dialog's inner labels are Fyne's own).
func (u *UI) saveFile(name string, write func(fyne.URIWriteCloser)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			u.showError(err)
			return
		}
		if w != nil {
			write(w)
		}
	}, u.win)
	d.SetFileName(name)
	d.SetTitleText(u.loc.T("settings.save_as"))
	d.SetConfirmText(u.loc.T("form.save"))
	d.SetDismissText(u.loc.T("dialog.cancel"))
	if home, err := os.UserHomeDir(); err == nil {
		if l, err := storage.ListerForURI(storage.NewFileURI(home)); err == nil {
			d.SetLocation(l)
		}
	}
	u.showDialog(d, nil)
	d.Resize(u.win.Canvas().Size().SubtractWidthHeight(40, 40))
}
