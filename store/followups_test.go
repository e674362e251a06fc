package store

import (
	"errors"
	"slices"
	"testing"

	"leconsortium.coop/terrain/domain"
)

func TestFollowUps(t *testing.T) {
	s, dir, c := newStore(t)
	a := mustSaveMember(t, s, newMember("Coopérative agricole de Saint-Hyacinthe", "Saint-Hyacinthe", "16", domain.ProducerCoop))
	b := mustSaveMember(t, s, newMember("Mutuelle des pêcheurs de Gaspé", "Gaspé", "11", domain.Mutual))
	today := c.Today()
	mk := func(m domain.Member, service string, dueIn int, status domain.FollowUpStatus) domain.FollowUp {
		f := newFollowUp(m.ID, service, today.AddDays(dueIn))
		f.Status = status
		return mustSaveFollowUp(t, s, f)
	}
	overdueA := mk(a, "hr", -5, domain.FollowUpOpen)
	soonA := mk(a, "legal", 3, domain.FollowUpInProgress)
	laterB := mk(b, "hr", 30, domain.FollowUpOpen)
	overdueB := mk(b, "accounting", -40, domain.FollowUpInProgress)
	doneB := mk(b, "hr", -60, domain.FollowUpDone)
	dueToday := mk(a, "web", 0, domain.FollowUpOpen)

	list := func(f FollowUpFilter) []string {
		t.Helper()
		res, err := s.FollowUps(f)
		if err != nil {
			t.Fatalf("FollowUps(%+v): %v", f, err)
		}
		return ids(res, followUpID)
	}
	cases := []struct {
		name string
		f    FollowUpFilter
		want []string
	}{
		{"not done, by due", FollowUpFilter{}, []string{overdueB.ID, overdueA.ID, dueToday.ID, soonA.ID, laterB.ID}},
		{"overdue", FollowUpFilter{OverdueOnly: true}, []string{overdueB.ID, overdueA.ID}},
		{"open only", FollowUpFilter{Status: domain.FollowUpOpen}, []string{overdueA.ID, dueToday.ID, laterB.ID}},
		{"done", FollowUpFilter{Status: domain.FollowUpDone}, []string{doneB.ID}},
		{"done is never overdue", FollowUpFilter{Status: domain.FollowUpDone, OverdueOnly: true}, nil},
		{"member a", FollowUpFilter{MemberID: a.ID}, []string{overdueA.ID, dueToday.ID, soonA.ID}},
		{"member b overdue", FollowUpFilter{MemberID: b.ID, OverdueOnly: true}, []string{overdueB.ID}},
		{"member b done", FollowUpFilter{MemberID: b.ID, Status: domain.FollowUpDone}, []string{doneB.ID}},
		{"service hr", FollowUpFilter{ServiceID: "hr"}, []string{overdueA.ID, laterB.ID}},
		{"member b service hr", FollowUpFilter{MemberID: b.ID, ServiceID: "hr"}, []string{laterB.ID}},
		{"limit", FollowUpFilter{Limit: 3}, []string{overdueB.ID, overdueA.ID, dueToday.ID}},
		{"member limit", FollowUpFilter{MemberID: a.ID, Limit: 1}, []string{overdueA.ID}},
	}
	for _, tc := range cases {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// Marking one done moves it between lists; the edit is one mutation
	// with the status only.
	before, _ := s.PendingCount()
	overdueA.Status = domain.FollowUpDone
	mustSaveFollowUp(t, s, overdueA)
	if got := list(FollowUpFilter{OverdueOnly: true}); !slices.Equal(got, []string{overdueB.ID}) {
		t.Errorf("overdue after done = %v", got)
	}
	if got := list(FollowUpFilter{Status: domain.FollowUpDone}); !slices.Equal(got, []string{doneB.ID, overdueA.ID}) {
		t.Errorf("done after done = %v", got)
	}
	muts := outbox(t, s)
	if len(muts) != before+1 || !slices.Equal(fieldNames(muts[len(muts)-1]), []string{"status"}) {
		t.Fatalf("status change queued %v", fieldNames(muts[len(muts)-1]))
	}

	// Time passes: what was due soon becomes overdue.
	c.Set(c.Now().AddDate(0, 0, 10))
	if got := list(FollowUpFilter{OverdueOnly: true}); !slices.Equal(got, []string{overdueB.ID, dueToday.ID, soonA.ID}) {
		t.Errorf("overdue ten days later = %v", got)
	}

	if err := s.DeleteFollowUp(soonA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FollowUp(soonA.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FollowUp after delete = %v", err)
	}
	s = reopen(t, s, dir, c)
	if got := list(FollowUpFilter{MemberID: a.ID, Status: ""}); !slices.Equal(got, []string{dueToday.ID}) {
		t.Errorf("member a after delete and reopen = %v", got)
	}
	if err := s.SaveFollowUp(newFollowUp(domain.NewID(), "hr", today)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("follow-up for an unknown member = %v", err)
	}
	bad := newFollowUp(a.ID, "", domain.Date{})
	if err := s.SaveFollowUp(bad); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("invalid follow-up = %v", err)
	}
}
