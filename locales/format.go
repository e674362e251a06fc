package locales

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"leconsortium.coop/terrain/domain"
)

// Date returns the day written out: "13 mars 2024" and "1er mars 2024" in
// French, "March 13, 2024" in English. The zero Date gives "".
func (l *Localizer) Date(d domain.Date) string {
	if d.IsZero() {
		return ""
	}
	t := d.Time() // normalises an out-of-range Date the way the store would
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = l.T("date.first_day")
	}
	return l.T("date.long", map[string]any{
		"Day":   day,
		"Month": l.T(fmt.Sprintf("date.month.%02d", int(t.Month()))),
		"Year":  strconv.Itoa(t.Year()), // a year is never grouped
	})
}

// DateTime returns a moment in the computer's time zone, day and time
// of day: "13 mars 2024 à 14 h 05", "March 13, 2024 at 2:05 PM". The zero
// time gives "".
func (l *Localizer) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Local()
	clock := t.Format("15 h 04") // the Office québécois de la langue française's style
	if l.Lang() == English {
		clock = t.Format("3:04 PM")
	}
	return l.T("date.at", map[string]any{"Date": l.Date(domain.DateOf(t)), "Time": clock})
}

// DateShort returns the ISO day "2024-03-13" in both languages: ISO 8601 is
// the Québec norm for numeric dates and leaves no day/month ambiguity
// between French and English users. The zero Date gives "".
func (l *Localizer) DateShort(d domain.Date) string { return d.String() }

// separators returns the digit group and decimal separators. French uses
// the narrow no-break space (U+202F), so a number never wraps across lines.
func (l *Localizer) separators() (group, decimal string) {
	if l.Lang() == English {
		return ",", "."
	}
	return "\u202f", ","
}

// Number returns v rounded to decimals places with the language's
// separators: "1 234,5" in French, "1,234.5" in English. A negative decimals
// gives the fewest digits that represent v exactly.
func (l *Localizer) Number(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if decimals < 0 {
		decimals = -1
	}
	return l.digits(strconv.FormatFloat(v, 'f', decimals, 64))
}

// integer formats a count exactly, beyond float64's 53 bits.
func (l *Localizer) integer(n int64) string {
	return l.digits(strconv.FormatInt(n, 10))
}

// digits regroups a number written by strconv ("-1234.5").
func (l *Localizer) digits(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	group, decimal := l.separators()
	var b strings.Builder
	if neg && strings.Trim(s, "0.") != "" { // no "-0,00" once rounded
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString(decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// Ago says how long ago something happened, for "last sync" and similar:
// "à l’instant" / "just now" under a minute (or for a time in the future,
// when clocks disagree), then whole minutes, hours and days, rounded down.
func (l *Localizer) Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return l.T("ago.just_now")
	case d < time.Hour:
		return l.N("ago.minutes", int(d/time.Minute))
	case d < 24*time.Hour:
		return l.N("ago.hours", int(d/time.Hour))
	default:
		return l.N("ago.days", int(d/(24*time.Hour)))
	}
}
