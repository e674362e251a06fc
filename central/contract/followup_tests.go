package contract

import (
	"testing"

	"leconsortium.coop/terrain/central"
)

// testFollowUpCompletion: a follow-up marked done on one device arrives on
// the other with its day and author, and reopening clears both.
func testFollowUpCompletion(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	m := member("09", "Coopérative de Sept-Îles")
	f := followUp(m, e.today())
	a.sync(a.create(kMember, m), a.create(kFollowUp, f))
	b.sync()
	day := e.today().String()
	a.sync(a.edit(kFollowUp, f.ID, map[string]any{"status": "done", "done_on": day, "done_by": "Ana Tremblay"}))
	if len(a.lastRej) != 0 {
		t.Fatalf("marking done was refused: %s", jsonOf(a.lastRej))
	}
	b.sync()
	if got := b.field(kFollowUp, f.ID, "done_on"); got != day {
		t.Errorf("done_on on the other device = %q, want %q", got, day)
	}
	if got := b.field(kFollowUp, f.ID, "done_by"); got != "Ana Tremblay" {
		t.Errorf("done_by on the other device = %q", got)
	}
	b.sync(b.edit(kFollowUp, f.ID, map[string]any{"status": "open", "done_on": "", "done_by": ""}))
	a.sync()
	if got := a.field(kFollowUp, f.ID, "done_on"); got != "" {
		t.Errorf("done_on after reopening = %q", got)
	}
	// A day in the future is refused like any bad date.
	a.sync(a.edit(kFollowUp, f.ID, map[string]any{"status": "done", "done_on": e.today().AddDays(30).String()}))
	if len(a.lastRej) != 1 {
		t.Errorf("a completion a month ahead was accepted: %s", jsonOf(a.lastRej))
	}
	a.assertMirrors()
	b.assertMirrors()
}
