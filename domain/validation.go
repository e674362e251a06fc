package domain

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is matched (errors.Is) by every *ValidationError, so callers can
// tell bad input from a failing disk without a type switch.
var ErrInvalid = errors.New("invalid input")

// Validation codes. Each is also the locales message ID that explains it to a
// coordinator; the locales tests check that every code has French and
// English text.
const (
	CodeRequired      = "validation.required"
	CodeTooLong       = "validation.too_long"
	CodeBadText       = "validation.bad_text"
	CodeBadID         = "validation.bad_id"
	CodeNEQ           = "validation.neq"
	CodePostalCode    = "validation.postal_code"
	CodeEmail         = "validation.email"
	CodePhone         = "validation.phone"
	CodeWebsite       = "validation.website"
	CodeRegion        = "validation.region"
	CodeLegalForm     = "validation.legal_form"
	CodeService       = "validation.service"
	CodeMode          = "validation.mode"
	CodeStatus        = "validation.status"
	CodeDateRange     = "validation.date_range"
	CodeDateFuture    = "validation.date_future"
	CodeNextVisit     = "validation.next_visit_before_visit"
	CodeDuration      = "validation.duration"
	CodeRegionsNeeded = "validation.regions_required"
	CodeDueBefore     = "validation.due_before_visit"
	CodeVisitEmpty    = "validation.visit_empty"
)

// ValidationCodes lists every code a Validate method can return.
func ValidationCodes() []string {
	return []string{CodeRequired, CodeTooLong, CodeBadText, CodeBadID, CodeNEQ,
		CodePostalCode, CodeEmail, CodePhone, CodeWebsite, CodeRegion, CodeLegalForm,
		CodeService, CodeMode, CodeStatus, CodeDateRange, CodeDateFuture, CodeNextVisit,
		CodeDuration, CodeRegionsNeeded, CodeDueBefore, CodeVisitEmpty}
}

// FieldError says what is wrong with one field. Field is the JSON name of the
// field; Code is a locales message ID; Max carries the limit for
// CodeTooLong and CodeDuration.
type FieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
	Max   int    `json:"max,omitempty"`
}

// ValidationError gathers every field error of one record, so a form can
// mark all of them at once.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + strings.TrimPrefix(f.Code, "validation.")
	}
	return "invalid input: " + strings.Join(parts, ", ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// For returns the error of one field, if any.
func (e *ValidationError) For(field string) (FieldError, bool) {
	for _, f := range e.Fields {
		if f.Field == field {
			return f, true
		}
	}
	return FieldError{}, false
}

// checker accumulates field errors.
type checker struct{ errs []FieldError }

func (c *checker) add(field, code string, max int) {
	for _, f := range c.errs {
		if f.Field == field {
			return // one message per field is enough for a form
		}
	}
	c.errs = append(c.errs, FieldError{Field: field, Code: code, Max: max})
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &ValidationError{Fields: c.errs}
}

// text checks a free-text field: valid UTF-8, no control characters but
// newlines and tabs, at most max runes.
func (c *checker) text(field, v string, required bool, max int) {
	if !utf8.ValidString(v) {
		c.add(field, CodeBadText, 0)
		return
	}
	if strings.TrimSpace(v) == "" {
		if required {
			c.add(field, CodeRequired, 0)
		}
		return
	}
	for _, r := range v {
		if IsControl(r) && r != '\n' && r != '\t' && r != '\r' || Invisible(r) {
			c.add(field, CodeBadText, 0)
			return
		}
	}
	if utf8.RuneCountInString(v) > max {
		c.add(field, CodeTooLong, max)
	}
}

// line checks a single-line field: text without any control character,
// tab and line breaks included (NormalizeLine turns them into spaces).
func (c *checker) line(field, v string, required bool, max int) {
	if strings.ContainsFunc(v, func(r rune) bool { return r == '\n' || r == '\t' || r == '\r' }) {
		c.add(field, CodeBadText, 0)
		return
	}
	c.text(field, v, required, max)
}

// CheckLine reports whether s may be stored as a single-line value: valid
// UTF-8 without controls, bidi overrides, zero-width characters or
// non-characters. An e-mail received at sign-in is checked with it before
// it is looked up anywhere.
func CheckLine(s string) bool {
	var c checker
	c.line("", s, false, len(s)+1)
	return c.err() == nil
}

func (c *checker) id(field, v string, required bool) {
	if v == "" {
		if required {
			c.add(field, CodeRequired, 0)
		}
		return
	}
	if CheckID(v) != nil {
		c.add(field, CodeBadID, 0)
	}
}

// date checks that d lies in [min, max]; a zero d is only an error when
// required.
func (c *checker) date(field string, d Date, required bool, min, max Date) {
	if d.IsZero() {
		if required {
			c.add(field, CodeRequired, 0)
		}
		return
	}
	if d.Before(min) {
		c.add(field, CodeDateRange, 0)
	} else if d.After(max) {
		c.add(field, CodeDateFuture, 0)
	}
}

func (c *checker) services(field string, ids []string) {
	for _, id := range ids {
		if !serviceIDPattern.MatchString(id) {
			c.add(field, CodeService, 0)
			return
		}
	}
}

// Lengths of the text fields, in runes.
const (
	MaxShortText = 200
	MaxLongText  = 10000
)

var (
	postalCodePattern = regexp.MustCompile(`^[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] [0-9][ABCEGHJ-NPRSTV-Z][0-9]$`)
	serviceIDPattern  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	extensionPattern  = regexp.MustCompile(`(?i)\s*(#|x|ext\.?|poste|p\.)\s*([0-9]{1,6})$`)
)

// NormalizePostalCode upper-cases a Canadian postal code and puts the single
// space where Canada Post wants it ("h2x1y4" becomes "H2X 1Y4").
func NormalizePostalCode(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) == 6 {
		return s[:3] + " " + s[3:]
	}
	return s
}

// NormalizeNEQ keeps the digits of a Québec enterprise number typed with
// spaces or dashes.
func NormalizeNEQ(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// ValidPhone accepts a North American number (10 digits, or 11 starting
// with 1) written in any usual way, optionally followed by an extension
// ("poste 12", "ext. 12", "x12").
func ValidPhone(s string) bool {
	s = extensionPattern.ReplaceAllString(strings.TrimSpace(s), "")
	digits := 0
	first := rune(0)
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if digits == 0 {
				first = r
			}
			digits++
		case strings.ContainsRune(" .-()+", r):
		default:
			return false
		}
	}
	return digits == 10 || digits == 11 && first == '1'
}

// NormalizePhone writes a valid North American number the Québec way,
// "418 555-0123", without the country code, followed by its extension as
// "poste 12" (the keyword as typed, in lower case). Anything ValidPhone
// refuses is left as it is, for the error to show what was typed.
func NormalizePhone(s string) string {
	s = strings.TrimSpace(s)
	if !ValidPhone(s) {
		return s
	}
	ext := ""
	if m := extensionPattern.FindStringSubmatch(s); m != nil {
		ext = " " + strings.ToLower(m[1]) + " " + m[2]
		s = s[:len(s)-len(m[0])]
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	digits = digits[len(digits)-10:] // drop the country code 1
	return digits[:3] + " " + digits[3:6] + "-" + digits[6:] + ext
}

// ValidEmail accepts a bare address with a dotted domain ("a@b.org", not
// "Name <a@b.org>").
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

// ValidWebsite accepts an http or https address with a host.
func ValidWebsite(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.Contains(u.Host, ".")
}

func (c *checker) email(field, v string, required bool) {
	if v == "" {
		if required {
			c.add(field, CodeRequired, 0)
		}
		return
	}
	if !CheckLine(v) || !ValidEmail(v) {
		c.add(field, CodeEmail, 0)
	}
}

func (c *checker) phone(field, v string) {
	if v != "" && !ValidPhone(v) {
		c.add(field, CodePhone, 0)
	}
}

// earliest is the first day Terrain accepts for a visit or follow-up: no
// coordinator recorded anything with it before.
var earliest = NewDate(2000, 1, 1)

func describe(kind string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", kind, err)
}
