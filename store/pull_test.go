package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// serverStamp is the HLC the fake feed stamps its writes with: a day
// before the store's clock.
var serverStamp = hlc.New(time.Date(2025, 6, 15, 9, 0, 0, 0, time.UTC).UnixMilli(), 0)

// changeOf makes a feed change carrying v whole, every field written at seq
// by device.
func changeOf(t testing.TB, kind domain.Kind, id string, v any, seq uint64, device string) Change {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	versions := make(map[string]FieldStamp, len(fields))
	for name := range fields {
		versions[name] = FieldStamp{HLC: serverStamp + hlc.Timestamp(seq), Seq: seq, Device: device}
	}
	return Change{Seq: seq, Kind: kind, ID: id, Fields: fields, Versions: versions}
}

func mustApply(t testing.TB, s *Store, p Page, keep KeepLocal) PullResult {
	t.Helper()
	res, err := s.ApplyPull(p, keep)
	if err != nil {
		t.Fatalf("ApplyPull: %v", err)
	}
	return res
}

func mustMember(t testing.TB, s *Store, id string) domain.Member {
	t.Helper()
	m, err := s.Member(id)
	if err != nil {
		t.Fatalf("Member: %v", err)
	}
	return m
}

func TestApplyPullStoresEverything(t *testing.T) {
	s, _, c := newStore(t)
	today := c.Today()
	m := newMember("Coopérative forestière de Ferland", "Saguenay", "02", domain.ProducerCoop, "hr")
	v := newVisit(m.ID, today.AddDays(-3))
	f := newFollowUp(m.ID, "legal", today.AddDays(10))
	f.Normalize()
	coord := domain.Coordinator{ID: domain.NewID(), Name: "Réjean Côté", Email: "rejean@example.org", Regions: []string{"02"}}
	svc := domain.Service{ID: "coaching", NameFR: "Accompagnement", NameEN: "Coaching"}
	res := mustApply(t, s, Page{Cursor: 40, Epoch: "e1", Changes: []Change{
		changeOf(t, domain.KindMember, m.ID, m, 11, "central"),
		changeOf(t, domain.KindVisit, v.ID, v, 12, "central"),
		changeOf(t, domain.KindFollowUp, f.ID, f, 13, "central"),
		changeOf(t, domain.KindCoordinator, coord.ID, coord, 14, "central"),
		changeOf(t, domain.KindService, svc.ID, svc, 15, "central"),
		{Seq: 16, Kind: "invoice", ID: domain.NewID(), Fields: map[string]json.RawMessage{"x": json.RawMessage("1")}},
	}}, nil)
	if res.Applied != 5 {
		t.Errorf("Applied = %d, want 5 (the unknown kind skipped)", res.Applied)
	}
	if got := mustMember(t, s, m.ID); got.Name != m.Name || got.Region != "02" {
		t.Errorf("member = %+v", got)
	}
	hits, _ := s.SearchMembers(MemberQuery{Text: "ferland"})
	if len(hits) != 1 || hits[0].LastVisit != v.Date {
		t.Fatalf("search after pull = %+v, want the member with last visit %v", hits, v.Date)
	}
	if vs, _ := s.VisitsOfMember(m.ID, 0); len(vs) != 1 || vs[0].ID != v.ID {
		t.Errorf("visits = %v", vs)
	}
	if fs, _ := s.FollowUps(FollowUpFilter{MemberID: m.ID}); len(fs) != 1 || fs[0].ID != f.ID {
		t.Errorf("follow-ups = %v", fs)
	}
	if k, err := s.Coordinator(coord.ID); err != nil || k.Name != coord.Name {
		t.Errorf("coordinator = %+v, %v", k, err)
	}
	svcs, _ := s.Services()
	if last := svcs[len(svcs)-1]; last.ID != "coaching" || len(svcs) != len(domain.DefaultServices())+1 {
		t.Errorf("services = %v", svcs)
	}
	st, _ := s.SyncState()
	if st.Cursor != 40 || st.Epoch != "e1" {
		t.Errorf("sync state = %+v", st)
	}
	if len(outbox(t, s)) != 0 {
		t.Error("pulled records must not be queued")
	}
	// The clock has seen the server's stamps: an edit made now orders
	// after them even though the wall clock is behind.
	c.Set(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	m.Phone = "418 555-0100"
	mustSaveMember(t, s, m)
	ob := outbox(t, s)
	if len(ob) != 1 || ob[0].HLC <= serverStamp+15 {
		t.Fatalf("local edit HLC %v must order after the pulled %v", ob[0].HLC, serverStamp+15)
	}
	if ob[0].Base["phone"] != 11 || !slices.Equal(fieldNames(ob[0]), []string{"phone"}) {
		t.Errorf("edit = %+v, want phone based on seq 11", ob[0])
	}
	if string(ob[0].Prev["phone"]) != `"418 555-0142"` {
		t.Errorf("edit Prev = %s, want the pulled phone", ob[0].Prev["phone"])
	}
}

func TestApplyPullMergesPendingEdits(t *testing.T) {
	s, _, _ := newStore(t)
	m := newMember("Coop du Havre", "Gaspé", "11", domain.ConsumerCoop)
	m.Normalize()
	mustApply(t, s, Page{Cursor: 5, Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 5, "central")}}, nil)

	local := m
	local.Phone = "418 555-0111"
	local.Notes = "Noté sur la route"
	mustSaveMember(t, s, local)

	// The server changed the phone (concurrently) and the municipality.
	remote := m
	remote.Phone = "418 555-0199"
	remote.Municipality = "Percé"
	ch := changeOf(t, domain.KindMember, m.ID, remote, 9, "other-device")
	for _, f := range []string{"name", "notes", "region"} {
		ch.Versions[f] = FieldStamp{HLC: serverStamp, Seq: 5, Device: "central"}
	}
	var asked []string
	keepPhoneOnly := func(fm FieldMerge) bool {
		asked = append(asked, fm.Field)
		if fm.Local.Base != 5 {
			t.Errorf("%s: pending base %d, want 5", fm.Field, fm.Local.Base)
		}
		return fm.Field == "phone"
	}
	mustApply(t, s, Page{Cursor: 9, Changes: []Change{ch}}, keepPhoneOnly)
	slices.Sort(asked)
	if !slices.Equal(asked, []string{"notes", "phone"}) {
		t.Errorf("asked about %v, want the pending fields [notes phone]", asked)
	}
	got := mustMember(t, s, m.ID)
	if got.Phone != local.Phone || got.Municipality != "Percé" || got.Notes != m.Notes {
		t.Errorf("merged = phone %q municipality %q notes %q; want local phone, pulled municipality, pulled notes",
			got.Phone, got.Municipality, got.Notes)
	}
	// The local edit waits in the outbox, untouched; the next edit of the
	// phone is based on the server's sequence it has now seen.
	if ob := outbox(t, s); len(ob) != 1 || string(ob[0].Fields["notes"]) != `"Noté sur la route"` {
		t.Fatalf("outbox = %+v", ob)
	}
	got.Phone = "418 555-0122"
	mustSaveMember(t, s, got)
	ob := outbox(t, s)
	if b := ob[1].Base["phone"]; b != 9 {
		t.Errorf("next edit based on %d, want 9", b)
	}

	// Without a rule, every pending edit stays on top.
	ch2 := changeOf(t, domain.KindMember, m.ID, remote, 12, "other-device")
	mustApply(t, s, Page{Cursor: 12, Changes: []Change{ch2}}, nil)
	if got := mustMember(t, s, m.ID); got.Phone != "418 555-0122" || got.Notes != "Noté sur la route" {
		t.Errorf("with nil KeepLocal: phone %q notes %q, want the local ones", got.Phone, got.Notes)
	}
	// Once acknowledged, the server's state is the truth.
	mustApply(t, s, Page{AckedThrough: 2, Cursor: 13, Changes: []Change{changeOf(t, domain.KindMember, m.ID, remote, 13, "x")}}, nil)
	if got := mustMember(t, s, m.ID); got.Phone != remote.Phone {
		t.Errorf("after ack: phone %q, want %q", got.Phone, remote.Phone)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Errorf("pending = %d after ack", n)
	}
}

func TestApplyPullQuarantinesAndTrims(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Mutuelle de l’Estrie", "Sherbrooke", "05", domain.Mutual))
	v := mustSaveVisit(t, s, newVisit(m.ID, c.Today()))
	m.Notes = "à revoir"
	mustSaveMember(t, s, m)
	res := mustApply(t, s, Page{AckedThrough: 3, Cursor: 3, Rejected: []Rejection{{
		Seq: 2, Kind: domain.KindVisit, ID: v.ID, Code: "invalid", Message: "bad",
		Fields: []domain.FieldError{{Field: "date", Code: domain.CodeDateRange}},
	}}}, nil)
	if res.Trimmed != 3 || res.Quarantined != 1 {
		t.Errorf("result = %+v, want 3 trimmed and 1 quarantined", res)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Errorf("pending = %d", n)
	}
	q, err := s.Quarantine()
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine = %v, %v", q, err)
	}
	if q[0].Mutation.ID != v.ID || q[0].Code != "invalid" || len(q[0].Mutation.Fields) == 0 || q[0].Fields[0].Field != "date" {
		t.Errorf("quarantined = %+v", q[0])
	}
	// The server says it again after a lost answer: still one entry.
	mustApply(t, s, Page{AckedThrough: 3, Cursor: 3, Rejected: []Rejection{{Seq: 2, Kind: domain.KindVisit, ID: v.ID, Code: "invalid"}}}, nil)
	if n, _ := s.QuarantineCount(); n != 1 {
		t.Errorf("quarantine count = %d after a repeated refusal", n)
	}
}

func TestDiscardQuarantined(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("Coopérative de travail Nordik", "Sept-Îles", "09", domain.WorkerCoop)
	m.Normalize()
	mustApply(t, s, Page{Cursor: 3, Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 3, "central")}}, nil)
	edited := m
	edited.Phone = "418 555-0177"
	mustSaveMember(t, s, edited)
	v := mustSaveVisit(t, s, newVisit(m.ID, c.Today()))
	mustApply(t, s, Page{AckedThrough: 2, Cursor: 3, Rejected: []Rejection{
		{Seq: 1, Kind: domain.KindMember, ID: m.ID, Code: "forbidden"},
		{Seq: 2, Kind: domain.KindVisit, ID: v.ID, Code: "unknown_member"},
	}}, nil)
	if err := s.DiscardQuarantined(1); err != nil {
		t.Fatal(err)
	}
	if got := mustMember(t, s, m.ID); got.Phone != m.Phone {
		t.Errorf("phone after discard = %q, want the previous %q", got.Phone, m.Phone)
	}
	if err := s.DiscardQuarantined(2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Visit(v.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("visit made here and refused: %v, want ErrNotFound after discard", err)
	}
	hits, _ := s.SearchMembers(MemberQuery{Text: "nordik"})
	if len(hits) != 1 || !hits[0].LastVisit.IsZero() {
		t.Errorf("last visit after discarding the only visit = %+v", hits)
	}
	if err := s.DiscardQuarantined(2); !errors.Is(err, ErrNotFound) {
		t.Errorf("discarding twice: %v", err)
	}
	if n, _ := s.QuarantineCount(); n != 0 {
		t.Errorf("quarantine = %d", n)
	}
}

func TestResendQuarantined(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("Coop Fjord", "Saguenay", "02", domain.ConsumerCoop)
	m.Normalize()
	mustApply(t, s, Page{Cursor: 7, Changes: []Change{changeOf(t, domain.KindMember, m.ID, m, 7, "central")}}, nil)
	v := mustSaveVisit(t, s, newVisit(m.ID, c.Today()))
	mustApply(t, s, Page{AckedThrough: 1, Cursor: 7, Rejected: []Rejection{{Seq: 1, Kind: domain.KindVisit, ID: v.ID, Code: "unknown_member"}}}, nil)
	if err := s.ResendQuarantined(1); err != nil {
		t.Fatal(err)
	}
	ob := outbox(t, s)
	if len(ob) != 1 || ob[0].Seq != 2 || ob[0].ID != v.ID || len(ob[0].Fields) != len(outboxFieldsOfVisit(t, v)) {
		t.Fatalf("outbox after resend = %+v", ob)
	}
	if n, _ := s.QuarantineCount(); n != 0 {
		t.Errorf("quarantine = %d", n)
	}
	if _, err := s.Visit(v.ID); err != nil {
		t.Errorf("visit after resend: %v", err)
	}
	if err := s.ResendQuarantined(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("resending twice: %v", err)
	}
}

// outboxFieldsOfVisit lists what a create of v carries: every field but id.
func outboxFieldsOfVisit(t *testing.T, v domain.Visit) []string {
	data, _ := json.Marshal(v)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "id")
	out := make([]string, 0, len(fields))
	for k := range fields {
		out = append(out, k)
	}
	return out
}

func TestApplyPullDeletesAndRemovals(t *testing.T) {
	s, _, c := newStore(t)
	today := c.Today()
	a := newMember("Coopérative A", "Rimouski", "01", domain.ConsumerCoop)
	b := newMember("Coopérative B", "Matane", "01", domain.ConsumerCoop)
	va := newVisit(a.ID, today.AddDays(-1))
	vb := newVisit(a.ID, today.AddDays(-20))
	fa := newFollowUp(a.ID, "hr", today.AddDays(5))
	fa.Normalize()
	mustApply(t, s, Page{Cursor: 5, Changes: []Change{
		changeOf(t, domain.KindMember, a.ID, a, 1, "central"),
		changeOf(t, domain.KindMember, b.ID, b, 2, "central"),
		changeOf(t, domain.KindVisit, va.ID, va, 3, "central"),
		changeOf(t, domain.KindVisit, vb.ID, vb, 4, "central"),
		changeOf(t, domain.KindFollowUp, fa.ID, fa, 5, "central"),
	}}, nil)
	res := mustApply(t, s, Page{Cursor: 9, Changes: []Change{
		{Seq: 6, Kind: domain.KindVisit, ID: va.ID, Delete: true},
		{Seq: 7, Kind: domain.KindFollowUp, ID: fa.ID, Removed: true},
		{Seq: 8, Kind: domain.KindMember, ID: b.ID, Removed: true},
		{Seq: 9, Kind: domain.KindVisit, ID: domain.NewID(), Delete: true}, // never had it
	}}, nil)
	if res.Deleted != 3 {
		t.Errorf("Deleted = %d, want 3", res.Deleted)
	}
	if _, err := s.Visit(va.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted visit: %v", err)
	}
	if err := s.SaveVisit(va); !errors.Is(err, ErrDeleted) {
		t.Errorf("saving a visit deleted on the server: %v, want ErrDeleted", err)
	}
	if fs, _ := s.FollowUps(FollowUpFilter{}); len(fs) != 0 {
		t.Errorf("follow-ups = %v after removal", fs)
	}
	hits, _ := s.SearchMembers(MemberQuery{Text: "cooperative"})
	if !slices.Equal(names(hits), []string{"Coopérative A"}) {
		t.Fatalf("members = %v, want only A", names(hits))
	}
	if hits[0].LastVisit != vb.Date {
		t.Errorf("last visit = %v, want %v once the later visit is deleted", hits[0].LastVisit, vb.Date)
	}
	if s.CountMembers() != 1 {
		t.Errorf("CountMembers = %d", s.CountMembers())
	}
}

func TestApplyPullDropsRegions(t *testing.T) {
	s, _, c := newStore(t)
	today := c.Today()
	var changes []Change
	seq := uint64(0)
	next := func() uint64 { seq++; return seq }
	keepID := ""
	for i, region := range []string{"09", "09", "03"} {
		m := newMember(fmt.Sprintf("Membre %d", i), "Ville", region, domain.NonProfit)
		if region == "03" {
			keepID = m.ID
		}
		changes = append(changes, changeOf(t, domain.KindMember, m.ID, m, next(), "central"))
		for d := range 3 {
			v := newVisit(m.ID, today.AddDays(-d))
			changes = append(changes, changeOf(t, domain.KindVisit, v.ID, v, next(), "central"))
		}
		f := newFollowUp(m.ID, "web", today)
		f.Normalize()
		changes = append(changes, changeOf(t, domain.KindFollowUp, f.ID, f, next(), "central"))
		conflict := Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: m.ID, MemberID: m.ID, Field: "phone",
			Winner: ConflictSide{Value: json.RawMessage(`"1"`)}, Loser: ConflictSide{Value: json.RawMessage(`"2"`)}}
		changes = append(changes, changeOf(t, KindConflict, conflict.ID, conflict, next(), "central"))
	}
	mustApply(t, s, Page{Cursor: seq, Changes: changes}, nil)
	if n, _ := s.ConflictCount(); n != 3 {
		t.Fatalf("conflicts = %d", n)
	}
	mustApply(t, s, Page{Cursor: seq, DroppedRegions: []string{"09"}}, nil)
	hits, _ := s.SearchMembers(MemberQuery{})
	if len(hits) != 1 || hits[0].ID != keepID {
		t.Fatalf("members = %v, want the one of region 03", names(hits))
	}
	var visits, fus int
	if err := s.EachVisit(func(domain.Visit) error { visits++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.EachFollowUp(func(domain.FollowUp) error { fus++; return nil }); err != nil {
		t.Fatal(err)
	}
	if visits != 3 || fus != 1 {
		t.Errorf("visits %d, follow-ups %d; want 3 and 1", visits, fus)
	}
	if fs, _ := s.FollowUps(FollowUpFilter{}); len(fs) != 1 {
		t.Errorf("follow-up index holds %d", len(fs))
	}
	if cs, _ := s.Conflicts(ConflictFilter{Resolved: true}); len(cs) != 1 || cs[0].MemberID != keepID {
		t.Errorf("conflicts = %+v", cs)
	}
	// Deleting twice is harmless.
	mustApply(t, s, Page{Cursor: seq, DroppedRegions: []string{"09"}}, nil)
}

func TestConflictsAndResolve(t *testing.T) {
	s, _, _ := newStore(t)
	memberID := domain.NewID()
	conflict := Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: memberID, MemberID: memberID,
		Field: "phone", Winner: ConflictSide{Value: json.RawMessage(`"418 555-0199"`), HLC: 20, Device: "b"},
		Loser: ConflictSide{Value: json.RawMessage(`"418 555-0142"`), HLC: 10, Device: "a"}}
	mustApply(t, s, Page{Cursor: 4, Changes: []Change{changeOf(t, KindConflict, conflict.ID, conflict, 4, "central")}}, nil)
	cs, err := s.Conflicts(ConflictFilter{MemberID: memberID})
	if err != nil || len(cs) != 1 || string(cs[0].Loser.Value) != `"418 555-0142"` {
		t.Fatalf("conflicts = %+v, %v", cs, err)
	}
	if err := s.ResolveConflict(conflict.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ConflictCount(); n != 0 {
		t.Errorf("unresolved = %d after resolving", n)
	}
	ob := outbox(t, s)
	if len(ob) != 1 || ob[0].Kind != KindConflict || string(ob[0].Fields["resolved"]) != "true" || ob[0].Base["resolved"] != 4 {
		t.Fatalf("outbox = %+v", ob)
	}
	if err := s.ResolveConflict(conflict.ID); err != nil || len(outbox(t, s)) != 1 {
		t.Errorf("resolving again: %v, outbox %d", err, len(outbox(t, s)))
	}
	// The server's copy, not yet resolved, must not undo the pending flag.
	mustApply(t, s, Page{Cursor: 5, Changes: []Change{changeOf(t, KindConflict, conflict.ID, conflict, 5, "central")}}, nil)
	if n, _ := s.ConflictCount(); n != 0 {
		t.Errorf("a pull undid the local resolution")
	}
	if err := s.ResolveConflict(domain.NewID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conflict: %v", err)
	}
}

func TestRefetchKeepsLocalEdits(t *testing.T) {
	s, _, c := newStore(t)
	today := c.Today()
	a := newMember("Coopérative gardée", "Gaspé", "11", domain.ConsumerCoop)
	b := newMember("Coopérative effacée", "Percé", "11", domain.ConsumerCoop)
	vb := newVisit(b.ID, today.AddDays(-9))
	conflict := Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: b.ID, MemberID: b.ID, Field: "notes"}
	mustApply(t, s, Page{Cursor: 9, Epoch: "old", Changes: []Change{
		changeOf(t, domain.KindMember, a.ID, a, 1, "central"),
		changeOf(t, domain.KindMember, b.ID, b, 2, "central"),
		changeOf(t, domain.KindVisit, vb.ID, vb, 3, "central"),
		changeOf(t, KindConflict, conflict.ID, conflict, 4, "central"),
	}}, nil)
	v := mustSaveVisit(t, s, newVisit(a.ID, today))
	if err := s.BeginRefetch(); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.SyncState(); st.Cursor != 0 || st.Epoch != "" {
		t.Errorf("sync state after BeginRefetch = %+v", st)
	}
	if on, _ := s.Refetching(); !on {
		t.Error("Refetching = false")
	}
	// The restored server has only a service to send on its first page.
	svc := domain.Service{ID: "hr", NameFR: "Ressources humaines", NameEN: "Human resources"}
	mustApply(t, s, Page{Cursor: 1, Epoch: "new", Changes: []Change{changeOf(t, domain.KindService, "hr", svc, 1, "central")}}, nil)
	hits, _ := s.SearchMembers(MemberQuery{})
	if !slices.Equal(names(hits), []string{"Coopérative gardée"}) {
		t.Errorf("members after refetch = %v, want only the one with a pending visit", names(hits))
	}
	if hits[0].LastVisit != today {
		t.Errorf("last visit = %v, want the pending visit's %v", hits[0].LastVisit, today)
	}
	if _, err := s.Visit(v.ID); err != nil {
		t.Errorf("pending visit after refetch: %v", err)
	}
	if _, err := s.Visit(vb.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("old visit after refetch: %v", err)
	}
	if n, _ := s.ConflictCount(); n != 0 {
		t.Errorf("old conflicts survive: %d", n)
	}
	// The unsent visit was folded into the stash with the outbox; once the
	// feed is pulled to its end (the engine calls Requeue then), it is
	// queued again, whole: the restored server does not have it.
	if n, err := s.Requeue(); err != nil || n != 1 {
		t.Errorf("Requeue = %d, %v; want the unsent visit", n, err)
	}
	if ob := outbox(t, s); len(ob) != 1 || ob[0].ID != v.ID {
		t.Errorf("outbox after refetch = %+v", ob)
	}
	if on, _ := s.Refetching(); on {
		t.Error("still refetching after the first page")
	}
	// A second page does not clear anything.
	mustApply(t, s, Page{Cursor: 2, Epoch: "new", Changes: []Change{changeOf(t, domain.KindMember, b.ID, b, 2, "central")}}, nil)
	if s.CountMembers() != 2 {
		t.Errorf("members = %d after the second page", s.CountMembers())
	}
}

// TestApplyPullLargePage applies a page bigger than one Badger transaction
// holds, twice: the second time must change nothing.
func TestApplyPullLargePage(t *testing.T) {
	s, _, c := newStore(t)
	notes := strings.Repeat("Suivi du plan stratégique et des ressources humaines. ", 20)
	var changes []Change
	for i := range 2000 {
		m := newMember(fmt.Sprintf("Coopérative %04d", i), "Alma", "02", domain.WorkerCoop)
		m.Notes = notes
		changes = append(changes, changeOf(t, domain.KindMember, m.ID, m, uint64(i+1), "central"))
		if i%2 == 0 {
			v := newVisit(m.ID, c.Today().AddDays(-i%300))
			changes = append(changes, changeOf(t, domain.KindVisit, v.ID, v, uint64(i+1), "central"))
		}
	}
	page := Page{Cursor: 3000, Epoch: "e", Changes: changes}
	mustApply(t, s, page, nil)
	snapshot := func() string {
		var b strings.Builder
		hits, _ := s.SearchMembers(MemberQuery{})
		for _, h := range hits {
			fmt.Fprintf(&b, "%s %s %v\n", h.ID, h.Name, h.LastVisit)
		}
		if err := s.EachVisit(func(v domain.Visit) error { fmt.Fprintln(&b, v.ID, v.Date); return nil }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	first := snapshot()
	if s.CountMembers() != 2000 || strings.Count(first, "\n") != 3000 {
		t.Fatalf("members %d, lines %d", s.CountMembers(), strings.Count(first, "\n"))
	}
	mustApply(t, s, page, nil)
	if second := snapshot(); second != first {
		t.Error("applying the same page twice changed the store")
	}
	if st, _ := s.SyncState(); st.Cursor != 3000 {
		t.Errorf("cursor = %d", st.Cursor)
	}
}

func TestSessionAndSignOut(t *testing.T) {
	s, dir, c := newStore(t)
	if sess, err := s.Session(); err != nil || sess.SignedIn() {
		t.Fatalf("new profile session = %+v, %v", sess, err)
	}
	me := domain.Coordinator{ID: domain.NewID(), Name: "Ana Tremblay", Email: "Ana@Example.org", Regions: []string{"09"}}
	if err := s.SaveSession(Session{Server: "https://central.example.org", Token: "tok-123", Email: "ana@example.org"}, me); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir, c)
	sess, err := s.Session()
	if err != nil || sess.Token != "tok-123" || sess.CoordinatorID != me.ID || !sess.SignedIn() {
		t.Fatalf("session = %+v, %v", sess, err)
	}
	if k, err := s.Me(); err != nil || k.Email != "ana@example.org" {
		t.Errorf("Me = %+v, %v", k, err)
	}
	mustApply(t, s, Page{Cursor: 12, Epoch: "e"}, nil)
	if err := s.MarkSynced(c.Now()); err != nil {
		t.Fatal(err)
	}
	m := mustSaveMember(t, s, newMember("Coop", "Québec", "03", domain.ConsumerCoop))
	if err := s.ForgetToken(); err != nil {
		t.Fatal(err)
	}
	sess, _ = s.Session()
	if sess.SignedIn() || sess.Server != "https://central.example.org" {
		t.Errorf("after sign-out: %+v", sess)
	}
	st, _ := s.SyncState()
	if st.Cursor != 12 || !st.LastSync.Equal(c.Now()) {
		t.Errorf("sync state after sign-out = %+v", st)
	}
	if ob := outbox(t, s); len(ob) != 1 || ob[0].ID != m.ID {
		t.Errorf("outbox after sign-out = %v", ob)
	}
}
