package locales

import (
	"errors"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// messageError is an error that names its own message, such as a store's
// "wrong passphrase" sentinel. It is declared here, where it is consumed, so
// packages below locales need not import it: a method is enough.
type messageError interface {
	error
	MessageID() string
}

// Error explains err to a coordinator. A *domain.ValidationError (wrapped or
// not) gives one "Field label: message" line per field. An error that has a
// MessageID() method naming a known message gives that message. Anything
// else gives "error.unexpected" with the error's text as the technical
// detail. A nil error gives "".
func (l *Localizer) Error(err error) string {
	if err == nil {
		return ""
	}
	var ve *domain.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		lines := make([]string, len(ve.Fields))
		for i, fe := range ve.Fields {
			lines[i] = l.FieldError(fe)
		}
		return strings.Join(lines, "\n")
	}
	var me messageError
	if errors.As(err, &me) && cat.has(l.Lang(), me.MessageID()) {
		return l.T(me.MessageID())
	}
	return l.T("error.unexpected", map[string]any{"Detail": err.Error()})
}

// FieldError returns "Field label: message" for one field error, the label
// being the message "field.<json name>" and the message the error's code,
// with its Max formatted as a number of the language.
func (l *Localizer) FieldError(fe domain.FieldError) string {
	return l.T("error.field_line", map[string]any{
		"Field":   l.T("field." + fe.Field),
		"Message": l.T(fe.Code, map[string]any{"Max": l.integer(int64(fe.Max))}),
	})
}

// Region returns the official name of the region with that code in the
// Localizer's language, or the code itself when it is unknown (a newer
// central service may know more than this build).
func (l *Localizer) Region(code string) string {
	if r, ok := domain.RegionByCode(code); ok {
		return r.Name(l.Lang())
	}
	return code
}

// Service returns the service's name in the Localizer's language, the other
// language's name when the catalog lacks it, and its ID as a last resort.
// The names come with the catalog, which the central service manages.
func (l *Localizer) Service(s domain.Service) string {
	for _, name := range []string{s.Name(l.Lang()), s.NameFR, s.NameEN} {
		if name != "" {
			return name
		}
	}
	return s.ID
}

// LegalForm names a legal form.
func (l *Localizer) LegalForm(f domain.LegalForm) string { return l.label(f.MessageID(), string(f)) }

// VisitMode names how a visit took place.
func (l *Localizer) VisitMode(m domain.VisitMode) string { return l.label(m.MessageID(), string(m)) }

// FollowUpStatus names where a follow-up stands.
func (l *Localizer) FollowUpStatus(s domain.FollowUpStatus) string {
	return l.label(s.MessageID(), string(s))
}

// MemberStatus names a member's standing.
func (l *Localizer) MemberStatus(s domain.MemberStatus) string {
	return l.label(s.MessageID(), string(s))
}

// label names an enumerated value. An empty value stays empty, and a value
// this build does not know (synced from a newer version) shows as stored
// rather than as a message ID.
func (l *Localizer) label(id, value string) string {
	if value == "" || !cat.has(l.Lang(), id) {
		return value
	}
	return l.T(id)
}
