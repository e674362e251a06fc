package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// TestTwoDevicesConverge: two coordinators of region 09 sync, go offline,
// each records visits and edits members (two of the edits collide), then
// sync. Both devices and the server end with the same data, and the
// colliding edit is a conflict on both devices with both values kept.
func TestTwoDevicesConverge(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09", "11")
	w.coordinator("ben@example.org", "09")
	var ms []domain.Member
	for i := range 12 {
		region := []string{"09", "09", "11", "03"}[i%4]
		ms = append(ms, member(fmt.Sprintf("Coopérative %02d", i), region))
	}
	w.members(ms)
	shared, anaOnly := ms[0], ms[2]

	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ben := newDevice(t, w.web.URL, "ben@example.org", deviceOptions{})
	if sum := ana.sync(); sum.Pulled == 0 || sum.Pages != 1 {
		t.Fatalf("first sync of ana: %+v", sum)
	}
	ben.sync()
	if got := ana.st.CountMembers(); got != 9 {
		t.Errorf("ana holds %d members, want the 9 of regions 09 and 11", got)
	}
	if got := ben.st.CountMembers(); got != 6 {
		t.Errorf("ben holds %d members, want the 6 of region 09", got)
	}

	// Offline, both work.
	var visits []domain.Visit
	for i := range 5 {
		visits = append(visits, ana.visit(shared.ID, fmt.Sprintf("Visite d’Ana %d", i)))
		visits = append(visits, ben.visit(ms[1].ID, fmt.Sprintf("Visite de Ben %d", i)))
	}
	visits = append(visits, ana.visit(anaOnly.ID, "Gaspésie"))
	ana.edit(shared.ID, func(m *domain.Member) { m.Phone = "418 555-0111"; m.Notes = "Nouvelle direction" })
	ben.edit(shared.ID, func(m *domain.Member) { m.Phone = "418 555-0199"; m.Email = "direction@example.org" })
	ana.eng.Refresh()
	if s := ana.eng.State(); s.Pending != 7 {
		t.Errorf("ana pending = %d, want 7", s.Pending)
	}

	ana.sync()
	ben.sync()
	ana.sync()

	for _, d := range []*device{ana, ben} {
		if s := d.eng.State(); s.Pending != 0 || s.LastError != nil || s.LastSuccess.IsZero() || s.Quarantined != 0 {
			t.Errorf("state after sync = %+v", s)
		}
	}
	if diff := w.serverSnapshot("09", "11").diff(ana.snapshot()); len(diff) > 0 {
		t.Errorf("ana differs from the server:\n%s", strings.Join(diff, "\n"))
	}
	if diff := w.serverSnapshot("09").diff(ben.snapshot()); len(diff) > 0 {
		t.Errorf("ben differs from the server:\n%s", strings.Join(diff, "\n"))
	}
	got, err := ana.st.Member(shared.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Fields edited on one side only both apply.
	if got.Notes != "Nouvelle direction" || got.Email != "direction@example.org" {
		t.Errorf("merged member: notes %q email %q", got.Notes, got.Email)
	}
	// The phone collided: one value won, the other is in a conflict
	// record that both devices hold.
	values := []string{"418 555-0111", "418 555-0199"}
	if !slices.Contains(values, got.Phone) {
		t.Errorf("phone = %q", got.Phone)
	}
	for _, d := range []*device{ana, ben} {
		cs, err := d.st.Conflicts(store.ConflictFilter{MemberID: shared.ID})
		if err != nil || len(cs) != 1 {
			t.Fatalf("conflicts = %+v, %v", cs, err)
		}
		c := cs[0]
		var win, lose string
		json.Unmarshal(c.Winner.Value, &win)
		json.Unmarshal(c.Loser.Value, &lose)
		pair := []string{win, lose}
		slices.Sort(pair)
		if c.Field != "phone" || !slices.Equal(pair, values) || win != got.Phone {
			t.Errorf("conflict = field %s winner %q loser %q", c.Field, win, lose)
		}
		if s := d.eng.State(); s.Conflicts != 1 {
			t.Errorf("state conflicts = %d", s.Conflicts)
		}
	}
	if n := len(w.serverConflicts()); n != 1 {
		t.Errorf("server holds %d conflicts, want 1", n)
	}
	if n := ana.visitCount(); n != len(visits) {
		t.Errorf("ana holds %d visits, want %d", n, len(visits))
	}

	// Ana marks the conflict handled; Ben sees it resolved.
	cs, _ := ana.st.Conflicts(store.ConflictFilter{})
	if err := ana.st.ResolveConflict(cs[0].ID); err != nil {
		t.Fatal(err)
	}
	ana.sync()
	ben.sync()
	if n, _ := ben.st.ConflictCount(); n != 0 {
		t.Errorf("ben still has %d unresolved conflicts", n)
	}
	// A quiet sync is one round trip.
	if sum := ben.sync(); sum.Requests != 1 || sum.Pulled != 0 {
		t.Errorf("quiet sync = %+v, want one request and nothing pulled", sum)
	}
}

// TestRejectedGoesToQuarantine: a refused mutation is quarantined and the
// ones after it apply.
func TestRejectedGoesToQuarantine(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	w.coordinator("ben@example.org", "09")
	m := member("Coopérative du Port", "09")
	w.members([]domain.Member{m})
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ben := newDevice(t, w.web.URL, "ben@example.org", deviceOptions{})
	ben.sync()
	bens := ben.visit(m.ID, "La visite de Ben")
	ben.sync()
	ana.sync()
	// Only its author edits a visit: the server refuses Ana's edit of
	// Ben's, and takes her own visit queued after it.
	vb, err := ana.st.Visit(bens.ID)
	if err != nil {
		t.Fatal(err)
	}
	vb.Notes = "corrigé par Ana"
	if err := ana.st.SaveVisit(vb); err != nil {
		t.Fatal(err)
	}
	v := ana.visit(m.ID, "Après")
	sum := ana.sync()
	if sum.Rejected != 1 || sum.Pushed != 2 {
		t.Errorf("summary = %+v, want 2 pushed, 1 rejected", sum)
	}
	s := ana.eng.State()
	if s.Quarantined != 1 || s.Pending != 0 || s.LastError != nil {
		t.Errorf("state = %+v", s)
	}
	q, _ := ana.st.Quarantine()
	if len(q) != 1 || q[0].Code != "forbidden" || q[0].Mutation.ID != bens.ID {
		t.Fatalf("quarantine = %+v", q)
	}
	if _, err := ana.st.Visit(v.ID); err != nil {
		t.Errorf("visit after a refused mutation: %v", err)
	}
	// Discarding undoes the refused edit on the device.
	if err := ana.st.DiscardQuarantined(q[0].Mutation.Seq); err != nil {
		t.Fatal(err)
	}
	if got, _ := ana.st.Visit(bens.ID); got.Notes != bens.Notes {
		t.Errorf("notes after discard = %q", got.Notes)
	}
	ana.sync()
	if diff := w.serverSnapshot("09").diff(ana.snapshot()); len(diff) > 0 {
		t.Errorf("differs from the server:\n%s", strings.Join(diff, "\n"))
	}
}

// TestScopeChanges: a member moving to another region leaves the device; a
// region lost is dropped; a region gained arrives whole.
func TestScopeChanges(t *testing.T) {
	w := newWorld(t, func(o *central.Options) { o.PageLimit = 7 })
	w.coordinator("ana@example.org", "09", "11")
	var ms []domain.Member
	for i := range 30 {
		ms = append(ms, member(fmt.Sprintf("Membre %02d", i), []string{"09", "11", "03"}[i%3]))
	}
	w.members(ms)
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ana.sync()
	ana.visit(ms[0].ID, "avant le déménagement")
	ana.sync()
	if n := ana.st.CountMembers(); n != 20 {
		t.Fatalf("members = %d", n)
	}
	moved := ms[0]
	moved.Region = "03"
	if err := w.srv.Import(w.ctx, []domain.Member{moved}, nil, nil); err != nil {
		t.Fatal(err)
	}
	ana.sync()
	if _, err := ana.st.Member(moved.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("moved member still here: %v", err)
	}
	if n := ana.visitCount(); n != 0 {
		t.Errorf("its visit is still here: %d", n)
	}
	if _, err := w.srv.SetRegions(w.ctx, "ana@example.org", []string{"09", "03"}); err != nil {
		t.Fatal(err)
	}
	sum := ana.sync()
	if sum.Pages < 2 {
		t.Errorf("backfill of region 03 in %d pages, want several (page limit 7)", sum.Pages)
	}
	if diff := w.serverSnapshot("09", "03").diff(ana.snapshot()); len(diff) > 0 {
		t.Errorf("differs from the server:\n%s", strings.Join(diff, "\n"))
	}
	hits, _ := ana.st.SearchMembers(store.MemberQuery{Region: "11"})
	if len(hits) != 0 {
		t.Errorf("members of the dropped region 11: %d", len(hits))
	}
}

// TestEpochChangeRefetches: after the server's data is restored the device
// starts over from nothing, and its unsent visit survives and is pushed.
func TestEpochChangeRefetches(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	ms := []domain.Member{member("Coop A", "09"), member("Coop B", "09")}
	w.members(ms)
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ana.sync()
	v := ana.visit(ms[0].ID, "pas encore envoyée")
	w.restore()
	sum := ana.sync()
	if !sum.Refetched {
		t.Errorf("summary = %+v, want a refetch", sum)
	}
	if _, err := ana.st.Visit(v.ID); err != nil {
		t.Errorf("unsent visit after refetch: %v", err)
	}
	if diff := w.serverSnapshot("09").diff(ana.snapshot()); len(diff) > 0 {
		t.Errorf("differs from the server:\n%s", strings.Join(diff, "\n"))
	}
	if st, _ := ana.st.SyncState(); st.Epoch != w.srv.Epoch() {
		t.Errorf("epoch = %q, want %q", st.Epoch, w.srv.Epoch())
	}
}

// TestRevokedTokenSignsOut: a revoked device must sign in again, and says
// so; nothing is reported as a success.
func TestRevokedTokenSignsOut(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	w.members([]domain.Member{member("Coop", "09")})
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ana.sync()
	last := ana.eng.State().LastSuccess
	if err := w.srv.RevokeDevice(w.ctx, ana.st.DeviceID()); err != nil {
		t.Fatal(err)
	}
	_, err := ana.eng.SyncOnce(context.Background())
	if !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("sync with a revoked token: %v", err)
	}
	s := ana.eng.State()
	if s.SignedIn || !s.LastSuccess.Equal(last) || engine.MessageID(s.LastError) != "sync.error.unauthorized" {
		t.Errorf("state = %+v (message %s)", s, engine.MessageID(s.LastError))
	}
	if err := ana.eng.SignIn(context.Background(), w.web.URL, "ana@example.org", "wrong password!"); !errors.Is(err, client.ErrBadCredentials) {
		t.Errorf("sign in with a bad password: %v", err)
	}
	if err := ana.eng.SignIn(context.Background(), w.web.URL, "ana@example.org", password); err != nil {
		t.Fatal(err)
	}
	ana.sync()
}

// TestSignOutKeepsUnsentChanges: signing out forgets the token, not the
// changes waiting to be sent.
func TestSignOutKeepsUnsentChanges(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	m := member("Coop", "09")
	w.members([]domain.Member{m})
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	ana.sync()
	v := ana.visit(m.ID, "avant de se déconnecter")
	if err := ana.eng.SignOut(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sess, _ := ana.st.Session(); sess.Token != "" {
		t.Error("token kept after sign-out")
	}
	if _, err := ana.eng.SyncOnce(context.Background()); !errors.Is(err, engine.ErrNotSignedIn) {
		t.Errorf("sync signed out: %v", err)
	}
	if s := ana.eng.State(); s.SignedIn || s.Pending != 1 {
		t.Errorf("state = %+v", s)
	}
	if err := ana.eng.SignIn(context.Background(), w.web.URL, "ana@example.org", password); err != nil {
		t.Fatal(err)
	}
	ana.sync()
	n := 0
	w.srv.ExportVisits(w.ctx, func(x domain.Visit) error {
		if x.ID == v.ID {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Errorf("the visit reached the server %d times", n)
	}
}

// TestLoopFollowsTheNetwork: the loop finds the server gone, probes with
// backoff, syncs by itself when it is back, and on demand.
func TestLoopFollowsTheNetwork(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	m := member("Coop", "09")
	w.members([]domain.Member{m})
	p := newProxy(t, w.web.URL)
	ana := newDevice(t, p.URL(), "ana@example.org", deviceOptions{tune: func(o *engine.Options) {
		o.ProbeMin, o.ProbeMax = 5*time.Millisecond, 20*time.Millisecond
		o.Client.Retries = -1
	}})
	ana.sync()
	first := ana.eng.State().LastSuccess
	p.setDown(true)
	ana.eng.Start()
	waitFor(t, ana.eng, "offline", func(s engine.State) bool { return !s.Online && !s.Syncing })
	ana.visit(m.ID, "hors ligne")
	ana.eng.SyncNow()
	s := waitFor(t, ana.eng, "a failed sync", func(s engine.State) bool {
		return !s.Syncing && s.LastError != nil && s.Pending == 1
	})
	if engine.MessageID(s.LastError) != "sync.error.offline" || s.Online || s.Pending != 1 || !s.LastSuccess.Equal(first) {
		t.Errorf("failed sync state = %+v (message %s)", s, engine.MessageID(s.LastError))
	}
	p.setDown(false)
	s = waitFor(t, ana.eng, "the sync after reconnection", func(s engine.State) bool {
		return s.Online && !s.Syncing && s.LastSuccess.After(first)
	})
	if s.LastError != nil || s.Pending != 0 {
		t.Errorf("state after reconnection = %+v", s)
	}
	before := s.LastSuccess
	ana.eng.SyncNow()
	waitFor(t, ana.eng, "a sync on demand", func(s engine.State) bool { return s.LastSuccess.After(before) })
	if err := ana.eng.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
