package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// The theme choices saved in preferences; "" follows the system.
const (
	themeSystem = ""
	themeLight  = "light"
	themeDark   = "dark"
)

var themeChoices = []string{themeSystem, themeLight, themeDark}

// fixedVariant is Fyne's default theme held to one variant, whatever the
// system prefers.
type fixedVariant struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t fixedVariant) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// applyTheme sets the app's theme from a saved choice. The system choice
// leaves the theme alone, so tests keep Fyne's test theme.
func applyTheme(a fyne.App, choice string) {
	switch choice {
	case themeLight:
		a.Settings().SetTheme(fixedVariant{theme.DefaultTheme(), theme.VariantLight})
	case themeDark:
		a.Settings().SetTheme(fixedVariant{theme.DefaultTheme(), theme.VariantDark})
	}
}

// setTheme saves and applies a choice made in Settings.
func (u *UI) setTheme(choice string) {
	u.app.Preferences().SetString(themePreference, choice)
	if choice == themeSystem {
		u.app.Settings().SetTheme(theme.DefaultTheme())
		return
	}
	applyTheme(u.app, choice)
}
