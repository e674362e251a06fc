// Package profiledir says where the app keeps its profile by default.
//
// On Windows that is %LOCALAPPDATA%\Terrain\profile: the local, not the
// roaming, application data, which logon and logoff copy to and from a
// server on managed networks (an encrypted database of hundreds of
// megabytes has no business there, and two machines would fight over its
// lock). Elsewhere it is Fyne's storage folder for the app id
// (~/.config/fyne/coop.leconsortium.terrain/profile on Linux).
package profiledir

import "path/filepath"

// Default returns the default profile directory for goos; getenv reads
// the environment and fyneRoot returns Fyne's storage folder for the app.
func Default(goos string, getenv func(string) string, fyneRoot func() string) string {
	if goos == "windows" {
		if local := getenv("LOCALAPPDATA"); local != "" {
			return filepath.Join(local, "Terrain", "profile")
		}
	}
	return filepath.Join(fyneRoot(), "profile")
}
