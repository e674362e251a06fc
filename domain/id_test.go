package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestNewIDShape(t *testing.T) {
	for i := 0; i < 100; i++ {
		id := domain.NewID()
		if err := domain.CheckID(id); err != nil {
			t.Fatalf("CheckID(%q) = %v", id, err)
		}
		if id[14] != '7' {
			t.Fatalf("%q: version nibble %c, want 7", id, id[14])
		}
		if !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("%q: variant nibble %c, want 8, 9, a or b", id, id[19])
		}
	}
}

// Many ids fall in the same millisecond here; the counter must keep them in
// creation order, which is what the store's key order relies on.
func TestNewIDMonotonic(t *testing.T) {
	prev := domain.NewID()
	for i := 0; i < 20000; i++ {
		id := domain.NewID()
		if id <= prev {
			t.Fatalf("id %d: %q not after %q", i, id, prev)
		}
		prev = id
	}
}

func TestNewIDAt(t *testing.T) {
	_ = domain.NewID() // a later clock seen first must not move the explicit one
	at := time.Date(2021, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	prev := ""
	for i := 0; i < 100; i++ {
		id := domain.NewIDAt(at)
		got, ok := domain.IDTime(id)
		if !ok || !got.Equal(at) {
			t.Fatalf("IDTime(NewIDAt(%v)) = %v, %v", at, got, ok)
		}
		if id <= prev {
			t.Fatalf("same-millisecond ids out of order: %q after %q", id, prev)
		}
		prev = id
	}
}

func TestIDTime(t *testing.T) {
	// NewID may run ahead of the wall clock after a burst (it borrows the
	// next millisecond), never behind it.
	before := time.Now().Truncate(time.Millisecond)
	id := domain.NewID()
	if got, ok := domain.IDTime(id); !ok || got.Before(before) {
		t.Errorf("IDTime(%q) = %v, %v; want not before %v", id, got, ok, before)
	}
	at := time.UnixMilli(1_700_000_000_123)
	if got, ok := domain.IDTime(domain.NewIDAt(at)); !ok || !got.Equal(at) {
		t.Errorf("IDTime(NewIDAt(%v)) = %v, %v", at, got, ok)
	}
	if _, ok := domain.IDTime("0190a8c5-3f2e-4b7a-9c1d-2e3f4a5b6c7d"); ok {
		t.Error("IDTime accepted a version 4 id")
	}
	if _, ok := domain.IDTime("not-an-id"); ok {
		t.Error("IDTime accepted garbage")
	}
}

func TestCheckID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7d", true},
		{"0190a8c5-3f2e-4b7a-9c1d-2e3f4a5b6c7d", true}, // any version
		{"0190A8C5-3F2E-7B7A-9C1D-2E3F4A5B6C7D", false},
		{"0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7", false},
		{"0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7dd", false},
		{"0190a8c5_3f2e-7b7a-9c1d-2e3f4a5b6c7d", false},
		{"0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7g", false},
		{"0190a8c53f2e7b7a9c1d2e3f4a5b6c7d", false},
		{"", false},
	}
	for _, tt := range tests {
		err := domain.CheckID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, domain.ErrBadID) {
			t.Errorf("CheckID(%q) = %v, want ErrBadID", tt.id, err)
		}
	}
}
