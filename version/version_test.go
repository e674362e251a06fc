package version

import (
	"strings"
	"testing"
)

func TestStringStripsV(t *testing.T) {
	defer func(v string) { Version = v }(Version)
	Version = "v1.2.3-4-gabcdef0\n"
	if got := String(); got != "1.2.3-4-gabcdef0" {
		t.Fatalf("String() = %q", got)
	}
	if got := Line("terrain"); !strings.HasPrefix(got, "terrain 1.2.3-4-gabcdef0") {
		t.Fatalf("Line() = %q", got)
	}
}

func TestStringUnstamped(t *testing.T) {
	defer func(v string) { Version = v }(Version)
	Version = ""
	// A test binary has no module version: the fallback is "dev".
	if got := String(); got != "dev" {
		t.Fatalf("String() = %q, want dev", got)
	}
}
