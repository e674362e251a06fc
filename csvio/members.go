package csvio

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// ReadMembers reads a members CSV and returns the members normalised and
// validated against today. A member without an id gets a new one; one with
// an id updates that member when imported. On any problem it returns an
// *Error listing every faulty line, and no member.
func ReadMembers(r io.Reader, today domain.Date) ([]domain.Member, error) {
	header, rows, lines, err := readTable(r)
	if err != nil {
		return nil, err
	}
	cols := memberColumns()
	mapped, errs := mapHeader(header, cols, []string{"name", "legal_form", "region", "municipality"})
	if len(errs) > 0 {
		return nil, &Error{Lines: errs}
	}
	headerOf := map[string]string{}
	for i, c := range mapped {
		headerOf[c.key] = header[i]
	}
	var out []domain.Member
	ids := map[string]int{}
	for n, row := range rows {
		line := lines[n]
		if len(row) > len(header) {
			errs = append(errs, LineError{Line: line, Message: fmt.Sprintf("%d cells but the header names %d columns", len(row), len(header))})
			continue
		}
		var m domain.Member
		bad := false
		for i, cell := range row {
			if err := mapped[i].set(&m, unescapeCell(strings.TrimSpace(cell))); err != nil {
				errs = append(errs, LineError{Line: line, Column: header[i], Message: err.Error()})
				bad = true
			}
		}
		if bad {
			continue
		}
		if m.ID == "" {
			m.ID = domain.NewID()
		} else if first, dup := ids[m.ID]; dup {
			errs = append(errs, LineError{Line: line, Column: headerOf["id"], Message: fmt.Sprintf("same id as line %d", first)})
			continue
		}
		ids[m.ID] = line
		m.Normalize()
		if err := m.Validate(today); err != nil {
			var ve *domain.ValidationError
			if !errors.As(err, &ve) {
				return nil, err
			}
			for _, fe := range ve.Fields {
				errs = append(errs, LineError{Line: line, Column: headerOf[fe.Field], Message: explain(fe)})
			}
			continue
		}
		out = append(out, m)
	}
	if len(errs) > 0 {
		return nil, &Error{Lines: errs}
	}
	return out, nil
}

// explain turns a validation code into words for the operator.
func explain(fe domain.FieldError) string {
	switch fe.Code {
	case domain.CodeRequired:
		return "required"
	case domain.CodeTooLong:
		return fmt.Sprintf("longer than %d characters", fe.Max)
	case domain.CodeBadText:
		return "contains control characters"
	case domain.CodeBadID:
		return "not a UUID (leave it empty to make a new member)"
	case domain.CodeNEQ:
		return "a NEQ has 10 digits"
	case domain.CodePostalCode:
		return "not a Canadian postal code (A1A 1A1)"
	case domain.CodeEmail:
		return "not an e-mail address"
	case domain.CodePhone:
		return "not a phone number (10 digits, optional extension)"
	case domain.CodeWebsite:
		return "not a web address (https://…)"
	case domain.CodeRegion:
		return "unknown region code (01 to 17)"
	case domain.CodeLegalForm:
		return "unknown legal form"
	case domain.CodeService:
		return "unknown service"
	case domain.CodeStatus:
		return "unknown status"
	case domain.CodeDateRange, domain.CodeDateFuture:
		return "date out of range"
	}
	return strings.TrimPrefix(fe.Code, "validation.")
}

var legalFormNames = map[string]domain.LegalForm{}

func init() {
	add := func(f domain.LegalForm, names ...string) {
		legalFormNames[domain.Fold(string(f))] = f
		for _, n := range names {
			legalFormNames[domain.Fold(n)] = f
		}
	}
	add(domain.WorkerCoop, "coopérative de travail", "coop de travail", "worker co-operative", "worker cooperative")
	add(domain.ConsumerCoop, "coopérative de consommateurs", "coopérative de consommation", "consumer co-operative", "consumer cooperative")
	add(domain.ProducerCoop, "coopérative de producteurs", "producer co-operative", "producer cooperative")
	add(domain.SolidarityCoop, "coopérative de solidarité", "solidarity co-operative", "solidarity cooperative")
	add(domain.WorkerShareholderCoop, "coopérative de travailleurs actionnaire", "worker-shareholder co-operative", "worker shareholder cooperative")
	add(domain.Mutual, "mutuelle", "mutual")
	add(domain.NonProfit, "OBNL", "OSBL", "organisme à but non lucratif", "organisme sans but lucratif", "non-profit", "nonprofit", "NPO")
	add(domain.Federation, "fédération", "federation", "fédération de coopératives")
	// What the exports write, in both languages, reads back.
	for _, lf := range domain.LegalForms() {
		for _, loc := range []*locales.Localizer{fr, en} {
			legalFormNames[domain.Fold(loc.LegalForm(lf))] = lf
		}
	}
	for _, st := range domain.MemberStatuses() {
		for _, loc := range []*locales.Localizer{fr, en} {
			statusNames[domain.Fold(loc.MemberStatus(st))] = st
		}
	}
}

func parseLegalForm(s string) (domain.LegalForm, error) {
	if s == "" {
		return "", nil // Validate reports it as required
	}
	if f, ok := legalFormNames[domain.Fold(s)]; ok {
		return f, nil
	}
	return "", fmt.Errorf("unknown legal form %q (e.g. worker_coop, coopérative de solidarité, mutual, OBNL)", s)
}

func parseRegion(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	code := s
	if len(s) == 1 && s[0] >= '1' && s[0] <= '9' {
		code = "0" + s
	} else if len(s) > 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && (s[2] < '0' || s[2] > '9') {
		code = s[:2] // "09 - Côte-Nord"
	}
	if domain.ValidRegion(code) {
		return code, nil
	}
	folded := domain.Fold(s)
	for _, r := range domain.Regions() {
		if folded == domain.Fold(r.NameFR) || folded == domain.Fold(r.NameEN) {
			return r.Code, nil
		}
	}
	return "", fmt.Errorf("unknown region %q (a code from 01 to 17, or its name)", s)
}

func parseServices(s string) ([]string, error) {
	var out []string
	for _, part := range splitList(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, ok := "", false
		folded := domain.Fold(part)
		for _, svc := range domain.DefaultServices() {
			if part == svc.ID || folded == domain.Fold(svc.NameFR) || folded == domain.Fold(svc.NameEN) {
				id, ok = svc.ID, true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown service %q", part)
		}
		out = append(out, id)
	}
	return out, nil
}

func parseDate(s string) (domain.Date, error) {
	d, err := domain.ParseDate(s)
	if err != nil {
		return domain.Date{}, fmt.Errorf("not a date %q (write it YYYY-MM-DD)", s)
	}
	return d, nil
}

var statusNames = map[string]domain.MemberStatus{
	"active": domain.MemberActive, "actif": domain.MemberActive, "active member": domain.MemberActive, "membre actif": domain.MemberActive,
	"suspended": domain.MemberSuspended, "suspendu": domain.MemberSuspended, "suspendue": domain.MemberSuspended,
	"former": domain.MemberFormer, "ancien": domain.MemberFormer, "ancienne": domain.MemberFormer, "ex membre": domain.MemberFormer,
}

func parseStatus(s string) (domain.MemberStatus, error) {
	if s == "" {
		return "", nil // a new member is active
	}
	if st, ok := statusNames[domain.Fold(s)]; ok {
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (active, suspended, former / actif, suspendu, ancien)", s)
}
