package csvio

import (
	"io"
	"strconv"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// VisitRow is a visit with the names a reader of the export needs.
type VisitRow struct {
	domain.Visit
	MemberName      string
	Region          string
	CoordinatorName string
}

// FollowUpRow is a follow-up with the names a reader of the export needs.
type FollowUpRow struct {
	domain.FollowUp
	MemberName string
	Region     string
}

// NewVisitWriter starts a visits CSV in lang ("fr" or "en").
func NewVisitWriter(w io.Writer, lang string) (*Writer[VisitRow], error) {
	out := func(key, fr, en string, get func(VisitRow) string) column[VisitRow] {
		return column[VisitRow]{key: key, fr: fr, en: en, get: get}
	}
	return newWriter(w, lang, []column[VisitRow]{
		out("id", "id", "id", func(v VisitRow) string { return v.ID }),
		out("date", "date", "date", func(v VisitRow) string { return v.Date.String() }),
		out("member_id", "membre_id", "member_id", func(v VisitRow) string { return v.MemberID }),
		out("member", "membre", "member", func(v VisitRow) string { return v.MemberName }),
		out("region", "région", "region", func(v VisitRow) string { return v.Region }),
		out("coordinator_id", "coordonnateur_id", "coordinator_id", func(v VisitRow) string { return v.CoordinatorID }),
		out("coordinator", "coordonnateur", "coordinator", func(v VisitRow) string { return v.CoordinatorName }),
		out("duration_minutes", "durée_minutes", "duration_minutes", func(v VisitRow) string { return strconv.Itoa(v.DurationMinutes) }),
		out("mode", "mode", "mode", func(v VisitRow) string { return string(v.Mode) }),
		out("people_met", "personnes_rencontrées", "people_met", func(v VisitRow) string { return v.PeopleMet }),
		out("services_discussed", "services_abordés", "services_discussed", func(v VisitRow) string { return strings.Join(v.ServicesDiscussed, "|") }),
		out("notes", "notes", "notes", func(v VisitRow) string { return v.Notes }),
		out("needs", "besoins", "needs", func(v VisitRow) string { return v.Needs }),
		out("next_visit", "prochaine_visite", "next_visit", func(v VisitRow) string { return v.NextVisit.String() }),
	})
}

// NewFollowUpWriter starts a follow-ups CSV in lang ("fr" or "en").
func NewFollowUpWriter(w io.Writer, lang string) (*Writer[FollowUpRow], error) {
	out := func(key, fr, en string, get func(FollowUpRow) string) column[FollowUpRow] {
		return column[FollowUpRow]{key: key, fr: fr, en: en, get: get}
	}
	return newWriter(w, lang, []column[FollowUpRow]{
		out("id", "id", "id", func(f FollowUpRow) string { return f.ID }),
		out("member_id", "membre_id", "member_id", func(f FollowUpRow) string { return f.MemberID }),
		out("member", "membre", "member", func(f FollowUpRow) string { return f.MemberName }),
		out("region", "région", "region", func(f FollowUpRow) string { return f.Region }),
		out("visit_id", "visite_id", "visit_id", func(f FollowUpRow) string { return f.VisitID }),
		out("service_id", "service", "service", func(f FollowUpRow) string { return f.ServiceID }),
		out("description", "description", "description", func(f FollowUpRow) string { return f.Description }),
		out("due", "échéance", "due", func(f FollowUpRow) string { return f.Due.String() }),
		out("status", "statut", "status", func(f FollowUpRow) string { return string(f.Status) }),
		out("assigned_to", "assigné_à", "assigned_to", func(f FollowUpRow) string { return f.AssignedTo }),
		out("done_on", "fait_le", "done_on", func(f FollowUpRow) string { return f.DoneOn.String() }),
		out("done_by", "fait_par", "done_by", func(f FollowUpRow) string { return f.DoneBy }),
	})
}
