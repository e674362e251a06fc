// Package version holds the release version of Terrain's programs, stamped
// at build time so that the app, the central service and the installer all
// say the same thing:
//
//	go build -ldflags "-X leconsortium.coop/terrain/version.Version=$(scripts/version.sh)"
//
// scripts/version.sh derives it from `git describe` and FyneApp.toml; the
// Makefile passes it to every build.
package version

import (
	"runtime/debug"
	"strings"
)

// Version is set with -ldflags -X. Left empty by a plain `go build`, in
// which case String falls back on the module version Go recorded, then on
// "dev".
var Version string

// String returns the version without a leading "v": "0.2.0",
// "0.2.0-3-gabc1234-dirty" for a build past the tag, or "dev".
func String() string {
	if v := strings.TrimPrefix(strings.TrimSpace(Version), "v"); v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "dev"
}

// Line is what --version prints: the program, its version and the Go
// release and platform it was built with, for support requests.
func Line(program string) string {
	goVersion, platform := "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOOS":
				platform = s.Value + platform
			case "GOARCH":
				platform += "/" + s.Value
			}
		}
	}
	line := program + " " + String()
	if goVersion != "" {
		line += " (" + strings.TrimSpace(goVersion+" "+platform) + ")"
	}
	return line
}
