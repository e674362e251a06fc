package report

import (
	"io"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// Visit is what a visit report shows.
type Visit struct {
	Member      domain.Member
	Visit       domain.Visit
	FollowUps   []domain.FollowUp // the follow-ups promised at this visit
	Coordinator string            // the name of who made the visit
	Services    []domain.Service  // the catalog; the default one fills gaps
	Made        time.Time         // when the report is made
}

// WriteVisit writes the report of one visit, for the member: who met whom,
// when and how, what was discussed, the needs heard, what was promised,
// and the member's profile as the consortium has it.
func WriteVisit(w io.Writer, loc *locales.Localizer, r Visit) error {
	title := loc.T("pdf.visit.title")
	d := newDoc(loc, title+" — "+r.Member.Name, r.Coordinator, r.Services, r.Made)
	d.header(title, r.Member)
	v := r.Visit

	d.section(loc.T("pdf.section.visit"))
	d.field(loc.T("field.date"), loc.Date(v.Date))
	d.field(loc.T("field.mode"), loc.VisitMode(v.Mode))
	if v.DurationMinutes > 0 {
		d.field(loc.T("pdf.duration"), loc.N("visit.minutes", v.DurationMinutes))
	}
	d.field(loc.T("field.coordinator_id"), r.Coordinator)
	d.field(loc.T("field.people_met"), v.PeopleMet)
	d.field(loc.T("field.services_discussed"), d.serviceList(v.ServicesDiscussed))
	if !v.NextVisit.IsZero() {
		d.field(loc.T("field.next_visit"), loc.Date(v.NextVisit))
	}
	if v.Notes != "" {
		d.section(loc.T("field.notes"))
		d.paragraph(v.Notes)
	}
	if v.Needs != "" {
		d.section(loc.T("field.needs"))
		d.paragraph(v.Needs)
	}
	if len(r.FollowUps) > 0 {
		d.section(loc.T("pdf.section.followups"))
		for _, f := range r.FollowUps {
			d.followUp(f)
		}
	}
	d.section(loc.T("pdf.section.member"))
	d.profile(r.Member)
	return d.finish(w)
}
