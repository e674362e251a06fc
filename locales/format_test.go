package locales

import (
	"testing"
	"time"
)

func TestDateTime(t *testing.T) {
	at := time.Date(2024, 3, 13, 14, 5, 0, 0, time.Local)
	for lang, want := range map[string]string{French: "13 mars 2024 à 14 h 05", English: "March 13, 2024 at 2:05 PM"} {
		if got := New(lang).DateTime(at); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	if got := New(French).DateTime(time.Time{}); got != "" {
		t.Errorf("zero time: %q", got)
	}
}
