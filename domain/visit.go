package domain

import (
	"strconv"
	"strings"
)

// Visit records one meeting between a coordinator and a member. Only the
// coordinator who wrote it edits it.
type Visit struct {
	ID                string    `json:"id"`
	MemberID          string    `json:"member_id"`
	CoordinatorID     string    `json:"coordinator_id"`
	Date              Date      `json:"date"`
	DurationMinutes   int       `json:"duration_minutes"`
	Mode              VisitMode `json:"mode"`
	PeopleMet         string    `json:"people_met"`
	ServicesDiscussed []string  `json:"services_discussed"`
	Notes             string    `json:"notes"`
	Needs             string    `json:"needs"`
	NextVisit         Date      `json:"next_visit"`
}

// MaxVisitMinutes bounds a visit's duration: a full day.
const MaxVisitMinutes = 24 * 60

// Normalize puts the visit's text in stored form and sorts its services.
func (v *Visit) Normalize() {
	v.PeopleMet = NormalizeText(v.PeopleMet)
	v.Notes = NormalizeText(v.Notes)
	v.Needs = NormalizeText(v.Needs)
	v.ServicesDiscussed = normalizeIDs(v.ServicesDiscussed)
}

// Validate checks a normalised visit. A visit cannot be dated after tomorrow
// (a laptop's zone may be a day off), nor before 2000; the next visit comes
// after it and within five years. A visit must say something — people met,
// a service discussed, notes or needs: the form pre-fills date, duration and
// mode, so an empty one could otherwise be saved by mistake and synced.
func (v Visit) Validate(today Date) error {
	var c checker
	c.id("id", v.ID, true)
	c.id("member_id", v.MemberID, true)
	c.id("coordinator_id", v.CoordinatorID, true)
	c.date("date", v.Date, true, earliest, today.AddDays(1))
	if v.DurationMinutes <= 0 || v.DurationMinutes > MaxVisitMinutes {
		c.add("duration_minutes", CodeDuration, MaxVisitMinutes)
	}
	if !v.Mode.Valid() {
		c.add("mode", codeOrRequired(string(v.Mode), CodeMode), 0)
	}
	c.text("people_met", v.PeopleMet, false, MaxShortText*5)
	c.services("services_discussed", v.ServicesDiscussed)
	c.text("notes", v.Notes, false, MaxLongText)
	c.text("needs", v.Needs, false, MaxLongText)
	if !v.NextVisit.IsZero() {
		if !v.Date.IsZero() && !v.NextVisit.After(v.Date) {
			c.add("next_visit", CodeNextVisit, 0)
		} else {
			c.date("next_visit", v.NextVisit, false, earliest, today.AddDays(5*366))
		}
	}
	if v.Empty() {
		c.add("notes", CodeVisitEmpty, 0)
	}
	return describe("visit", c.err())
}

// ParseDuration reads a visit's length as a coordinator types it: minutes
// ("90", "90 min"), hours and minutes ("1h30", "1 h 30", "1:30") or
// decimal hours ("1,5 h", "1.5h"). ok is false for anything else; the
// range is Validate's business.
func ParseDuration(s string) (minutes int, ok bool) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "minutes"), "min")
	num := func(t string) (int, bool) {
		n, err := strconv.Atoi(t)
		if err != nil || t[0] < '0' || t[0] > '9' {
			return 0, false
		}
		return n, true
	}
	h, m, found := strings.Cut(s, "h")
	if !found {
		h, m, found = strings.Cut(s, ":")
		if found && m == "" {
			return 0, false
		}
	}
	if !found {
		return num(s)
	}
	if strings.ContainsAny(h, ".,") && m == "" {
		f, err := strconv.ParseFloat(strings.Replace(h, ",", ".", 1), 64)
		if err != nil || f < 0 || h[0] < '0' || h[0] > '9' {
			return 0, false
		}
		return int(f*60 + 0.5), true
	}
	hours, ok := num(h)
	if !ok {
		return 0, false
	}
	mins := 0
	if m != "" {
		if mins, ok = num(m); !ok || mins >= 60 {
			return 0, false
		}
	}
	return hours*60 + mins, true
}

// Empty reports whether the visit records nothing of the meeting itself.
func (v Visit) Empty() bool {
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	return blank(v.PeopleMet) && len(v.ServicesDiscussed) == 0 && blank(v.Notes) && blank(v.Needs)
}
