package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// rawHits lists the keys whose key or value (latest versions, decrypted)
// holds one of the markers: what a copy of the data directory would give
// away to someone holding the passphrase.
func rawHits(t *testing.T, s *Store, markers ...string) []string {
	t.Helper()
	var hits []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			for _, m := range markers {
				if bytes.Contains(k, []byte(m)) || bytes.Contains(v, []byte(m)) {
					hits = append(hits, string(k)+" holds "+m)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestServerDeleteOfMemberForgetsEverything: when the central office's
// deletion of a member reaches a device with work pending about it, nothing
// the device held or typed about the member survives, and what was refused
// or dropped waits in the quarantine, content-free, to be discarded.
func TestServerDeleteOfMemberForgetsEverything(t *testing.T) {
	s, dir, c := newStore(t)
	today := c.Today()
	m := newMember("Coop MARKNAME", "Natashquan", "09", domain.WorkerCoop)
	m.ContactName = "MARKCONTACT"
	m.Normalize()
	other := newMember("Mutuelle Voisine", "Natashquan", "09", domain.Mutual)
	other.Normalize()
	v1 := newVisit(m.ID, today.AddDays(-10))
	v1.Notes = "MARKNOTE1"
	f1 := newFollowUp(m.ID, "hr", today.AddDays(5))
	f1.Description = "MARKPROMISE1"
	f1.Normalize()
	ov := newVisit(other.ID, today.AddDays(-2))
	conflict := Conflict{ID: domain.NewID(), RecordKind: domain.KindMember, RecordID: m.ID, MemberID: m.ID,
		Field: "phone", Winner: ConflictSide{Value: json.RawMessage(`"MARKWINNER"`), HLC: 20, Device: "b"},
		Loser: ConflictSide{Value: json.RawMessage(`"MARKLOSER"`), HLC: 10, Device: "a"}}
	mustApply(t, s, Page{Cursor: 6, Changes: []Change{
		changeOf(t, domain.KindMember, m.ID, m, 1, "central"),
		changeOf(t, domain.KindVisit, v1.ID, v1, 2, "central"),
		changeOf(t, domain.KindFollowUp, f1.ID, f1, 3, "central"),
		changeOf(t, KindConflict, conflict.ID, conflict, 4, "central"),
		changeOf(t, domain.KindMember, other.ID, other, 5, "central"),
		changeOf(t, domain.KindVisit, ov.ID, ov, 6, "central"),
	}}, nil)

	// Offline work: 1 the member, 2 its visit, 3 a new visit, 4-5 a visit
	// made and deleted here, 6 a new follow-up, 7 the other member.
	edited := m
	edited.Phone = "418 555-9999"
	mustSaveMember(t, s, edited)
	e1 := v1
	e1.Notes = "MARKEDIT1"
	mustSaveVisit(t, s, e1)
	v2 := newVisit(m.ID, today)
	v2.Notes = "MARKLOCAL2"
	mustSaveVisit(t, s, v2)
	v3 := newVisit(m.ID, today.AddDays(-1))
	v3.Notes = "MARKLOCAL3"
	mustSaveVisit(t, s, v3)
	if err := s.DeleteVisit(v3.ID); err != nil {
		t.Fatal(err)
	}
	f2 := newFollowUp(m.ID, "legal", today.AddDays(9))
	f2.Description = "MARKPROMISE2"
	mustSaveFollowUp(t, s, f2)
	otherEdit := other
	otherEdit.Phone = "418 555-0000"
	mustSaveMember(t, s, otherEdit)
	if n := len(outbox(t, s)); n != 7 {
		t.Fatalf("outbox = %d, want 7", n)
	}

	// The first batch (1-3) went with the sync that brought the deletion.
	res := mustApply(t, s, Page{AckedThrough: 3, Cursor: 10,
		Rejected: []Rejection{
			{Seq: 1, Kind: domain.KindMember, ID: m.ID, Code: "deleted"},
			{Seq: 2, Kind: domain.KindVisit, ID: v1.ID, Code: "deleted"},
			{Seq: 3, Kind: domain.KindVisit, ID: v2.ID, Code: "unknown_member", Fields: []domain.FieldError{{Field: "member_id", Code: domain.CodeBadID}}},
		},
		Changes: []Change{
			{Seq: 7, Kind: domain.KindVisit, ID: v1.ID, Delete: true, Erased: true},
			{Seq: 8, Kind: domain.KindFollowUp, ID: f1.ID, Delete: true, Erased: true},
			{Seq: 9, Kind: KindConflict, ID: conflict.ID, Delete: true, Erased: true},
			{Seq: 10, Kind: domain.KindMember, ID: m.ID, Delete: true, Erased: true},
		}}, nil)
	if res.Quarantined != 5 {
		t.Errorf("quarantined = %d, want 5 (3 refused, 2 dropped from the outbox)", res.Quarantined)
	}

	markers := []string{"MARKNAME", "markname", "MARKCONTACT", "MARKNOTE1", "MARKPROMISE1", "MARKWINNER", "MARKLOSER",
		"418 555-9999", "MARKEDIT1", "MARKLOCAL2", "MARKLOCAL3", "MARKPROMISE2"}
	if hits := rawHits(t, s, markers...); len(hits) > 0 {
		t.Errorf("the store still holds the deleted member's data:\n%v", hits)
	}
	if _, err := s.Member(m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("member: %v", err)
	}
	if err := s.SaveMember(edited); !errors.Is(err, ErrDeleted) {
		t.Errorf("saving the deleted member: %v, want ErrDeleted", err)
	}
	for _, id := range []string{v1.ID, v2.ID, v3.ID} {
		if _, err := s.Visit(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("visit %s: %v", id, err)
		}
	}
	if vs, _ := s.VisitsOfMember(m.ID, 0); len(vs) != 0 {
		t.Errorf("visits of the deleted member: %d", len(vs))
	}
	if fs, _ := s.FollowUps(FollowUpFilter{MemberID: m.ID}); len(fs) != 0 {
		t.Errorf("follow-ups of the deleted member: %d", len(fs))
	}
	if cs, _ := s.Conflicts(ConflictFilter{Resolved: true}); len(cs) != 0 {
		t.Errorf("conflicts: %+v", cs)
	}
	if _, err := s.Visit(ov.ID); err != nil {
		t.Errorf("the other member's visit: %v", err)
	}

	ob := outbox(t, s)
	if len(ob) != 4 {
		t.Fatalf("outbox = %+v, want 4-7", ob)
	}
	for _, o := range ob[:3] {
		if !o.Delete || len(o.Fields) > 0 || len(o.Prev) > 0 {
			t.Errorf("pending change %d about the deleted member still carries something: %+v", o.Seq, o)
		}
	}
	if ob[3].Delete || string(ob[3].Fields["phone"]) != `"418 555-0000"` {
		t.Errorf("the other member's edit was touched: %+v", ob[3])
	}
	q, err := s.Quarantine()
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range q {
		seqs = append(seqs, e.Mutation.Seq)
		if e.Code != "deleted" || len(e.Mutation.Fields) > 0 || len(e.Mutation.Prev) > 0 || len(e.Fields) > 0 || e.Mutation.ID == "" {
			t.Errorf("quarantined %d: %+v", e.Mutation.Seq, e)
		}
	}
	if len(seqs) != 5 || seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 3 || seqs[3] != 4 || seqs[4] != 6 {
		t.Errorf("quarantined seqs = %v, want 1 2 3 4 6", seqs)
	}
	if err := s.ResendQuarantined(1); !errors.Is(err, ErrNothingToResend) {
		t.Errorf("resending a change of the deleted member: %v", err)
	}
	// The server acknowledges the rest; the deletes it is sent change
	// nothing there, and a repeated refusal finds its entry.
	mustApply(t, s, Page{AckedThrough: 7, Cursor: 10, Rejected: []Rejection{{Seq: 4, Kind: domain.KindVisit, ID: v3.ID, Code: "deleted"}}}, nil)
	for _, e := range q {
		if err := s.DiscardQuarantined(e.Mutation.Seq); err != nil {
			t.Errorf("discard %d: %v", e.Mutation.Seq, err)
		}
	}
	if n, _ := s.QuarantineCount(); n != 0 {
		t.Errorf("quarantine after discarding = %d", n)
	}
	if _, err := s.Member(m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("discarding brought the member back: %v", err)
	}

	// The summaries the search index is built from are gone from the disk.
	s = reopen(t, s, dir, c)
	if hits, _ := s.SearchMembers(MemberQuery{Text: "markname"}); len(hits) != 0 {
		t.Errorf("search after reopening finds %v", names(hits))
	}
	if s.CountMembers() != 1 {
		t.Errorf("members after reopening = %d, want 1", s.CountMembers())
	}
	if hits := rawHits(t, s, markers...); len(hits) > 0 {
		t.Errorf("after reopening:\n%v", hits)
	}
}

// TestServerDeleteKeepsOnlyTheID: a record the server erased (here a
// visit past the retention period) keeps its id on the device and nothing
// else; a pending edit of it is dropped to the quarantine.
func TestServerDeleteKeepsOnlyTheID(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("Coop Fjord", "Saguenay", "02", domain.ConsumerCoop)
	m.Normalize()
	v := newVisit(m.ID, c.Today().AddDays(-3000))
	v.Notes = "MARKOLD"
	mustApply(t, s, Page{Cursor: 2, Changes: []Change{
		changeOf(t, domain.KindMember, m.ID, m, 1, "central"),
		changeOf(t, domain.KindVisit, v.ID, v, 2, "central"),
	}}, nil)
	e := v
	e.Notes = "MARKPENDING"
	mustSaveVisit(t, s, e)
	mustApply(t, s, Page{Cursor: 3, Changes: []Change{{Seq: 3, Kind: domain.KindVisit, ID: v.ID, Delete: true, Erased: true}}}, nil)
	if hits := rawHits(t, s, "MARKOLD", "MARKPENDING"); len(hits) > 0 {
		t.Errorf("the deleted visit survives: %v", hits)
	}
	if err := s.SaveVisit(e); !errors.Is(err, ErrDeleted) {
		t.Errorf("saving over it: %v, want ErrDeleted", err)
	}
	if _, err := s.Member(m.ID); err != nil {
		t.Errorf("the member went with its visit: %v", err)
	}
	q, _ := s.Quarantine()
	if len(q) != 1 || q[0].Code != "deleted" || q[0].Mutation.ID != v.ID {
		t.Errorf("quarantine = %+v", q)
	}
	if ob := outbox(t, s); len(ob) != 1 || !ob[0].Delete {
		t.Errorf("outbox = %+v", ob)
	}

	// A delete made here and refused (edited elsewhere), then the server's
	// own delete: discarding the refusal must not bring the visit back.
	w := newVisit(m.ID, c.Today().AddDays(-1))
	mustApply(t, s, Page{AckedThrough: 1, Cursor: 4, Changes: []Change{changeOf(t, domain.KindVisit, w.ID, w, 4, "central")}}, nil)
	if err := s.DeleteVisit(w.ID); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, Page{AckedThrough: 2, Cursor: 4, Rejected: []Rejection{{Seq: 2, Kind: domain.KindVisit, ID: w.ID, Code: "edited_since"}}}, nil)
	mustApply(t, s, Page{AckedThrough: 2, Cursor: 5, Changes: []Change{{Seq: 5, Kind: domain.KindVisit, ID: w.ID, Delete: true, Erased: true}}}, nil)
	if err := s.DiscardQuarantined(2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Visit(w.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("discarding a refused delete undid the server's: %v", err)
	}
}

// TestOrdinaryDeleteKeepsWhatWasTyped: after a coordinator's delete (not an
// erasure: the server keeps the values, to undo a mistake) the device keeps
// only the id of the record, but a change typed here and not yet sent keeps
// its values: the server refuses it and the quarantine shows what was typed.
func TestOrdinaryDeleteKeepsWhatWasTyped(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("Coop Fjord", "Saguenay", "02", domain.ConsumerCoop)
	m.Normalize()
	v := newVisit(m.ID, c.Today().AddDays(-3))
	v.Notes = "MARKOLD"
	mustApply(t, s, Page{Cursor: 2, Changes: []Change{
		changeOf(t, domain.KindMember, m.ID, m, 1, "central"),
		changeOf(t, domain.KindVisit, v.ID, v, 2, "central"),
	}}, nil)
	e := v
	e.Notes = "MARKTYPED"
	mustSaveVisit(t, s, e)
	mustApply(t, s, Page{Cursor: 3, Changes: []Change{{Seq: 3, Kind: domain.KindVisit, ID: v.ID, Delete: true}}}, nil)
	if _, err := s.Visit(v.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the deleted visit: %v, want ErrNotFound", err)
	}
	ob := outbox(t, s)
	if len(ob) != 1 || ob[0].Delete || !bytes.Contains(ob[0].Fields["notes"], []byte("MARKTYPED")) {
		t.Fatalf("outbox = %+v, want the edit as typed", ob)
	}
	mustApply(t, s, Page{AckedThrough: 1, Cursor: 3,
		Rejected: []Rejection{{Seq: 1, Kind: domain.KindVisit, ID: v.ID, Code: "deleted"}}}, nil)
	q, err := s.Quarantine()
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || !bytes.Contains(q[0].Mutation.Fields["notes"], []byte("MARKTYPED")) {
		t.Errorf("quarantine = %+v, want the refused edit with what was typed", q)
	}
}
