package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// deviceIn is newDevice with the profile in dir, so that the test can close
// the store and open it again from the disk.
func deviceIn(t *testing.T, dir, server, email string) *device {
	t.Helper()
	st, err := store.Create(dir, passphrase, store.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(st, engine.Options{NetCheck: -1, Logger: quiet()})
	t.Cleanup(func() {
		_ = eng.Stop(context.Background())
		if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("close store: %v", err)
		}
	})
	if err := eng.SignIn(context.Background(), server, email, password); err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	d := &device{t: t, st: st, eng: eng}
	if d.me, err = st.Me(); err != nil {
		t.Fatal(err)
	}
	return d
}

// holdsNothingOf fails when st still shows anything of the member or of the
// records named.
func holdsNothingOf(t *testing.T, who string, st *store.Store, m domain.Member, visits, followUps, conflicts []string) {
	t.Helper()
	if _, err := st.Member(m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: member: %v, want ErrNotFound", who, err)
	}
	if hits, err := st.SearchMembers(store.MemberQuery{Text: m.Name}); err != nil || len(hits) != 0 {
		t.Errorf("%s: search finds %d members (%v)", who, len(hits), err)
	}
	for _, id := range visits {
		if _, err := st.Visit(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: visit %s: %v", who, id, err)
		}
	}
	if vs, err := st.VisitsOfMember(m.ID, 0); err != nil || len(vs) != 0 {
		t.Errorf("%s: %d visits of the member (%v)", who, len(vs), err)
	}
	for _, id := range followUps {
		if _, err := st.FollowUp(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: follow-up %s: %v", who, id, err)
		}
	}
	for _, status := range []domain.FollowUpStatus{"", domain.FollowUpDone} {
		if fs, err := st.FollowUps(store.FollowUpFilter{MemberID: m.ID, Status: status}); err != nil || len(fs) != 0 {
			t.Errorf("%s: %d follow-ups of the member (%v)", who, len(fs), err)
		}
	}
	cs, err := st.Conflicts(store.ConflictFilter{Resolved: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.MemberID == m.ID || contains(conflicts, c.ID) {
			t.Errorf("%s: conflict %s about the member", who, c.ID)
		}
	}
	err = st.EachVisit(func(v domain.Visit) error {
		if v.MemberID == m.ID {
			t.Errorf("%s: visit %s of the member in the export", who, v.ID)
		}
		return nil
	})
	if err == nil {
		err = st.EachFollowUp(func(f domain.FollowUp) error {
			if f.MemberID == m.ID {
				t.Errorf("%s: follow-up %s of the member in the export", who, f.ID)
			}
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeleteMemberReachesEveryDevice: the central office deletes a member;
// the devices of the region's two coordinators and a third that was
// offline with edits of the member all end up holding nothing of it. The
// offline device's edits come back refused, wait in its quarantine without
// their content, and are discarded.
func TestDeleteMemberReachesEveryDevice(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	w.coordinator("ben@example.org", "09")
	m, other := member("Coopérative Effacée de Natashquan", "09"), member("Mutuelle Voisine", "09")
	w.members([]domain.Member{m, other})
	a := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	b := newDevice(t, w.web.URL, "ben@example.org", deviceOptions{})
	offDir := t.TempDir()
	off := deviceIn(t, offDir, w.web.URL, "ana@example.org")
	a.sync()

	v := a.visit(m.ID, "Rencontre avec la directrice")
	ov := a.visit(other.ID, "Visite de la voisine")
	f := domain.FollowUp{ID: domain.NewID(), MemberID: m.ID, VisitID: v.ID, ServiceID: "legal",
		Description: "Envoyer le modèle de règlements", Due: domain.DateOf(time.Now()).AddDays(14)}
	if err := a.st.SaveFollowUp(f); err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()
	// A conflict about the member: both coordinators change its phone.
	a.edit(m.ID, func(x *domain.Member) { x.Phone = "418 555-0101" })
	a.sync()
	b.edit(m.ID, func(x *domain.Member) { x.Phone = "418 555-0199" })
	b.sync()
	a.sync()
	cs, err := a.st.Conflicts(store.ConflictFilter{MemberID: m.ID, Resolved: true})
	if err != nil || len(cs) == 0 {
		t.Fatalf("no conflict about the member on a: %v", err)
	}
	var conflictIDs []string
	for _, c := range cs {
		conflictIDs = append(conflictIDs, c.ID)
	}
	off.sync()

	// Offline: edits of the member, its visit and follow-up, a new visit and
	// a new follow-up.
	off.edit(m.ID, func(x *domain.Member) { x.Notes = "Nouvelle directrice en poste" })
	ev, err := off.st.Visit(v.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev.Notes = "Compte rendu complété hors ligne"
	if err := off.st.SaveVisit(ev); err != nil {
		t.Fatal(err)
	}
	ef, err := off.st.FollowUp(f.ID)
	if err != nil {
		t.Fatal(err)
	}
	ef.Status = domain.FollowUpDone
	if err := off.st.SaveFollowUp(ef); err != nil {
		t.Fatal(err)
	}
	nv := off.visit(m.ID, "Deuxième rencontre")
	nf := domain.FollowUp{ID: domain.NewID(), MemberID: m.ID, ServiceID: "hr", Description: "Rappeler",
		Due: domain.DateOf(time.Now()).AddDays(7)}
	if err := off.st.SaveFollowUp(nf); err != nil {
		t.Fatal(err)
	}

	er, err := w.srv.DeleteMember(w.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if er.Visits != 1 || er.FollowUps != 1 || er.Conflicts != len(cs) {
		t.Errorf("erasure = %+v", er)
	}
	a.sync()
	b.sync()
	sum := off.sync()
	if sum.Rejected != 5 {
		t.Errorf("offline device: %d changes refused, want 5", sum.Rejected)
	}

	visits, followUps := []string{v.ID, nv.ID}, []string{f.ID, nf.ID}
	for name, d := range map[string]*device{"a": a, "b": b, "offline": off} {
		holdsNothingOf(t, name, d.st, m, visits, followUps, conflictIDs)
		if _, err := d.st.Member(other.ID); err != nil {
			t.Errorf("%s: the other member: %v", name, err)
		}
		if _, err := d.st.Visit(ov.ID); err != nil {
			t.Errorf("%s: the other member's visit: %v", name, err)
		}
		if n, _ := d.st.PendingCount(); n != 0 {
			t.Errorf("%s: %d changes still pending", name, n)
		}
	}
	// Every device mirrors the server, which holds nothing of the member.
	want := w.serverSnapshot("09")
	for name, d := range map[string]*device{"a": a, "b": b, "offline": off} {
		if diff := want.diff(d.snapshot()); len(diff) > 0 {
			t.Errorf("%s differs from the server:\n%v", name, diff)
		}
	}

	q, err := off.st.Quarantine()
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 5 {
		t.Fatalf("offline quarantine holds %d changes, want 5: %+v", len(q), q)
	}
	for _, e := range q {
		if e.Code != "deleted" || len(e.Mutation.Fields) > 0 || len(e.Mutation.Prev) > 0 {
			t.Errorf("quarantined %d keeps content about the deleted member: %+v", e.Mutation.Seq, e)
		}
		if err := off.st.ResendQuarantined(e.Mutation.Seq); !errors.Is(err, store.ErrNothingToResend) {
			t.Errorf("resend %d: %v, want ErrNothingToResend", e.Mutation.Seq, err)
		}
	}
	// ResendQuarantined took nothing out; the coordinator discards them.
	for _, e := range q {
		if err := off.st.DiscardQuarantined(e.Mutation.Seq); err != nil {
			t.Errorf("discard %d: %v", e.Mutation.Seq, err)
		}
	}
	if n, _ := off.st.QuarantineCount(); n != 0 {
		t.Errorf("quarantine after discarding: %d", n)
	}
	off.sync()
	holdsNothingOf(t, "offline after discarding", off.st, m, visits, followUps, conflictIDs)

	// The search index is rebuilt from the disk at open: nothing there.
	if err := off.eng.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := off.st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(offDir, passphrase, store.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	holdsNothingOf(t, "offline reopened", st, m, visits, followUps, conflictIDs)
	if st.CountMembers() != 1 {
		t.Errorf("offline reopened: %d members, want 1", st.CountMembers())
	}
}

// TestRetentionPurgeReachesDevices: a visit older than the retention period
// leaves the device at the sync after the server's purge; the recent one
// stays and becomes the member's last visit.
func TestRetentionPurgeReachesDevices(t *testing.T) {
	w := newWorld(t, nil) // the default retention: 84 months
	ana := w.coordinator("ana@example.org", "09")
	m := member("Coopérative de Natashquan", "09")
	today := domain.DateOf(time.Now())
	old := domain.Visit{ID: domain.NewID(), MemberID: m.ID, CoordinatorID: ana.ID, Date: today.AddDays(-8 * 366),
		DurationMinutes: 60, Mode: domain.OnSite, Notes: "Première rencontre"}
	recent := old
	recent.ID, recent.Date, recent.Notes = domain.NewID(), today.AddDays(-30), "Rencontre récente"
	if err := w.srv.Import(w.ctx, []domain.Member{m}, []domain.Visit{old, recent}, nil); err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	d.sync()
	if _, err := d.st.Visit(old.ID); err != nil {
		t.Fatalf("the old visit did not reach the device: %v", err)
	}
	p, err := w.srv.PurgeExpired(w.ctx)
	if err != nil || p.Visits != 1 {
		t.Fatalf("purge: %+v, %v", p, err)
	}
	d.sync()
	if _, err := d.st.Visit(old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old visit after the purge: %v", err)
	}
	vs, err := d.st.VisitsOfMember(m.ID, 0)
	if err != nil || len(vs) != 1 || vs[0].ID != recent.ID {
		t.Errorf("visits after the purge: %+v, %v", vs, err)
	}
	if diff := w.serverSnapshot("09").diff(d.snapshot()); len(diff) > 0 {
		t.Errorf("device differs from the server:\n%v", diff)
	}
}
