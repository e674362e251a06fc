package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNoSuchDay is returned by ParseDate for text in the YYYY-MM-DD form
// naming a day the calendar does not have (2026-02-30), so that a form can
// say so rather than blame the format.
var ErrNoSuchDay = errors.New("no such day")

// Date is a calendar day without time of day or zone: a visit happens on a
// day wherever the coordinator's laptop thinks it is. The zero Date means
// "not set" and encodes as an empty JSON string.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

const dateLayout = "2006-01-02"

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// NewDate returns the given day, normalised as time.Date does (Feb 30 becomes
// Mar 1 or 2).
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// ParseDate reads an ISO 8601 day (2024-03-13). An empty string is the zero
// Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		var y, m, d int
		if n, _ := fmt.Sscanf(s, "%04d-%02d-%02d", &y, &m, &d); n == 3 && len(s) == len(dateLayout) &&
			m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			return Date{}, fmt.Errorf("parse date %q: %w", s, ErrNoSuchDay)
		}
		return Date{}, fmt.Errorf("parse date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// DaysIn returns the number of days of a month.
func DaysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight UTC of that day.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String returns the ISO form, or "" for the zero Date. It sorts like the day.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Time().Format(dateLayout)
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.Time().After(e.Time()) }

// AddDays returns the day n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// MarshalJSON encodes the day as "YYYY-MM-DD", or "" when unset.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD" or "".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
