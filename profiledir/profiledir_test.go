package profiledir

import (
	"path/filepath"
	"testing"
)

func TestDefault(t *testing.T) {
	env := map[string]string{
		"LOCALAPPDATA": filepath.Join("C:", "Users", "Hélène Côté", "AppData", "Local"),
		"APPDATA":      filepath.Join("C:", "Users", "Hélène Côté", "AppData", "Roaming"),
	}
	fyneRoot := func() string { return filepath.Join(env["APPDATA"], "fyne", "coop.leconsortium.terrain") }
	getenv := func(k string) string { return env[k] }
	if got, want := Default("windows", getenv, fyneRoot), filepath.Join(env["LOCALAPPDATA"], "Terrain", "profile"); got != want {
		t.Errorf("windows: %q, want %q (local, not roaming)", got, want)
	}
	if got, want := Default("linux", getenv, fyneRoot), filepath.Join(fyneRoot(), "profile"); got != want {
		t.Errorf("linux: %q, want %q", got, want)
	}
	if got, want := Default("windows", func(string) string { return "" }, fyneRoot), filepath.Join(fyneRoot(), "profile"); got != want {
		t.Errorf("windows without LOCALAPPDATA: %q, want %q", got, want)
	}
}
