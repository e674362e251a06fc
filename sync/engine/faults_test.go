package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// TestFaultsEveryVisitOnce pushes and pulls through a proxy that drops
// connections half-way through requests, drops answers after the server
// committed, delays, and answers 502, 503 and 429. First every other
// request fails (the client's retries cover it), then runs of failures
// longer than the retries make whole syncs fail, which are tried again. At
// the end every visit is on the server and on both devices exactly once.
func TestFaultsEveryVisitOnce(t *testing.T) {
	w := newWorld(t, func(o *central.Options) { o.PageLimit = 9 })
	w.coordinator("ana@example.org", "09")
	w.coordinator("ben@example.org", "09")
	var ms []domain.Member
	for i := range 40 {
		ms = append(ms, member(fmt.Sprintf("Coopérative %02d", i), "09"))
	}
	w.members(ms)
	p := newProxy(t, w.web.URL)
	small := deviceOptions{tune: func(o *engine.Options) { o.BatchSize = 7; o.Client.Retries = 3 }}
	ana := newDevice(t, p.URL(), "ana@example.org", small)
	ben := newDevice(t, p.URL(), "ben@example.org", small)

	faults := []fault{dropRequest, dropReply, slow, badGateway, unavailable, tooMany}
	// Every other request fails: retries absorb it.
	p.setPlan(func(n int) fault {
		if n%2 == 1 {
			return faults[(n/2)%len(faults)]
		}
		return pass
	})
	ana.sync()
	ben.sync()
	var visits []string
	for round := range 3 {
		for i := range 10 {
			visits = append(visits, ana.visit(ms[i].ID, fmt.Sprintf("Ana %d-%d", round, i)).ID)
			visits = append(visits, ben.visit(ms[20+i].ID, fmt.Sprintf("Ben %d-%d", round, i)).ID)
		}
		ana.edit(ms[round].ID, func(m *domain.Member) { m.Notes = fmt.Sprintf("Ana, tour %d", round) })
		ben.edit(ms[30+round].ID, func(m *domain.Member) { m.Notes = fmt.Sprintf("Ben, tour %d", round) })
		ana.sync()
		ben.sync()
	}

	// Runs of five failures beat three retries: syncs fail, and are tried
	// again until they get through. A failure never reports success.
	p.setPlan(func(n int) fault {
		if n%8 < 5 {
			return faults[n%len(faults)]
		}
		return pass
	})
	failures := 0
	for round := range 2 {
		for i := range 10 {
			visits = append(visits, ana.visit(ms[i].ID, fmt.Sprintf("Ana encore %d-%d", round, i)).ID)
			visits = append(visits, ben.visit(ms[20+i].ID, fmt.Sprintf("Ben encore %d-%d", round, i)).ID)
		}
		for _, d := range []*device{ana, ben} {
			for try := 0; ; try++ {
				last := d.eng.State().LastSuccess
				_, err := d.eng.SyncOnce(context.Background())
				if err == nil {
					break
				}
				failures++
				if s := d.eng.State(); !s.LastSuccess.Equal(last) || s.LastError == nil {
					t.Fatalf("a failed sync changed LastSuccess or cleared LastError: %+v", s)
				}
				if try == 20 {
					t.Fatalf("no sync got through in 20 tries: %v", err)
				}
			}
		}
	}
	p.setPlan(nil)
	ana.sync()
	ben.sync()

	counts := p.faultCounts()
	for _, f := range faults {
		if counts[f] == 0 {
			t.Errorf("fault %s never happened: %v", f, counts)
		}
	}
	if failures == 0 {
		t.Error("no sync failed in the second phase")
	}
	t.Logf("faults injected: %v; whole syncs failed and retried: %d", counts, failures)

	server := map[string]int{}
	if err := w.srv.ExportVisits(w.ctx, func(v domain.Visit) error { server[v.ID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(server) != len(visits) {
		t.Errorf("server holds %d visits, want %d", len(server), len(visits))
	}
	for _, id := range visits {
		if server[id] != 1 {
			t.Errorf("visit %s on the server %d times", id, server[id])
		}
	}
	want := w.serverSnapshot("09")
	for name, d := range map[string]*device{"ana": ana, "ben": ben} {
		if n := d.visitCount(); n != len(visits) {
			t.Errorf("%s holds %d visits, want %d", name, n, len(visits))
		}
		if diff := want.diff(d.snapshot()); len(diff) > 0 {
			t.Errorf("%s differs from the server:\n%s", name, strings.Join(diff, "\n"))
		}
		s := d.eng.State()
		if s.Pending != 0 || s.Quarantined != 0 || s.LastError != nil {
			t.Errorf("%s state = %+v", name, s)
		}
	}
}

// TestClockSkew: Ana's laptop runs a year ahead, Ben's a day behind. A
// later edit still wins over an earlier one it has seen, concurrent edits
// keep both values, and nothing is lost.
func TestClockSkew(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	w.coordinator("ben@example.org", "09")
	ms := []domain.Member{member("Coopérative Boréale", "09"), member("Coopérative Côtière", "09")}
	w.members(ms)
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{offset: 365 * 24 * time.Hour})
	ben := newDevice(t, w.web.URL, "ben@example.org", deviceOptions{offset: -24 * time.Hour})
	ana.sync()
	ben.sync()

	// Sequential: Ben edits after having seen Ana's edit; his wins,
	// although his clock is a year and a day behind hers.
	ana.edit(ms[0].ID, func(m *domain.Member) { m.Notes = "Ana, en avance" })
	ana.sync()
	ben.sync()
	ben.edit(ms[0].ID, func(m *domain.Member) { m.Notes = "Ben, en retard, mais après" })
	ben.sync()
	ana.sync()
	for name, d := range map[string]*device{"ana": ana, "ben": ben} {
		if m, _ := d.st.Member(ms[0].ID); m.Notes != "Ben, en retard, mais après" {
			t.Errorf("%s: notes = %q, want Ben's later edit", name, m.Notes)
		}
	}

	// The server clamped Ana's year-ahead stamps to its own clock.
	var rec central.Record
	err := w.backend.View(w.ctx, func(tx central.ReadTx) error {
		var err error
		rec, err = tx.Record(domain.KindMember, ms[0].ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	limit := hlc.New(time.Now().Add(2*time.Minute).UnixMilli(), 0)
	for field, v := range rec.Versions {
		if v.HLC > limit {
			t.Errorf("%s stamped %v, past the server's clock", field, v.HLC)
		}
	}

	// Concurrent: both change the phone offline, and both record visits.
	var visits []string
	for i := range 5 {
		visits = append(visits, ana.visit(ms[i%2].ID, fmt.Sprintf("Ana %d", i)).ID)
		visits = append(visits, ben.visit(ms[i%2].ID, fmt.Sprintf("Ben %d", i)).ID)
	}
	ana.edit(ms[1].ID, func(m *domain.Member) { m.Phone = "418 555-0101" })
	ben.edit(ms[1].ID, func(m *domain.Member) { m.Phone = "418 555-0102" })
	ana.sync()
	ben.sync()
	ana.sync()
	want := w.serverSnapshot("09")
	for name, d := range map[string]*device{"ana": ana, "ben": ben} {
		if diff := want.diff(d.snapshot()); len(diff) > 0 {
			t.Errorf("%s differs from the server:\n%s", name, strings.Join(diff, "\n"))
		}
		if n := d.visitCount(); n != len(visits) {
			t.Errorf("%s holds %d visits, want %d", name, n, len(visits))
		}
		cs, _ := d.st.Conflicts(store.ConflictFilter{MemberID: ms[1].ID})
		if len(cs) != 1 {
			t.Fatalf("%s: conflicts = %+v", name, cs)
		}
		var a, b string
		json.Unmarshal(cs[0].Winner.Value, &a)
		json.Unmarshal(cs[0].Loser.Value, &b)
		pair := []string{a, b}
		slices.Sort(pair)
		if !slices.Equal(pair, []string{"418 555-0101", "418 555-0102"}) {
			t.Errorf("%s: conflict keeps %v", name, pair)
		}
		if s := d.eng.State(); s.Quarantined != 0 || s.Pending != 0 {
			t.Errorf("%s: state %+v", name, s)
		}
	}
	// Ben's stamps order after everything he has seen: his next edit is
	// later than the clamped ones of Ana, though his wall clock is behind.
	ben.edit(ms[1].ID, func(m *domain.Member) { m.Website = "https://boreale.example.org" })
	ob, _ := ben.st.Outbox(0, 0)
	if len(ob) != 1 || ob[0].HLC <= rec.Versions["notes"].HLC {
		t.Errorf("Ben's new stamp %v is not after the clamped %v", ob[0].HLC, rec.Versions["notes"].HLC)
	}
}

// TestStopMidSync stops the loop during a long first sync: the store holds
// whole pages only, with their cursor, and a new engine finishes the job.
func TestStopMidSync(t *testing.T) {
	w := newWorld(t, func(o *central.Options) { o.PageLimit = 100 })
	w.coordinator("ana@example.org", "09")
	var ms []domain.Member
	for i := range 3000 {
		ms = append(ms, member(fmt.Sprintf("Membre %04d", i), "09"))
	}
	w.members(ms)
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	stopped := make(chan error, 1)
	once := false
	unsub := ana.eng.Subscribe(func(s engine.State) {
		if s.PagesDone == 4 && !once {
			once = true
			go func() { stopped <- ana.eng.Stop(context.Background()) }()
		}
	})
	ana.eng.Start() // SignIn asked for a sync: it starts at once
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	unsub()
	s := ana.eng.State()
	if s.Syncing || s.LastError == nil || !s.LastSuccess.IsZero() {
		t.Errorf("state after stop = %+v", s)
	}
	// The first sync is a backfill of every region: its position is
	// stored with each page.
	st, _ := ana.st.SyncState()
	have := ana.st.CountMembers()
	if st.Backfill == nil || st.Backfill.After == 0 || have == 0 || have == len(ms) {
		t.Fatalf("after stop: sync state %+v, %d members", st, have)
	}
	// A fresh engine over the same store carries on from the cursor.
	again := engine.New(ana.st, engine.Options{NetCheck: -1, Logger: quiet()})
	sum, err := again.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := ana.st.CountMembers(); n != len(ms) {
		t.Errorf("members after resuming = %d, want %d", n, len(ms))
	}
	if sum.Pulled > len(ms)-have+100 {
		t.Errorf("resumed sync pulled %d changes; %d members were missing", sum.Pulled, len(ms)-have)
	}
}
