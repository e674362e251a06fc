package contract

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// assertErased checks that a record is a bare tombstone: deleted, with
// nothing left of what it held.
func (e *env) assertErased(kind domain.Kind, id string) {
	e.t.Helper()
	r, ok := e.record(kind, id)
	if !ok {
		e.t.Errorf("%s %s: no tombstone at all; devices would never hear of the deletion", kind, id)
		return
	}
	if !r.Deleted || len(r.Fields) > 0 || len(r.Versions) > 0 || r.Parent != "" {
		e.t.Errorf("%s %s is not a bare tombstone: %s", kind, id, jsonOf(r))
	}
}

// childrenOf returns the records the backend still links to a member.
func (e *env) childrenOf(memberID string) []central.Record {
	e.t.Helper()
	var out []central.Record
	err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
		var err error
		out, err = tx.Children(memberID)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func testMemberDossier(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	m, other := member("09", "Coopérative de Natashquan"), member("09", "Mutuelle de Havre-Saint-Pierre")
	v, gone := visit(m, ana.ID, e.today()), visit(m, ana.ID, e.today().AddDays(-3))
	f := followUp(m, e.today())
	ov, of := visit(other, ana.ID, e.today()), followUp(other, e.today())
	a.sync(a.create(kMember, m), a.create(kVisit, v), a.create(kVisit, gone), a.create(kFollowUp, f),
		a.create(kMember, other), a.create(kVisit, ov), a.create(kFollowUp, of))
	noRejections(t, a)
	b.sync()
	// Two concurrent edits of two fields: two conflicts, one then resolved.
	pa, wa := a.edit(kMember, m.ID, map[string]any{"phone": "418 555-0101"}), a.edit(kMember, m.ID, map[string]any{"website": "https://a.example.org"})
	pb, wb := b.edit(kMember, m.ID, map[string]any{"phone": "418 555-0199"}), b.edit(kMember, m.ID, map[string]any{"website": "https://b.example.org"})
	a.sync(pa, wa)
	b.sync(pb, wb)
	a.sync(a.remove(kVisit, gone.ID), a.edit(kMember, m.ID, map[string]any{"postal_code": "pas un code"}))
	if len(a.lastRej) != 1 || a.lastRej[0].Code != protocol.RejectInvalid {
		t.Fatalf("rejections = %s, want the invalid postal code", jsonOf(a.lastRej))
	}
	cs := e.conflicts(m.ID)
	if len(cs) != 2 {
		t.Fatalf("%d conflicts, want 2", len(cs))
	}
	a.sync(a.edit(protocol.KindConflict, cs[0].ID, map[string]any{"resolved": true}))
	noRejections(t, a)

	d, err := e.srv.MemberDossier(e.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.MemberID != m.ID || d.Member.ID != m.ID || d.Member.Deleted || str(d.Member.Fields["name"]) != m.Name {
		t.Errorf("member part: %s", jsonOf(d.Member))
	}
	phone := d.Member.Versions["phone"]
	if phone.Device != b.id || phone.By != "Coordo ana <ana@example.org>" || phone.ChangedAt.IsZero() || phone.Seq == 0 {
		t.Errorf("who changed the phone: %+v", phone)
	}
	ids := func(rs []central.DossierRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(d.Visits); len(got) != 2 || !slices.Contains(got, v.ID) || !slices.Contains(got, gone.ID) {
		t.Errorf("visits = %v, want %s and the deleted %s", got, v.ID, gone.ID)
	}
	for _, r := range d.Visits {
		if r.ID == gone.ID && (!r.Deleted || str(r.Fields["notes"]) != gone.Notes) {
			t.Errorf("a deleted visit still holds its notes, so the dossier shows them: %s", jsonOf(r))
		}
	}
	if got := ids(d.FollowUps); len(got) != 1 || got[0] != f.ID {
		t.Errorf("follow-ups = %v, want %s", got, f.ID)
	}
	resolved := 0
	for _, c := range d.Conflicts {
		if string(c.Fields["resolved"]) == "true" {
			resolved++
		}
	}
	if len(d.Conflicts) != 2 || resolved != 1 {
		t.Errorf("conflicts = %s, want both, one resolved", jsonOf(d.Conflicts))
	}
	if len(d.Rejections) != 1 || d.Rejections[0].ID != m.ID || d.Rejections[0].DeviceID != a.id || d.Rejections[0].Code != protocol.RejectInvalid {
		t.Errorf("rejections = %s", jsonOf(d.Rejections))
	}
	doc, _ := json.Marshal(d)
	for _, id := range []string{other.ID, ov.ID, of.ID} {
		if strings.Contains(string(doc), id) {
			t.Errorf("the dossier names %s, a record of another member", id)
		}
	}
	if strings.Contains(string(doc), other.Name) {
		t.Error("the dossier holds another member's name")
	}
	if _, err := e.srv.MemberDossier(e.ctx, domain.NewID()); !errors.Is(err, central.ErrUnknownMember) {
		t.Errorf("dossier of an unknown id: %v", err)
	}
}

func testDeleteMember(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("ben@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ben@example.org")
	offline := e.device("ana@example.org")
	m, other := member("09", "Coopérative de Natashquan"), member("09", "Mutuelle de Havre-Saint-Pierre")
	v, f, ov := visit(m, ana.ID, e.today()), followUp(m, e.today()), visit(other, ana.ID, e.today())
	v.Notes = "Rencontre à Natashquan avec la directrice"
	a.sync(a.create(kMember, m), a.create(kVisit, v), a.create(kFollowUp, f), a.create(kMember, other), a.create(kVisit, ov))
	b.sync()
	offline.sync()
	// A conflict about the member.
	a.sync(a.edit(kMember, m.ID, map[string]any{"phone": "418 555-0101"}))
	b.sync(b.edit(kMember, m.ID, map[string]any{"phone": "418 555-0199"}))
	a.sync()
	cs := e.conflicts(m.ID)
	if len(cs) != 1 || !a.has(protocol.KindConflict, cs[0].ID) {
		t.Fatalf("conflicts = %s", jsonOf(cs))
	}
	// The offline device edits the member, its visit and follow-up, and
	// records a new visit; it pushes after the deletion.
	pending := []protocol.Mutation{
		offline.edit(kMember, m.ID, map[string]any{"notes": "Nouvelle directrice"}),
		offline.edit(kVisit, v.ID, map[string]any{"notes": "Compte rendu complété"}),
		offline.edit(kFollowUp, f.ID, map[string]any{"status": "done"}),
		offline.create(kVisit, visit(m, ana.ID, e.today())),
	}

	er, err := e.srv.DeleteMember(e.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if er.Name != m.Name || er.Region != "09" || er.AlreadyDeleted || er.Visits != 1 || er.FollowUps != 1 || er.Conflicts != 1 {
		t.Errorf("erasure = %+v", er)
	}
	for _, id := range []struct {
		kind domain.Kind
		id   string
	}{{kMember, m.ID}, {kVisit, v.ID}, {kFollowUp, f.ID}, {protocol.KindConflict, cs[0].ID}} {
		e.assertErased(id.kind, id.id)
	}
	if kids := e.childrenOf(m.ID); len(kids) != 0 {
		t.Errorf("the backend still links %d records to the erased member", len(kids))
	}
	if dump := e.dump(); strings.Contains(dump, m.Name) || strings.Contains(dump, v.Notes) || strings.Contains(dump, "418 555-01") {
		t.Errorf("the backend still holds the erased member's data:\n%s", dump)
	}
	if r, ok := e.record(kMember, other.ID); !ok || r.Deleted {
		t.Error("another member was touched")
	}
	if r, ok := e.record(kVisit, ov.ID); !ok || r.Deleted {
		t.Error("another member's visit was touched")
	}
	for _, d := range []*device{a, b} {
		d.sync()
		for _, k := range []struct {
			kind domain.Kind
			id   string
		}{{kMember, m.ID}, {kVisit, v.ID}, {kFollowUp, f.ID}, {protocol.KindConflict, cs[0].ID}} {
			if d.has(k.kind, k.id) {
				t.Errorf("device %s still holds %s %s", d.id[:8], k.kind, k.id)
			}
		}
		if !d.has(kVisit, ov.ID) {
			t.Errorf("device %s lost another member's visit", d.id[:8])
		}
		d.assertMirrors()
	}
	offline.sync(pending...)
	want := []string{protocol.RejectDeleted, protocol.RejectDeleted, protocol.RejectDeleted, protocol.RejectUnknownMember}
	if len(offline.lastRej) != len(want) {
		t.Fatalf("offline device's rejections = %s, want %v", jsonOf(offline.lastRej), want)
	}
	for i, r := range offline.lastRej {
		if r.Code != want[i] {
			t.Errorf("rejection %d = %s, want %s", i, jsonOf(r), want[i])
		}
	}
	offline.assertMirrors()
	e.assertErased(kMember, m.ID)

	again, err := e.srv.DeleteMember(e.ctx, m.ID)
	if err != nil || !again.AlreadyDeleted || again.Visits+again.FollowUps+again.Conflicts != 0 {
		t.Errorf("deleting again: %+v, %v", again, err)
	}
	d, err := e.srv.MemberDossier(e.ctx, m.ID)
	if err != nil || !d.Member.Deleted || len(d.Member.Fields) > 0 || len(d.Visits)+len(d.FollowUps)+len(d.Conflicts) > 0 {
		t.Errorf("dossier of the erased member: %s, %v", jsonOf(d), err)
	}
	if _, err := e.srv.DeleteMember(e.ctx, domain.NewID()); !errors.Is(err, central.ErrUnknownMember) {
		t.Errorf("deleting an unknown id: %v", err)
	}
}

// testDeleteMemberFromDevice checks that the central office deleting a
// member from its own device erases it as DeleteMember does.
func testDeleteMemberFromDevice(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("central@example.org")
	a, c := e.device("ana@example.org"), e.device("central@example.org")
	m := member("09", "Coopérative de Tadoussac")
	v := visit(m, ana.ID, e.today())
	a.sync(a.create(kMember, m), a.create(kVisit, v))
	c.sync()
	c.sync(c.remove(kMember, m.ID))
	noRejections(t, c)
	e.assertErased(kMember, m.ID)
	e.assertErased(kVisit, v.ID)
	a.sync()
	if a.has(kMember, m.ID) || a.has(kVisit, v.ID) {
		t.Error("the member or its visit is still on the coordinator's device")
	}
	a.assertMirrors()
}

func testPurgeVisits(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, func(o *central.Options) { o.VisitRetentionMonths = 84 })
	ana := e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Natashquan")
	today := e.today()
	cutoff, on := e.srv.VisitCutoff()
	if want := central.RetentionCutoff(today, 84); !on || cutoff != want || cutoff.Year != today.Year-7 {
		t.Fatalf("cutoff = %v %v, want %v", cutoff, on, want)
	}
	old, deleted := visit(m, ana.ID, cutoff.AddDays(-1)), visit(m, ana.ID, cutoff.AddDays(-400))
	kept, recent := visit(m, ana.ID, cutoff), visit(m, ana.ID, today)
	oldF := followUp(m, cutoff.AddDays(-30)) // due two weeks before the cutoff
	oldF.VisitID = old.ID
	keptF := followUp(m, cutoff.AddDays(-7)) // due a week after it
	keptF.VisitID = old.ID
	if err := e.srv.Import(e.ctx, []domain.Member{m}, []domain.Visit{old, deleted, kept, recent}, []domain.FollowUp{oldF, keptF}); err != nil {
		t.Fatal(err)
	}
	a.sync()
	// A deleted visit keeps its fields on the server until the purge; a
	// conflict about the old visit holds its notes.
	a.sync(a.remove(kVisit, deleted.ID), a.edit(kVisit, old.ID, map[string]any{"notes": "Version de l'appareil"}))
	noRejections(t, a)
	if err := e.srv.Import(e.ctx, nil, []domain.Visit{func() domain.Visit { x := old; x.Notes = "Version du bureau"; return x }()}, nil); err != nil {
		t.Fatal(err)
	}
	if len(e.conflicts(old.ID)) != 1 {
		t.Fatalf("conflicts about the old visit = %s", jsonOf(e.conflicts(old.ID)))
	}
	a.sync()
	if !a.has(kVisit, old.ID) || !a.has(kFollowUp, oldF.ID) {
		t.Fatal("the device lacks the old visit before the purge")
	}

	p, err := e.srv.PurgeExpired(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Before != cutoff || p.Visits != 2 || p.FollowUps != 1 || p.Conflicts != 1 {
		t.Errorf("purge = %+v, want 2 visits, 1 follow-up, 1 conflict before %v", p, cutoff)
	}
	e.assertErased(kVisit, old.ID)
	e.assertErased(kVisit, deleted.ID)
	e.assertErased(kFollowUp, oldF.ID)
	for _, id := range []string{kept.ID, recent.ID} {
		if r, ok := e.record(kVisit, id); !ok || r.Deleted {
			t.Errorf("visit %s, dated on or after the cutoff, was purged", id)
		}
	}
	if r, ok := e.record(kFollowUp, keptF.ID); !ok || r.Deleted {
		t.Error("a follow-up due after the cutoff went with its old visit")
	}
	if dump := e.dump(); strings.Contains(dump, "Version de l'appareil") || strings.Contains(dump, "Version du bureau") {
		t.Errorf("the old visit's notes survive somewhere:\n%s", dump)
	}
	a.sync()
	if a.has(kVisit, old.ID) || a.has(kFollowUp, oldF.ID) || !a.has(kVisit, kept.ID) || !a.has(kFollowUp, keptF.ID) {
		t.Error("the device does not mirror the purge")
	}
	a.assertMirrors()
	if p, err := e.srv.PurgeExpired(e.ctx); err != nil || p.Visits+p.FollowUps+p.Conflicts != 0 {
		t.Errorf("second purge: %+v, %v; want nothing left to do", p, err)
	}
	// An explicit cutoff purges up to it.
	p, err = e.srv.PurgeVisits(e.ctx, cutoff.AddDays(1))
	if err != nil || p.Visits != 1 || p.FollowUps != 0 {
		t.Errorf("purge before %v: %+v, %v; want the visit dated on the old cutoff", cutoff.AddDays(1), p, err)
	}
	e.assertErased(kVisit, kept.ID)
}

func testRetentionOff(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, func(o *central.Options) { o.VisitRetentionMonths = -1 })
	ana := e.coordinator("ana@example.org", "09")
	m := member("09", "Coopérative de Natashquan")
	v := visit(m, ana.ID, domain.NewDate(2001, 1, 15))
	if err := e.srv.Import(e.ctx, []domain.Member{m}, []domain.Visit{v}, nil); err != nil {
		t.Fatal(err)
	}
	if _, on := e.srv.VisitCutoff(); on {
		t.Error("a negative retention still has a cutoff")
	}
	if p, err := e.srv.PurgeExpired(e.ctx); err != nil || p.Visits != 0 {
		t.Errorf("purge with retention off: %+v, %v", p, err)
	}
	if r, ok := e.record(kVisit, v.ID); !ok || r.Deleted {
		t.Error("a visit was purged with retention off")
	}
}

// testKeepRetention: the loop serve runs purges at once, then waits for the
// next interval until stopped.
func testKeepRetention(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil) // the default retention
	ana := e.coordinator("ana@example.org", "09")
	m := member("09", "Coopérative de Natashquan")
	v := visit(m, ana.ID, e.today().AddDays(-8*366))
	if err := e.srv.Import(e.ctx, []domain.Member{m}, []domain.Visit{v}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.KeepRetention(ctx, time.Hour)
	}()
	deadline := time.Now().Add(30 * time.Second) // a hang, not a timing requirement
	for {
		if r, _ := e.record(kVisit, v.ID); r.Deleted {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the retention loop did not purge at start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	e.assertErased(kVisit, v.ID)
}

// testStaleFailuresForgotten: the throttle's counters name e-mail and IP
// addresses; once they no longer slow anyone down they are deleted.
func testStaleFailuresForgotten(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	for range 3 {
		if status, _, _ := e.signIn("ana@example.org", "wrong password", domain.NewID()); status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", status)
		}
	}
	failures := func(key string) central.Failures {
		t.Helper()
		var f central.Failures
		err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
			var err error
			f, err = tx.Failures(key)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if n, err := e.srv.ForgetStaleFailures(e.ctx); err != nil || n != 0 {
		t.Fatalf("forget fresh failures: %d, %v; want 0 deleted", n, err)
	}
	if f := failures("email:ana@example.org"); f.Count != 3 {
		t.Fatalf("ana's failures = %+v, want 3", f)
	}
	e.clock.Advance(time.Hour + time.Minute)
	if status, _, _ := e.signIn("ben@example.org", "wrong password", domain.NewID()); status != http.StatusUnauthorized {
		t.Fatalf("unknown e-mail: %d", status)
	}
	n, err := e.srv.ForgetStaleFailures(e.ctx)
	if err != nil || n != 1 {
		t.Fatalf("forget stale failures: %d, %v; want 1 deleted (ana's)", n, err)
	}
	if f := failures("email:ana@example.org"); f != (central.Failures{}) {
		t.Errorf("ana's stale counter kept: %+v", f)
	}
	if f := failures("email:ben@example.org"); f.Count != 1 {
		t.Errorf("ben's fresh counter = %+v, want 1", f)
	}
	if f := failures("addr:127.0.0.1"); f.Count == 0 {
		t.Errorf("the address counter, fresh again, was deleted")
	}
}
