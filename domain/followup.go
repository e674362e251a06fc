package domain

import (
	"errors"
	"strings"
)

// FollowUp is something promised to a member, usually during a visit.
// Coordinators and the central office both edit it.
type FollowUp struct {
	ID          string         `json:"id"`
	MemberID    string         `json:"member_id"`
	VisitID     string         `json:"visit_id"`
	ServiceID   string         `json:"service_id"`
	Description string         `json:"description"`
	Due         Date           `json:"due"`
	Status      FollowUpStatus `json:"status"`
	AssignedTo  string         `json:"assigned_to"`
	// DoneOn and DoneBy say when and by whom the follow-up was marked
	// done; both are empty while it is not, and on follow-ups closed
	// before Terrain recorded them.
	DoneOn Date   `json:"done_on"`
	DoneBy string `json:"done_by"`
}

// Normalize puts the follow-up's text in stored form; a new follow-up is open.
func (f *FollowUp) Normalize() {
	f.Description = NormalizeText(f.Description)
	f.AssignedTo = NormalizeLine(f.AssignedTo)
	f.DoneBy = NormalizeLine(f.DoneBy)
	if f.Status == "" {
		f.Status = FollowUpOpen
	}
}

// Validate checks a normalised follow-up. The due date may be in the past
// (that is what "overdue" means) but not absurdly far either way.
func (f FollowUp) Validate(today Date) error {
	var c checker
	c.id("id", f.ID, true)
	c.id("member_id", f.MemberID, true)
	c.id("visit_id", f.VisitID, false)
	if f.ServiceID == "" {
		c.add("service_id", CodeRequired, 0)
	} else {
		c.services("service_id", []string{f.ServiceID})
	}
	c.text("description", f.Description, true, MaxLongText)
	c.date("due", f.Due, true, earliest, today.AddDays(5*366))
	if !f.Status.Valid() {
		c.add("status", codeOrRequired(string(f.Status), CodeStatus), 0)
	}
	c.line("assigned_to", f.AssignedTo, false, MaxShortText)
	// Tomorrow at most, as for a visit: a laptop's zone may be a day off.
	c.date("done_on", f.DoneOn, false, earliest, today.AddDays(1))
	c.line("done_by", f.DoneBy, false, MaxShortText)
	return describe("follow-up", c.err())
}

// ValidateForVisit checks a follow-up promised during visit v: Validate's
// rules, and a due day no earlier than the visit.
func (f FollowUp) ValidateForVisit(v Visit, today Date) error {
	err := f.Validate(today)
	if f.Due.IsZero() || v.Date.IsZero() || !f.Due.Before(v.Date) {
		return err
	}
	var c checker
	var ve *ValidationError
	if errors.As(err, &ve) {
		c.errs = ve.Fields
	} else if err != nil {
		return err
	}
	c.add("due", CodeDueBefore, 0)
	return describe("follow-up", c.err())
}

// Overdue reports whether the follow-up is not done and its due day has
// passed.
func (f FollowUp) Overdue(today Date) bool {
	return f.Status != FollowUpDone && !f.Due.IsZero() && f.Due.Before(today)
}

// Coordinator is a consortium employee who visits the members of some
// regions. Coordinators are managed centrally.
type Coordinator struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Email    string   `json:"email"`
	Regions  []string `json:"regions"`
	Disabled bool     `json:"disabled"`
}

// Normalize puts the coordinator's fields in stored form.
func (k *Coordinator) Normalize() {
	k.Name = NormalizeLine(k.Name)
	k.Email = NormalizeLine(k.Email)
	k.Email = strings.ToLower(k.Email)
	k.Regions = SortedRegionCodes(k.Regions)
}

// Validate checks a normalised coordinator.
func (k Coordinator) Validate() error {
	var c checker
	c.id("id", k.ID, true)
	c.line("name", k.Name, true, MaxShortText)
	c.email("email", k.Email, true)
	if len(k.Regions) == 0 {
		c.add("regions", CodeRegionsNeeded, 0)
	}
	for _, r := range k.Regions {
		if !ValidRegion(r) {
			c.add("regions", CodeRegion, 0)
		}
	}
	return describe("coordinator", c.err())
}

// InScope reports whether the coordinator's regions include region.
func (k Coordinator) InScope(region string) bool {
	for _, r := range k.Regions {
		if r == region {
			return true
		}
	}
	return false
}
