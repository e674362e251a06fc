package domain

import (
	"sort"
	"strings"
)

// Member is a collective enterprise that uses the consortium's services.
// The JSON names are the field names of the sync protocol: each is merged on
// its own, which is why the main contact is four fields, not one object.
type Member struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	LegalForm    LegalForm    `json:"legal_form"`
	NEQ          string       `json:"neq"`
	Region       string       `json:"region"`
	Municipality string       `json:"municipality"`
	Address      string       `json:"address"`
	PostalCode   string       `json:"postal_code"`
	Phone        string       `json:"phone"`
	Email        string       `json:"email"`
	Website      string       `json:"website"`
	ContactName  string       `json:"contact_name"`
	ContactRole  string       `json:"contact_role"`
	ContactPhone string       `json:"contact_phone"`
	ContactEmail string       `json:"contact_email"`
	Services     []string     `json:"services"`
	MemberSince  Date         `json:"member_since"`
	Status       MemberStatus `json:"status"`
	Notes        string       `json:"notes"`
}

// Normalize puts every field in its stored form: NFC text without
// surrounding blanks or invisible characters, single-line fields on one
// line, postal code "A1A 1A1", phones "418 555-0123", NEQ digits, e-mails in lower
// case, services sorted without repeats. Validate expects a normalised value.
func (m *Member) Normalize() {
	for _, p := range []*string{&m.Name, &m.Municipality, &m.Address, &m.Phone,
		&m.Website, &m.ContactName, &m.ContactRole, &m.ContactPhone} {
		*p = NormalizeLine(*p)
	}
	m.Notes = NormalizeText(m.Notes)
	m.Phone = NormalizePhone(m.Phone) // already on one line (above)
	m.ContactPhone = NormalizePhone(m.ContactPhone)
	m.NEQ = NormalizeNEQ(NormalizeLine(m.NEQ))
	m.PostalCode = NormalizePostalCode(NormalizeLine(m.PostalCode))
	m.Email = strings.ToLower(NormalizeLine(m.Email))
	m.ContactEmail = strings.ToLower(NormalizeLine(m.ContactEmail))
	m.Services = normalizeIDs(m.Services)
	if m.Status == "" {
		m.Status = MemberActive
	}
}

// Validate checks a normalised member against today's date. It returns a
// *ValidationError listing every faulty field, or nil.
func (m Member) Validate(today Date) error {
	var c checker
	c.id("id", m.ID, true)
	c.line("name", m.Name, true, MaxShortText)
	if !m.LegalForm.Valid() {
		c.add("legal_form", codeOrRequired(string(m.LegalForm), CodeLegalForm), 0)
	}
	if m.NEQ != "" && !isDigits(m.NEQ, 10) {
		c.add("neq", CodeNEQ, 0)
	}
	if !ValidRegion(m.Region) {
		c.add("region", codeOrRequired(m.Region, CodeRegion), 0)
	}
	c.line("municipality", m.Municipality, true, MaxShortText)
	c.line("address", m.Address, false, MaxShortText)
	if m.PostalCode != "" && !postalCodePattern.MatchString(m.PostalCode) {
		c.add("postal_code", CodePostalCode, 0)
	}
	c.phone("phone", m.Phone)
	c.email("email", m.Email, false)
	if m.Website != "" && !ValidWebsite(m.Website) {
		c.add("website", CodeWebsite, 0)
	}
	c.line("contact_name", m.ContactName, false, MaxShortText)
	c.line("contact_role", m.ContactRole, false, MaxShortText)
	c.phone("contact_phone", m.ContactPhone)
	c.email("contact_email", m.ContactEmail, false)
	c.services("services", m.Services)
	c.date("member_since", m.MemberSince, false, NewDate(1850, 1, 1), today)
	if !m.Status.Valid() {
		c.add("status", codeOrRequired(string(m.Status), CodeStatus), 0)
	}
	c.text("notes", m.Notes, false, MaxLongText)
	return describe("member", c.err())
}

// SearchKey is the folded text that member search matches against: name,
// municipality, NEQ and contact name.
func (m Member) SearchKey() string {
	return Fold(m.Name + " " + m.Municipality + " " + m.NEQ + " " + m.ContactName)
}

func codeOrRequired(v, code string) string {
	if v == "" {
		return CodeRequired
	}
	return code
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func normalizeIDs(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, strings.TrimSpace(id))
	}
	sort.Strings(out)
	n := 0
	for i, id := range out {
		if id == "" || i > 0 && id == out[i-1] {
			continue
		}
		out[n] = id
		n++
	}
	if n == 0 {
		return nil
	}
	return out[:n]
}
