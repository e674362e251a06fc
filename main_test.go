package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A C locale with a code set (LANG=C.UTF-8, as on servers and in
// containers) must not make Fyne log « Error parsing user locale C » at
// start: internal/clocale rewrites it first. The test binary imports
// what the app does, so it runs itself with such a locale.
func TestNoLocaleErrorUnderCLocale(t *testing.T) {
	if os.Getenv("TERRAIN_TEST_CHILD") != "" {
		return // the child: its package initialisation is the test
	}
	for _, env := range [][]string{{"LANG=C.UTF-8"}, {"LANG=", "LC_ALL=C.utf8"}, {"LANG=POSIX.UTF-8"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoLocaleErrorUnderCLocale$")
		cmd.Env = append(append(os.Environ(), "TERRAIN_TEST_CHILD=1", "LC_ALL=", "LC_MESSAGES=", "LANGUAGE="), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", env, err, out)
		}
		if strings.Contains(string(out), "locale") {
			t.Errorf("%v: the log speaks of the locale:\n%s", env, out)
		}
	}
}
