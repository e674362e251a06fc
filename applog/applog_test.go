package applog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotates: past MaxBytes the file moves to .1, older ones shift, the
// oldest beyond Keep is dropped, and no line is split.
func TestRotates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Hélène Côté", "logs")
	l, err := Open(dir, "terrain.log", 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two lines a file
	for i := range 7 {
		if _, err := l.Write([]byte(string(rune('a'+i)) + line[1:])); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"terrain.log": "g", "terrain.log.1": "ef", "terrain.log.2": "cd"}
	for name, firsts := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, ln := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if len(ln) != 39 {
				t.Errorf("%s: line of %d bytes", name, len(ln))
			}
			got += ln[:1]
		}
		if got != firsts {
			t.Errorf("%s holds lines %q, want %q", name, got, firsts)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "terrain.log.3")); !os.IsNotExist(err) {
		t.Errorf("terrain.log.3 exists beyond Keep: %v", err)
	}
	// Reopening appends to the current file.
	l, err = Open(dir, "terrain.log", 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("h" + line[1:]))
	l.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "terrain.log")); len(b) != 80 {
		t.Errorf("after reopening: %d bytes, want 80", len(b))
	}
}

func TestDir(t *testing.T) {
	profile := filepath.Join("base", "Terrain", "profile")
	if got, want := Dir(profile+string(filepath.Separator)), filepath.Join("base", "Terrain", "logs"); got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
}
