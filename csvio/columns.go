package csvio

import (
	"strconv"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// The column sets of the exports, in file order, and the members import's.
// A new field of a record is one line here (and its header label in
// locales); docs/csv.md lists them.

func visitColumns() []column[domain.Visit] {
	out := func(key, label string, get func(*Names, domain.Visit) string) column[domain.Visit] {
		return column[domain.Visit]{key: key, label: label, get: get}
	}
	return []column[domain.Visit]{
		out("date", "field.date", func(_ *Names, v domain.Visit) string { return v.Date.String() }),
		out("member", "field.member_id", func(n *Names, v domain.Visit) string { return n.members[v.MemberID].name }),
		out("municipality", "field.municipality", func(n *Names, v domain.Visit) string { return n.members[v.MemberID].municipality }),
		out("region", "field.region", func(n *Names, v domain.Visit) string { return n.region(n.members[v.MemberID].region) }),
		out("coordinator", "field.coordinator_id", func(n *Names, v domain.Visit) string { return n.coordinators[v.CoordinatorID] }),
		out("mode", "field.mode", func(n *Names, v domain.Visit) string { return n.loc.VisitMode(v.Mode) }),
		out("duration_minutes", "field.duration_minutes", func(_ *Names, v domain.Visit) string { return strconv.Itoa(v.DurationMinutes) }),
		out("people_met", "field.people_met", func(_ *Names, v domain.Visit) string { return v.PeopleMet }),
		out("services_discussed", "field.services_discussed", func(n *Names, v domain.Visit) string { return n.serviceList(v.ServicesDiscussed) }),
		out("notes", "field.notes", func(_ *Names, v domain.Visit) string { return v.Notes }),
		out("needs", "field.needs", func(_ *Names, v domain.Visit) string { return v.Needs }),
		out("next_visit", "field.next_visit", func(_ *Names, v domain.Visit) string { return v.NextVisit.String() }),
		out("member_id", "csv.column.member_ref", func(_ *Names, v domain.Visit) string { return v.MemberID }),
		out("coordinator_id", "csv.column.coordinator_ref", func(_ *Names, v domain.Visit) string { return v.CoordinatorID }),
		out("id", "field.id", func(_ *Names, v domain.Visit) string { return v.ID }),
	}
}

func followUpColumns() []column[domain.FollowUp] {
	out := func(key, label string, get func(*Names, domain.FollowUp) string) column[domain.FollowUp] {
		return column[domain.FollowUp]{key: key, label: label, get: get}
	}
	return []column[domain.FollowUp]{
		out("due", "field.due", func(_ *Names, f domain.FollowUp) string { return f.Due.String() }),
		out("member", "field.member_id", func(n *Names, f domain.FollowUp) string { return n.members[f.MemberID].name }),
		out("municipality", "field.municipality", func(n *Names, f domain.FollowUp) string { return n.members[f.MemberID].municipality }),
		out("region", "field.region", func(n *Names, f domain.FollowUp) string { return n.region(n.members[f.MemberID].region) }),
		out("service", "field.service_id", func(n *Names, f domain.FollowUp) string {
			if f.ServiceID == "" {
				return ""
			}
			return n.serviceList([]string{f.ServiceID})
		}),
		out("description", "field.description", func(_ *Names, f domain.FollowUp) string { return f.Description }),
		out("status", "field.status", func(n *Names, f domain.FollowUp) string { return n.loc.FollowUpStatus(f.Status) }),
		out("assigned_to", "field.assigned_to", func(_ *Names, f domain.FollowUp) string { return f.AssignedTo }),
		out("done_on", "field.done_on", func(_ *Names, f domain.FollowUp) string { return f.DoneOn.String() }),
		out("done_by", "field.done_by", func(_ *Names, f domain.FollowUp) string { return f.DoneBy }),
		out("member_id", "csv.column.member_ref", func(_ *Names, f domain.FollowUp) string { return f.MemberID }),
		out("visit_id", "csv.column.visit_ref", func(_ *Names, f domain.FollowUp) string { return f.VisitID }),
		out("id", "field.id", func(_ *Names, f domain.FollowUp) string { return f.ID }),
	}
}

func text(get func(*domain.Member) *string) (func(*Names, domain.Member) string, func(*domain.Member, string) error) {
	return func(_ *Names, m domain.Member) string { return *get(&m) },
		func(m *domain.Member, s string) error { *get(m) = s; return nil }
}

// memberColumns are both the members export and the import: the aliases
// keep accepting the snake_case headers of earlier exports and the usual
// spellings of spreadsheets made by hand.
func memberColumns() []column[domain.Member] {
	col := func(key, label string, aliases []string, get func(*domain.Member) *string) column[domain.Member] {
		g, s := text(get)
		return column[domain.Member]{key: key, label: label, aliases: aliases, get: g, set: s}
	}
	return []column[domain.Member]{
		col("id", "field.id", []string{"identifiant"}, func(m *domain.Member) *string { return &m.ID }),
		col("name", "field.name", []string{"nom", "raison sociale", "nom du membre", "member name"}, func(m *domain.Member) *string { return &m.Name }),
		{key: "legal_form", label: "field.legal_form", aliases: []string{"forme_juridique", "forme", "type"},
			get: func(n *Names, m domain.Member) string { return n.loc.LegalForm(m.LegalForm) },
			set: func(m *domain.Member, s string) (err error) { m.LegalForm, err = parseLegalForm(s); return err }},
		col("neq", "field.neq", []string{"numero d entreprise du quebec", "quebec enterprise number"}, func(m *domain.Member) *string { return &m.NEQ }),
		{key: "region", label: "field.region", aliases: []string{"région", "code de region", "region code", "code region"},
			get: func(n *Names, m domain.Member) string { return n.region(m.Region) },
			set: func(m *domain.Member, s string) (err error) { m.Region, err = parseRegion(s); return err }},
		col("municipality", "field.municipality", []string{"municipalité", "ville", "city", "town"}, func(m *domain.Member) *string { return &m.Municipality }),
		col("address", "field.address", []string{"adresse"}, func(m *domain.Member) *string { return &m.Address }),
		col("postal_code", "field.postal_code", []string{"code_postal"}, func(m *domain.Member) *string { return &m.PostalCode }),
		col("phone", "field.phone", []string{"téléphone"}, func(m *domain.Member) *string { return &m.Phone }),
		col("email", "field.email", []string{"courriel", "e mail", "adresse courriel"}, func(m *domain.Member) *string { return &m.Email }),
		col("website", "field.website", []string{"site_web", "site internet", "web"}, func(m *domain.Member) *string { return &m.Website }),
		col("contact_name", "field.contact_name", []string{"contact_nom", "personne contact", "contact"}, func(m *domain.Member) *string { return &m.ContactName }),
		col("contact_role", "field.contact_role", []string{"contact_fonction", "contact titre", "contact title"}, func(m *domain.Member) *string { return &m.ContactRole }),
		col("contact_phone", "field.contact_phone", []string{"contact_téléphone"}, func(m *domain.Member) *string { return &m.ContactPhone }),
		col("contact_email", "field.contact_email", []string{"contact_courriel"}, func(m *domain.Member) *string { return &m.ContactEmail }),
		{key: "services", label: "field.services", aliases: []string{"services utilises"},
			get: func(n *Names, m domain.Member) string { return n.serviceList(m.Services) },
			set: func(m *domain.Member, s string) (err error) { m.Services, err = parseServices(s); return err }},
		{key: "member_since", label: "field.member_since", aliases: []string{"membre_depuis", "date d adhesion"},
			get: func(_ *Names, m domain.Member) string { return m.MemberSince.String() },
			set: func(m *domain.Member, s string) (err error) { m.MemberSince, err = parseDate(s); return err }},
		{key: "status", label: "field.status", aliases: []string{"statut"},
			get: func(n *Names, m domain.Member) string { return n.loc.MemberStatus(m.Status) },
			set: func(m *domain.Member, s string) (err error) { m.Status, err = parseStatus(s); return err }},
		col("notes", "field.notes", []string{"remarques", "commentaires", "comments"}, func(m *domain.Member) *string { return &m.Notes }),
	}
}

// splitList splits a list cell: the exports join with ", ", hand-made
// files also use '|' or ';'.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ';' })
}
