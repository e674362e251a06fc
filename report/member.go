package report

import (
	"io"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// RecentVisits is how many visits a member sheet shows in full; older ones
// are counted.
const RecentVisits = 5

// Member is what a member sheet shows.
type Member struct {
	Member       domain.Member
	Visits       []domain.Visit    // newest first
	FollowUps    []domain.FollowUp // the open ones
	Coordinators map[string]string // coordinator id → name, for the visits
	Services     []domain.Service  // the catalog; the default one fills gaps
	Made         time.Time         // when the sheet is made
}

// WriteMember writes a member sheet, to print before a meeting: the
// profile, main contact and services, the notes, the open follow-ups and
// the latest visits.
func WriteMember(w io.Writer, loc *locales.Localizer, s Member) error {
	title := loc.T("pdf.member.title")
	d := newDoc(loc, title+" — "+s.Member.Name, "", s.Services, s.Made)
	d.header(title, s.Member)

	d.section(loc.T("member.profile"))
	d.profile(s.Member)
	if s.Member.Notes != "" {
		d.section(loc.T("field.notes"))
		d.paragraph(s.Member.Notes)
	}
	d.section(loc.T("member.open_followups", map[string]any{"N": len(s.FollowUps)}))
	if len(s.FollowUps) == 0 {
		d.paragraph(loc.T("member.no_open_followups"))
	}
	for _, f := range s.FollowUps {
		d.followUp(f)
	}
	d.section(loc.T("pdf.section.recent_visits"))
	if len(s.Visits) == 0 {
		d.paragraph(loc.T("member.no_visits"))
	}
	for i, v := range s.Visits {
		if i == RecentVisits {
			d.paragraph(loc.N("member.more_visits", len(s.Visits)-RecentVisits))
			break
		}
		d.visitSummary(v, s.Coordinators[v.CoordinatorID])
	}
	return d.finish(w)
}

// visitSummary is one visit of the sheet's history: when, how, by whom,
// then who was met, what was discussed and noted.
func (d *doc) visitSummary(v domain.Visit, coordinator string) {
	loc := d.loc
	var minutes string
	if v.DurationMinutes > 0 {
		minutes = loc.N("visit.minutes", v.DurationMinutes)
	}
	details := join("\n",
		optional(v.PeopleMet, func() string { return loc.T("visit.summary.people", map[string]any{"People": v.PeopleMet}) }),
		optional(d.serviceList(v.ServicesDiscussed), func() string {
			return loc.T("visit.summary.services", map[string]any{"Services": d.serviceList(v.ServicesDiscussed)})
		}),
		v.Notes,
		optional(v.Needs, func() string { return loc.T("visit.summary.needs", map[string]any{"Needs": v.Needs}) }),
	)
	d.bullet(join(" · ", loc.Date(v.Date), loc.VisitMode(v.Mode), minutes, coordinator), details)
}

// optional is text() when value is not empty.
func optional(value string, text func() string) string {
	if value == "" {
		return ""
	}
	return text()
}
