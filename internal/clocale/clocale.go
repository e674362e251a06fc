// Package clocale is imported by main for its side effect: it rewrites a
// C or POSIX locale with a code set ("C.UTF-8", common on servers and in
// containers) to plain "C" before Fyne's lang package reads it. That
// package parses "C.UTF-8" as the language "C" and logs « Error parsing
// user locale C » at every start, even for CLI commands, which never use
// Fyne; plain "C" it skips quietly, and Terrain then speaks French
// (locales.Detect).
//
// It works because Go initialises packages in import-path order among
// those whose imports are ready: this one needs only os and strings, so it
// runs before fyne.io/fyne/v2/lang, which waits for text/template and
// more. A test of package main checks it on the real binary's imports.
package clocale

import (
	"os"
	"strings"
)

func init() { Quiet(os.Getenv, os.Setenv) }

// Quiet looks at the variable go-locale reads (the first set of LC_ALL,
// LC_MESSAGES, LANG) and, when it is C or POSIX with a code set, sets it
// to the bare name.
func Quiet(getenv func(string) string, setenv func(string, string) error) {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(k)
		if v == "" {
			continue
		}
		base, _, _ := strings.Cut(v, ".")
		base, _, _ = strings.Cut(base, "@")
		if (base == "C" || base == "POSIX") && v != base {
			_ = setenv(k, base) // best effort: at worst, Fyne's line in the log
		}
		return
	}
}
