package contract

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

const (
	kMember   = domain.KindMember
	kVisit    = domain.KindVisit
	kFollowUp = domain.KindFollowUp
)

func noRejections(t *testing.T, d *device) {
	t.Helper()
	if len(d.lastRej) > 0 {
		t.Fatalf("unexpected rejections: %s", jsonOf(d.lastRej))
	}
}

func testPushPull(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	a.sync()
	b.sync()

	m := member("09", "Coopérative de solidarité de Sept-Îles")
	v := visit(m, ana.ID, e.today())
	f := followUp(m, e.today())
	a.sync(a.create(kMember, m), a.create(kVisit, v), a.create(kFollowUp, f))
	noRejections(t, a)
	b.sync()
	if got := b.field(kMember, m.ID, "name"); got != m.Name {
		t.Errorf("member name on the other device = %q, want %q", got, m.Name)
	}
	if got := b.field(kVisit, v.ID, "notes"); got != v.Notes {
		t.Errorf("visit notes = %q, want %q", got, v.Notes)
	}
	if got := b.field(kFollowUp, f.ID, "description"); got != f.Description {
		t.Errorf("follow-up description = %q, want %q", got, f.Description)
	}
	if ver := b.replica[key(kMember, m.ID)].versions["name"]; ver.Device != a.id || ver.Seq == 0 || ver.HLC == 0 {
		t.Errorf("name version = %+v, want a stamp by device %s", ver, a.id)
	}

	// And back the other way, in a plain (not gzipped) request.
	mut := b.edit(kMember, m.ID, map[string]any{"phone": "418 555-0123"})
	body, _ := json.Marshal(b.request([]protocol.Mutation{mut}, nil))
	status, pe, data := e.raw(http.MethodPost, "/v1/sync", b.token, "application/json; charset=utf-8", body, nil)
	if status != http.StatusOK {
		t.Fatalf("plain sync: %d %s", status, pe.Message)
	}
	var resp protocol.SyncResponse
	if err := protocol.DecodeStrict(data, &resp); err != nil {
		t.Fatal(err)
	}
	b.apply(resp)
	a.sync()
	if got := a.field(kMember, m.ID, "phone"); got != "418 555-0123" {
		t.Errorf("phone on the first device = %q", got)
	}
	a.assertMirrors()
	b.assertMirrors()
}

func testReplay(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	a.sync()
	m := member("09", "Coopérative funéraire du Golfe")
	req := a.request([]protocol.Mutation{a.create(kMember, m), a.create(kVisit, visit(m, ana.ID, e.today()))}, nil)
	status, _, first := a.post(req)
	if status != http.StatusOK || first.AckedThrough != 2 || len(first.Rejected) != 0 {
		t.Fatalf("first push: %d %+v", status, first)
	}
	before := e.dump()
	for i := 1; i <= 3; i++ {
		status, pe, again := a.post(req)
		if status != http.StatusOK {
			t.Fatalf("replay %d: %d %s", i, status, pe.Message)
		}
		if again.AckedThrough != 2 || len(again.Rejected) != 0 {
			t.Errorf("replay %d: acked %d, rejected %v", i, again.AckedThrough, again.Rejected)
		}
		if after := e.dump(); after != before {
			t.Fatalf("replay %d changed the backend:\n%s", i, diffLines(before, after))
		}
	}
	if n := len(e.records(kMember)); n != 1 {
		t.Errorf("%d members after replays, want 1", n)
	}
}

func testLostReply(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	a.sync()
	m := member("09", "Coopérative de travail Les Escoumins")
	req := a.request([]protocol.Mutation{a.create(kMember, m)}, nil)
	if status, _, _ := a.post(req); status != http.StatusOK { // committed; the reply is lost
		t.Fatalf("first push: %d", status)
	}
	head := e.head()
	status, _, retry := a.post(req)
	if status != http.StatusOK || retry.AckedThrough != 1 || len(retry.Rejected) != 0 {
		t.Fatalf("retry: %d %+v", status, retry)
	}
	if h := e.head(); h != head {
		t.Errorf("retry moved the head from %d to %d", head, h)
	}
	a.apply(retry)
	if !a.has(kMember, m.ID) {
		t.Error("the retry's answer does not carry the member")
	}
	a.sync(a.edit(kMember, m.ID, map[string]any{"notes": "Deuxième passage"}))
	noRejections(t, a)
	if got := a.field(kMember, m.ID, "notes"); got != "Deuxième passage" {
		t.Errorf("notes = %q", got)
	}
	if n := len(e.records(kMember)); n != 1 {
		t.Errorf("%d members, want 1", n)
	}
	a.assertMirrors()
}

func testRejectionReplay(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	a.sync()
	bad := member("09", "")
	req := a.request([]protocol.Mutation{a.create(kMember, bad)}, nil)
	_, _, first := a.post(req)
	if len(first.Rejected) != 1 || first.Rejected[0].Code != protocol.RejectInvalid || first.AckedThrough != 1 {
		t.Fatalf("first answer: %+v", first)
	}
	_, _, again := a.post(req) // the first answer was lost: the device must still learn why
	if !reflect.DeepEqual(again.Rejected, first.Rejected) || again.AckedThrough != 1 {
		t.Errorf("retry answered %+v, want the same rejection %+v", again.Rejected, first.Rejected)
	}
}

func testSameFieldConflict(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	m := member("09", "Coopérative d'habitation de Baie-Comeau")
	a.sync(a.create(kMember, m))
	b.sync()

	// phone: a edits, then b; b's push arrives last and is the newer.
	pa := a.edit(kMember, m.ID, map[string]any{"phone": "418 555-0101"})
	pb := b.edit(kMember, m.ID, map[string]any{"phone": "418 555-0199"})
	// website: b edits, then a; b's push still arrives last but is older.
	wb := b.edit(kMember, m.ID, map[string]any{"website": "https://b.example.org"})
	wa := a.edit(kMember, m.ID, map[string]any{"website": "https://a.example.org"})
	a.sync(pa, wa)
	b.sync(pb, wb)
	a.sync()
	noRejections(t, a)
	for _, d := range []*device{a, b} {
		if got := d.field(kMember, m.ID, "phone"); got != "418 555-0199" {
			t.Errorf("device %s: phone = %q, want the newer 418 555-0199", d.id[:8], got)
		}
		if got := d.field(kMember, m.ID, "website"); got != "https://a.example.org" {
			t.Errorf("device %s: website = %q, want the newer https://a.example.org", d.id[:8], got)
		}
	}
	cs := e.conflicts(m.ID)
	if len(cs) != 2 {
		t.Fatalf("%d conflicts, want 2: %s", len(cs), jsonOf(cs))
	}
	byField := map[string]protocol.Conflict{}
	for _, c := range cs {
		byField[c.Field] = c
		if c.RecordKind != kMember || c.MemberID != m.ID || c.Resolved {
			t.Errorf("conflict %s: %+v", c.Field, c)
		}
		for _, d := range []*device{a, b} {
			if !d.has(protocol.KindConflict, c.ID) {
				t.Errorf("device %s did not receive the %s conflict", d.id[:8], c.Field)
			}
		}
	}
	check := func(field, winVal, winDev, loseVal, loseDev string) {
		c := byField[field]
		if str(c.Winner.Value) != winVal || c.Winner.Device != winDev || str(c.Loser.Value) != loseVal || c.Loser.Device != loseDev {
			t.Errorf("%s conflict = %s; want winner %q by %s, loser %q by %s", field, jsonOf(c), winVal, winDev, loseVal, loseDev)
		}
		if c.Winner.HLC <= c.Loser.HLC {
			t.Errorf("%s conflict: winner HLC %v not after loser %v", field, c.Winner.HLC, c.Loser.HLC)
		}
	}
	check("phone", "418 555-0199", b.id, "418 555-0101", a.id)
	check("website", "https://a.example.org", a.id, "https://b.example.org", b.id)
	a.assertMirrors()
	b.assertMirrors()

	// Marking a conflict resolved reaches the other device.
	a.sync(a.edit(protocol.KindConflict, byField["phone"].ID, map[string]any{"resolved": true}))
	noRejections(t, a)
	b.sync()
	if got := string(b.replica[key(protocol.KindConflict, byField["phone"].ID)].fields["resolved"]); got != "true" {
		t.Errorf("resolved on the other device = %s", got)
	}
	// Only the flag of a conflict may change.
	a.sync(a.edit(protocol.KindConflict, byField["phone"].ID, map[string]any{"field": "name"}))
	if len(a.lastRej) != 1 || a.lastRej[0].Code != protocol.RejectReadOnly {
		t.Errorf("editing a conflict's field: %+v", a.lastRej)
	}
}

func testDifferentFields(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	m := member("09", "Coopérative forestière de Forestville")
	a.sync(a.create(kMember, m))
	b.sync()
	pa := a.edit(kMember, m.ID, map[string]any{"phone": "418 555-0101"})
	nb := b.edit(kMember, m.ID, map[string]any{"notes": "Assemblée générale en juin"})
	a.sync(pa)
	b.sync(nb)
	a.sync()
	for _, d := range []*device{a, b} {
		if got := d.field(kMember, m.ID, "phone"); got != "418 555-0101" {
			t.Errorf("device %s: phone = %q", d.id[:8], got)
		}
		if got := d.field(kMember, m.ID, "notes"); got != "Assemblée générale en juin" {
			t.Errorf("device %s: notes = %q", d.id[:8], got)
		}
	}
	if cs := e.conflicts(m.ID); len(cs) != 0 {
		t.Errorf("edits of different fields made conflicts: %s", jsonOf(cs))
	}
	a.assertMirrors()
	b.assertMirrors()
}

func testClockAhead(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	future := e.deviceWithClock("ana@example.org", 365*24*time.Hour)
	n := e.device("ana@example.org")
	m := member("09", "Mutuelle de Havre-Saint-Pierre")
	n.sync(n.create(kMember, m))
	future.sync()
	pf := future.edit(kMember, m.ID, map[string]any{"phone": "418 555-0111"})
	future.sync(pf)
	e.clock.Advance(5 * time.Minute)
	pn := n.edit(kMember, m.ID, map[string]any{"phone": "418 555-0122"})
	n.sync(pn)
	future.sync()
	// Unclamped, the laptop a year ahead would win every conflict for a
	// year; clamped to a minute past the server's clock, it loses to an
	// edit made five minutes later.
	for _, d := range []*device{future, n} {
		if got := d.field(kMember, m.ID, "phone"); got != "418 555-0122" {
			t.Errorf("device %s: phone = %q, want the later edit", d.id[:8], got)
		}
	}
	r, _ := e.record(kMember, m.ID)
	if limit := e.clock.Now().Add(time.Hour); r.Versions["phone"].HLC.Time().After(limit) {
		t.Errorf("stored HLC %v runs ahead of the server", r.Versions["phone"].HLC.Time())
	}
	if cs := e.conflicts(m.ID); len(cs) != 1 || cs[0].Loser.Device != future.id || cs[0].Loser.HLC.Time().After(start.Add(time.Hour)) {
		t.Errorf("conflicts = %s; want the fast laptop's clamped write as loser", jsonOf(cs))
	}
}

func testOutOfScope(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("ben@example.org", "03")
	m03 := member("03", "Coopérative de Québec")
	if err := e.srv.Import(e.ctx, []domain.Member{m03}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a := e.device("ana@example.org")
	a.sync()
	m1, m2 := member("09", "Un"), member("09", "Deux")
	a.sync(
		a.create(kMember, m1),
		a.edit(kMember, m03.ID, map[string]any{"name": "Détourné"}),
		a.create(kMember, member("03", "Nouveau")),
		a.create(kVisit, visit(m03, ana.ID, e.today())),
		a.create(kMember, m2),
	)
	if len(a.lastRej) != 3 {
		t.Fatalf("rejections = %s, want 3", jsonOf(a.lastRej))
	}
	for i, r := range a.lastRej {
		// A visit of a member outside the scope is answered as one of a
		// member that does not exist.
		want := protocol.RejectForbidden
		if r.Kind == kVisit {
			want = protocol.RejectUnknownMember
		}
		if r.Seq != uint64(i+2) || r.Code != want || r.Message == "" {
			t.Errorf("rejection %d = %+v, want seq %d %s", i, r, i+2, want)
		}
	}
	if !a.has(kMember, m1.ID) || !a.has(kMember, m2.ID) {
		t.Error("the mutations in scope were not applied")
	}
	if got, _ := e.record(kMember, m03.ID); str(got.Fields["name"]) != m03.Name {
		t.Errorf("out-of-scope member renamed to %q", str(got.Fields["name"]))
	}
	if n := len(e.records(kMember)); n != 3 {
		t.Errorf("%d members, want 3", n)
	}
	a.assertMirrors()
}

func testVisitAuthor(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	anne := e.coordinator("anne@example.org", "09")
	e.coordinator("central@example.org")
	m := member("09", "Coopérative de Natashquan")
	if err := e.srv.Import(e.ctx, []domain.Member{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a, n, c := e.device("ana@example.org"), e.device("anne@example.org"), e.device("central@example.org")
	v := visit(m, ana.ID, e.today())
	f := followUp(m, e.today())
	a.sync(a.create(kVisit, v), a.create(kFollowUp, f))
	n.sync()
	c.sync()
	own := visit(m, anne.ID, e.today())
	n.sync(
		n.edit(kVisit, v.ID, map[string]any{"notes": "Réécrit"}),
		n.remove(kVisit, v.ID),
		n.create(kVisit, visit(m, ana.ID, e.today())),
		n.create(kVisit, own),
		n.edit(kFollowUp, f.ID, map[string]any{"status": "in_progress"}),
	)
	if len(n.lastRej) != 3 {
		t.Fatalf("rejections = %s, want 3", jsonOf(n.lastRej))
	}
	for _, r := range n.lastRej {
		if r.Code != protocol.RejectForbidden {
			t.Errorf("rejection %+v, want forbidden", r)
		}
	}
	if got := n.field(kVisit, v.ID, "notes"); got != v.Notes {
		t.Errorf("another coordinator's visit changed to %q", got)
	}
	if !n.has(kVisit, own.ID) || n.field(kFollowUp, f.ID, "status") != "in_progress" {
		t.Error("anne's own visit or her follow-up edit was not applied")
	}
	c.sync(c.edit(kVisit, v.ID, map[string]any{"notes": "Corrigé par le bureau"}))
	noRejections(t, c)
	a.sync()
	if got := a.field(kVisit, v.ID, "notes"); got != "Corrigé par le bureau" {
		t.Errorf("the central office's edit: notes = %q", got)
	}
}

func testInvalid(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	a.sync()
	bad := member("09", "Coopérative mal saisie")
	bad.PostalCode = "123"
	bad.Email = "pas-un-courriel"
	good := member("09", "Coopérative bien saisie")
	visitID := domain.NewID()
	a.sync(
		a.create(kMember, bad),
		a.create(kMember, good),
		a.edit(kMember, good.ID, map[string]any{"favourite_colour": "bleu"}),
		a.edit(kVisit, visitID, map[string]any{"id": visitID, "member_id": good.ID, "coordinator_id": ana.ID,
			"date": e.today().String(), "duration_minutes": "long", "mode": "on_site"}),
		a.create(kVisit, visit(member("09", "Inconnue"), ana.ID, e.today())),
		// A NUL byte, which PostgreSQL text refuses: refused as any bad
		// id, never read from the database.
		a.edit(kVisit, domain.NewID(), map[string]any{"member_id": "\x00", "coordinator_id": ana.ID,
			"date": e.today().String(), "duration_minutes": 30, "mode": "on_site", "notes": "Appel"}),
	)
	if len(a.lastRej) != 5 {
		t.Fatalf("rejections = %s, want 5", jsonOf(a.lastRej))
	}
	r := a.lastRej[0]
	if r.Seq != 1 || r.Code != protocol.RejectInvalid {
		t.Errorf("bad member: %+v", r)
	}
	want := map[string]string{"postal_code": domain.CodePostalCode, "email": domain.CodeEmail}
	for _, fe := range r.Fields {
		if want[fe.Field] == fe.Code {
			delete(want, fe.Field)
		}
	}
	if len(want) > 0 {
		t.Errorf("field errors %+v miss %v", r.Fields, want)
	}
	if r := a.lastRej[1]; r.Seq != 3 || r.Code != protocol.RejectUnknownField {
		t.Errorf("unknown field: %+v", r)
	}
	if r := a.lastRej[2]; r.Seq != 4 || r.Code != protocol.RejectInvalid || len(r.Fields) != 1 || r.Fields[0].Field != "duration_minutes" {
		t.Errorf("wrong JSON type: %+v", r)
	}
	if r := a.lastRej[3]; r.Seq != 5 || r.Code != protocol.RejectUnknownMember || len(r.Fields) != 1 || r.Fields[0].Field != "member_id" {
		t.Errorf("unknown member: %+v", r)
	}
	if r := a.lastRej[4]; r.Seq != 6 || r.Code != protocol.RejectInvalid || len(r.Fields) != 1 || r.Fields[0].Field != "member_id" {
		t.Errorf("NUL member id: %+v", r)
	}
	if _, ok := e.record(kMember, bad.ID); ok {
		t.Error("the invalid member was stored")
	}
	if _, ok := e.record(kMember, good.ID); !ok {
		t.Error("the valid member was not stored")
	}
	if n := len(e.records(kVisit)); n != 0 {
		t.Errorf("%d visits stored, want 0", n)
	}
	a.assertMirrors()
}

func testTombstones(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("central@example.org")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	c := e.device("central@example.org")
	m := member("09", "Coopérative de Tadoussac")
	v, f := visit(m, ana.ID, e.today()), followUp(m, e.today())
	a.sync(a.create(kMember, m), a.create(kVisit, v), a.create(kFollowUp, f))
	b.sync()
	c.sync()
	a.sync(a.remove(kVisit, v.ID), a.remove(kFollowUp, f.ID))
	noRejections(t, a)
	deleted := map[string]bool{}
	for _, r := range b.sync() {
		for _, ch := range r.Changes {
			if ch.Delete {
				deleted[ch.ID] = true
			}
		}
	}
	if !deleted[v.ID] || !deleted[f.ID] || b.has(kVisit, v.ID) || b.has(kFollowUp, f.ID) {
		t.Errorf("tombstones did not reach the other device: %v", deleted)
	}
	if r, ok := e.record(kVisit, v.ID); !ok || !r.Deleted || str(r.Fields["notes"]) != v.Notes {
		t.Errorf("server tombstone = %+v; it must keep what was typed", r)
	}
	b.sync(b.edit(kVisit, v.ID, map[string]any{"notes": "Trop tard"}))
	if len(b.lastRej) != 1 || b.lastRej[0].Code != protocol.RejectDeleted {
		t.Errorf("edit of a deleted visit: %+v", b.lastRej)
	}
	b.sync(b.remove(kMember, m.ID))
	if len(b.lastRej) != 1 || b.lastRej[0].Code != protocol.RejectForbidden {
		t.Errorf("coordinator deleting a member: %+v", b.lastRej)
	}
	c.sync(c.remove(kMember, m.ID))
	noRejections(t, c)
	a.sync()
	if a.has(kMember, m.ID) {
		t.Error("member deleted by the central office still on the device")
	}
	a.assertMirrors()
	b.sync()
	b.assertMirrors()
}

func testPaging(t *testing.T, open func(*testing.T) central.Backend) {
	const pageBytes = 4000
	e := newEnv(t, open, func(o *central.Options) { o.PageLimit = 7; o.PageBytes = pageBytes })
	e.coordinator("ana@example.org", "09")
	var ms []domain.Member
	for i := 0; i < 60; i++ {
		ms = append(ms, member("09", fmt.Sprintf("Coopérative numéro %d", i)))
	}
	for i := 0; i < 10; i++ {
		ms = append(ms, member("10", fmt.Sprintf("Coopérative du Nord %d", i)))
	}
	if err := e.srv.Import(e.ctx, ms, nil, nil); err != nil {
		t.Fatal(err)
	}
	a := e.device("ana@example.org")
	checkPages := func(resps []protocol.SyncResponse, wantRecords int) {
		t.Helper()
		if len(resps) < 4 {
			t.Errorf("%d pages, want several", len(resps))
		}
		for i, r := range resps {
			last := i == len(resps)-1
			if r.HasMore == last || (r.Remaining == 0) != last {
				t.Errorf("page %d of %d: has_more %v, remaining %d", i+1, len(resps), r.HasMore, r.Remaining)
			}
			if len(r.Changes) > 7 {
				t.Errorf("page %d: %d changes, over the limit of 7", i+1, len(r.Changes))
			}
			if b, _ := json.Marshal(r.Changes); len(r.Changes) > 1 && len(b) > pageBytes+len(r.Changes) {
				t.Errorf("page %d: %d bytes of changes, over %d", i+1, len(b), pageBytes)
			}
		}
		for k, n := range a.seen {
			if n != 1 {
				t.Errorf("%s delivered %d times", k, n)
			}
		}
		if len(a.seen) != wantRecords {
			t.Errorf("%d records delivered, want %d", len(a.seen), wantRecords)
		}
		a.assertMirrors()
	}
	// First sync: a backfill of region 09 plus the services and coordinator
	// cards every device receives.
	checkPages(a.sync(), 60+len(domain.DefaultServices())+1)

	// Then the ordinary feed.
	ms = ms[:0]
	for i := 0; i < 40; i++ {
		ms = append(ms, member("09", fmt.Sprintf("Nouvelle coopérative %d", i)))
	}
	if err := e.srv.Import(e.ctx, ms, nil, nil); err != nil {
		t.Fatal(err)
	}
	a.seen = map[string]int{}
	checkPages(a.sync(), 40)
}

func testConcurrent(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	regions := []string{"01", "02", "03", "04"}
	for i, r := range regions {
		e.coordinator(fmt.Sprintf("c%d@example.org", i), r)
	}
	e.coordinator("central@example.org")
	var writers, readers []*device
	for i := 0; i < 20; i++ {
		writers = append(writers, e.device(fmt.Sprintf("c%d@example.org", i%len(regions))))
	}
	for i := 0; i < 3; i++ {
		readers = append(readers, e.device("central@example.org"))
	}
	for _, d := range append(writers, readers...) {
		d.sync() // settle scopes, so that from here on every sequence is a member
	}
	first := e.head() + 1
	const rounds, perPush = 6, 3

	pull := func(d *device, muts []protocol.Mutation) error {
		var bf *protocol.Backfill
		for {
			status, pe, resp, err := d.postErr(d.request(muts, bf))
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("sync: %d %s", status, pe.Message)
			}
			if len(resp.Rejected) > 0 {
				return fmt.Errorf("rejected: %s", jsonOf(resp.Rejected))
			}
			d.apply(resp)
			muts, bf = nil, resp.Backfill
			if !resp.HasMore {
				return nil
			}
		}
	}
	var done atomic.Bool
	var wg, rg sync.WaitGroup
	for i, d := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < rounds; round++ {
				var muts []protocol.Mutation
				for k := 0; k < perPush; k++ {
					muts = append(muts, d.create(kMember, member(regions[i%len(regions)], fmt.Sprintf("Coop %d-%d-%d", i, round, k))))
				}
				if err := pull(d, muts); err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
			}
		}()
	}
	for i, d := range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				last := done.Load() // read before pulling: the pull after the writers finish is the final one
				if err := pull(d, nil); err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
				if last {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	rg.Wait()
	if t.Failed() {
		return
	}
	end := e.head()
	if want := uint64(len(writers) * rounds * perPush); end-first+1 != want {
		t.Fatalf("head moved by %d, want %d", end-first+1, want)
	}
	for i, d := range readers {
		var got []uint64
		for _, s := range d.seqs {
			if s >= first {
				got = append(got, s)
			}
		}
		// Every sequence of the run, each once, in order: a reader that had
		// seen N+1 before N committed would have moved its cursor past N and
		// never received it.
		for k, s := range got {
			if s != first+uint64(k) {
				t.Fatalf("reader %d: change %d is seq %d, want %d (a skip or a repeat)", i, k, s, first+uint64(k))
			}
		}
		if len(got) != int(end-first+1) {
			t.Errorf("reader %d received %d changes, want %d", i, len(got), end-first+1)
		}
		d.assertMirrors()
	}
}

func diffLines(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	inB, inA := map[string]bool{}, map[string]bool{}
	for _, l := range b {
		inB[l] = true
	}
	for _, l := range a {
		inA[l] = true
	}
	var out []string
	for _, l := range b {
		if !inA[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range a {
		if !inB[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func testDeleteRacingEdit(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	m := member("09", "Coopérative de Pessamit")
	f1, f2 := followUp(m, e.today()), followUp(m, e.today())
	v := visit(m, ana.ID, e.today())
	a.sync(a.create(kMember, m), a.create(kFollowUp, f1), a.create(kFollowUp, f2), a.create(kVisit, v))
	noRejections(t, a)
	b.sync()

	// b changes f1; a, which has not seen that change, deletes f1.
	b.sync(b.edit(kFollowUp, f1.ID, map[string]any{"description": "Rappeler la directrice"}))
	noRejections(t, b)
	before := e.dumpData()
	a.sync(a.remove(kFollowUp, f1.ID))
	if len(a.lastRej) != 1 || a.lastRej[0].Code != protocol.RejectEditedSince || a.lastRej[0].Message == "" {
		t.Fatalf("delete racing another device's edit: rejections %s, want one %s", jsonOf(a.lastRej), protocol.RejectEditedSince)
	}
	if after := e.dumpData(); after != before {
		t.Errorf("the refused delete changed the data:\n%s", diffLines(before, after))
	}
	if r, _ := e.record(kFollowUp, f1.ID); r.Deleted || str(r.Fields["description"]) != "Rappeler la directrice" {
		t.Errorf("follow-up after the refused delete: deleted %v, description %q", r.Deleted, str(r.Fields["description"]))
	}
	if got := a.field(kFollowUp, f1.ID, "description"); got != "Rappeler la directrice" {
		t.Errorf("the device that tried to delete holds description %q, want the other device's edit", got)
	}

	// Now that a has seen the edit, the same delete goes through.
	a.sync(a.remove(kFollowUp, f1.ID))
	noRejections(t, a)
	if r, _ := e.record(kFollowUp, f1.ID); !r.Deleted {
		t.Error("a delete based on the current version was not applied")
	}

	// A delete that follows the device's own edit, in the same push, races
	// nothing: the newer version is its own.
	a.sync(a.edit(kFollowUp, f2.ID, map[string]any{"status": "in_progress"}), a.remove(kFollowUp, f2.ID))
	noRejections(t, a)
	if r, _ := e.record(kFollowUp, f2.ID); !r.Deleted {
		t.Error("a delete after the device's own edit was not applied")
	}
	a.sync(a.remove(kVisit, v.ID))
	noRejections(t, a)
	b.sync()
	for _, id := range []string{f1.ID, f2.ID, v.ID} {
		if b.has(kFollowUp, id) || b.has(kVisit, id) {
			t.Errorf("record %s still on the other device", id)
		}
	}
	a.assertMirrors()
	b.assertMirrors()
}

// testRefusedEditLeavesNoTrace: an edit refused in a batch changes
// nothing, not even for the later mutations of the same batch that read
// the same record, and each accepted edit sees the one before it.
func testRefusedEditLeavesNoTrace(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	m := member("09", "Coopérative du Fjord")
	if err := e.srv.Import(e.ctx, []domain.Member{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a := e.device("ana@example.org")
	a.sync()
	a.sync(
		a.edit(kMember, m.ID, map[string]any{"email": "pas-un-courriel", "notes": "refusée avec le courriel"}),
		a.edit(kMember, m.ID, map[string]any{"phone": "418 555-0199"}),
		a.edit(kMember, m.ID, map[string]any{"contact_name": "Rosalie Tremblay"}),
	)
	if len(a.lastRej) != 1 || a.lastRej[0].Seq != 1 {
		t.Fatalf("rejections = %s, want the first edit only", jsonOf(a.lastRej))
	}
	r, ok := e.record(kMember, m.ID)
	if !ok {
		t.Fatal("member gone")
	}
	var got domain.Member
	if err := json.Unmarshal([]byte(jsonOf(r.Fields)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Email != m.Email || got.Notes != m.Notes || got.Phone != "418 555-0199" || got.ContactName != "Rosalie Tremblay" {
		t.Errorf("member after a refused then two accepted edits: email %q notes %q phone %q contact %q",
			got.Email, got.Notes, got.Phone, got.ContactName)
	}
}
