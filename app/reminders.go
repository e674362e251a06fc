package app

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"leconsortium.coop/terrain/domain"
)

// remindersPreference turns the tray icon and the daily desktop
// notification on or off; notifiedPreference is the last day notified.
// The summary in the window stays either way: it is the reminder that
// always works.
const (
	remindersPreference = "reminders"
	notifiedPreference  = "followups_notified_on"
)

// trayApp is what a desktop Fyne app offers for the system tray
// (desktop.App, declared here where it is used).
type trayApp interface {
	SetSystemTrayMenu(*fyne.Menu)
	SetSystemTrayIcon(fyne.Resource)
}

// reminders is the state of the day's summary, the tray and the
// notification.
type reminders struct {
	overdue, week int
	day           domain.Date // the day the counts are for
	dismissed     domain.Date // the day the coordinator closed the summary
	tray          trayApp     // nil until the tray is set up
	trayMenu      *fyne.Menu
	loads         int
}

func (u *UI) remindersOn() bool {
	return u.app.Preferences().BoolWithFallback(remindersPreference, true)
}

// refreshReminders counts the follow-ups off the Fyne goroutine, then
// updates the summary, the tray, and sends the day's notification once.
func (u *UI) refreshReminders() {
	st := u.st
	if st == nil {
		return
	}
	r := &u.todo
	r.loads++
	load := r.loads
	today := u.today()
	go func() {
		overdue, week, err := followUpCounts(st, today)
		u.do(func() {
			if load != r.loads {
				return
			}
			if err != nil {
				u.log.Warn("count follow-ups", "err", err)
				return
			}
			r.overdue, r.week, r.day = overdue, week, today
			u.showReminders()
		})
	}()
}

// dailyCheck is called by the clock's tick: a new day brings the summary
// back, and its notification.
func (u *UI) dailyCheck() {
	if u.st != nil && u.today() != u.todo.day {
		u.refreshReminders()
	}
}

// showReminders puts the counts on screen, in the tray and, once a day,
// in a desktop notification.
func (u *UI) showReminders() {
	r := &u.todo
	text := u.summaryText(r.overdue, r.week)
	if u.main != nil {
		if r.dismissed == r.day {
			u.main.notices.setSummary("")
		} else {
			u.main.notices.setSummary(text)
		}
	}
	if !u.remindersOn() {
		return
	}
	u.setUpTray()
	if r.tray != nil {
		r.trayMenu.Items[0].Label = text
		if text == "" {
			r.trayMenu.Items[0].Label = u.loc.T("followups.summary.title")
		}
		r.trayMenu.Refresh()
		r.tray.SetSystemTrayIcon(badgeIcon(u.app.Icon(), r.overdue+r.week))
	}
	prefs := u.app.Preferences()
	if text != "" && prefs.String(notifiedPreference) != r.day.String() {
		prefs.SetString(notifiedPreference, r.day.String())
		u.app.SendNotification(fyne.NewNotification(u.loc.T("followups.summary.title"), text))
	}
}

// setUpTray puts Terrain in the system tray, where the desktop has one:
// the day's counts, then Open, Sync now and Quit.
func (u *UI) setUpTray() {
	r := &u.todo
	tray, ok := u.app.(trayApp)
	if !ok || r.tray != nil || u.cfg.NoTray {
		return
	}
	loc := u.loc
	counts := fyne.NewMenuItem("", nil)
	counts.Disabled = true
	open := func() {
		u.win.Show()
		u.win.RequestFocus()
		if u.main != nil {
			u.main.showToday()
		}
	}
	sync := fyne.NewMenuItem(loc.T("tray.sync_now"), func() {
		if u.syncer != nil {
			u.syncer.SyncNow()
		}
	})
	sync.Disabled = u.syncer == nil
	quit := fyne.NewMenuItem(loc.T("tray.quit"), func() {
		u.win.Show()
		u.closeRequested()
	})
	quit.IsQuit = true
	r.trayMenu = fyne.NewMenu(loc.T("app.title"), counts, fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem(loc.T("tray.open"), open), sync, quit)
	r.tray = tray
	tray.SetSystemTrayMenu(r.trayMenu)
}

// remindersChoice is the setting that turns the tray icon and the daily
// notification on or off.
func (u *UI) remindersChoice() fyne.CanvasObject {
	// Checked before OnChanged is set: building the page is not a change.
	c := widget.NewCheck(u.loc.T("settings.reminders"), nil)
	c.SetChecked(u.remindersOn())
	c.OnChanged = func(on bool) {
		u.app.Preferences().SetBool(remindersPreference, on)
		if !on && u.todo.tray != nil {
			// Fyne cannot take the icon away until the next start; it
			// stops counting and notifying.
			u.todo.tray.SetSystemTrayIcon(u.app.Icon())
		}
		u.showReminders()
	}
	return c
}

// badgeIcon is the app's icon with the count in a red disc, for the tray.
func badgeIcon(base fyne.Resource, count int) fyne.Resource {
	const size = 64
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	if base != nil {
		if src, _, err := image.Decode(bytes.NewReader(base.Content())); err == nil {
			xdraw.ApproxBiLinear.Scale(img, img.Bounds(), src, src.Bounds(), draw.Over, nil)
		}
	}
	if count > 0 {
		text := strconv.Itoa(min(count, 99))
		red := color.RGBA{0xd3, 0x2f, 0x2f, 0xff}
		cx, cy, rad := size-21, size-21, 20
		for y := cy - rad; y <= cy+rad; y++ {
			for x := cx - rad; x <= cx+rad; x++ {
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= rad*rad {
					img.Set(x, y, red)
				}
			}
		}
		// The digits in the 7×13 bitmap font, drawn twice their size.
		face := basicfont.Face7x13
		small := image.NewRGBA(image.Rect(0, 0, 7*len(text), 13))
		d := font.Drawer{Dst: small, Src: image.White, Face: face, Dot: fixed.P(0, 10)}
		d.DrawString(text)
		w, h := small.Bounds().Dx()*2, small.Bounds().Dy()*2
		at := image.Rect(cx-w/2, cy-h/2, cx-w/2+w, cy-h/2+h)
		xdraw.NearestNeighbor.Scale(img, at, small, small.Bounds(), draw.Over, nil)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return base
	}
	return fyne.NewStaticResource("terrain-tray-"+strconv.Itoa(count)+".png", buf.Bytes())
}
