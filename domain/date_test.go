package domain_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestDateJSON(t *testing.T) {
	type rec struct {
		Due domain.Date `json:"due"`
	}
	tests := []struct {
		date domain.Date
		json string
	}{
		{domain.NewDate(2024, 3, 13), `{"due":"2024-03-13"}`},
		{domain.NewDate(2024, 2, 29), `{"due":"2024-02-29"}`},
		{domain.Date{}, `{"due":""}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(rec{tt.date})
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.date, b, err, tt.json)
		}
		var back rec
		if err := json.Unmarshal(b, &back); err != nil || back.Due != tt.date {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back.Due, err, tt.date)
		}
	}
	var null rec
	if err := json.Unmarshal([]byte(`{"due":null}`), &null); err != nil || !null.Due.IsZero() {
		t.Errorf("null: %v, %v; want the zero Date", null.Due, err)
	}
	for _, bad := range []string{`{"due":"2024-02-30"}`, `{"due":"13/03/2024"}`, `{"due":20240313}`, `{"due":"2024-3-13"}`} {
		var r rec
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("Unmarshal(%s) accepted %v", bad, r.Due)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	if got := domain.NewDate(2023, 2, 30); got != domain.NewDate(2023, 3, 2) {
		t.Errorf("NewDate(2023-02-30) = %v, want 2023-03-02", got)
	}
	if got := domain.NewDate(2024, 2, 28).AddDays(1); got.String() != "2024-02-29" {
		t.Errorf("leap day: %v", got)
	}
	if got := domain.NewDate(2024, 3, 10).AddDays(-366); got.String() != "2023-03-10" {
		t.Errorf("AddDays(-366) = %v", got)
	}
	a, b := domain.NewDate(2024, 12, 31), domain.NewDate(2025, 1, 1)
	if !a.Before(b) || a.After(b) || !b.After(a) || a.Before(a) {
		t.Errorf("ordering of %v and %v is wrong", a, b)
	}
	if a.String() >= b.String() {
		t.Errorf("String does not sort like the day: %q >= %q", a, b)
	}
	// 23:30 in Québec is already the next day in UTC; the local day counts.
	est := time.FixedZone("EST", -5*3600)
	if got := domain.DateOf(time.Date(2024, 1, 15, 23, 30, 0, 0, est)); got.String() != "2024-01-15" {
		t.Errorf("DateOf = %v, want 2024-01-15", got)
	}
	if d, err := domain.ParseDate(""); err != nil || !d.IsZero() || d.String() != "" {
		t.Errorf(`ParseDate("") = %v, %v`, d, err)
	}
}

// A day that does not exist is told apart from text that is not a date,
// so that a form can say which.
func TestParseDateNoSuchDay(t *testing.T) {
	for _, s := range []string{"2026-02-30", "2026-04-31", "2025-02-29"} {
		_, err := domain.ParseDate(s)
		if !errors.Is(err, domain.ErrNoSuchDay) {
			t.Errorf("ParseDate(%q) = %v, want ErrNoSuchDay", s, err)
		}
	}
	for _, s := range []string{"2026-2-3", "30/02/2026", "2026-13-01", "x"} {
		_, err := domain.ParseDate(s)
		if err == nil || errors.Is(err, domain.ErrNoSuchDay) {
			t.Errorf("ParseDate(%q) = %v, want a format error", s, err)
		}
	}
	if d, err := domain.ParseDate("2024-02-29"); err != nil || d != domain.NewDate(2024, 2, 29) {
		t.Errorf("leap day: %v, %v", d, err)
	}
	if n := domain.DaysIn(2026, time.February); n != 28 {
		t.Errorf("DaysIn(2026-02) = %d", n)
	}
	if n := domain.DaysIn(2024, time.February); n != 29 {
		t.Errorf("DaysIn(2024-02) = %d", n)
	}
}
