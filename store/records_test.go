package store

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

func TestSaveMemberOutbox(t *testing.T) {
	s, _, c := newStore(t)
	m := newMember("  Coope\u0301rative de solidarité de Baie-Comeau ", "Baie-Comeau", "09", domain.SolidarityCoop, "legal", "hr", "hr")
	mustSaveMember(t, s, m)

	got, err := s.Member(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Coopérative de solidarité de Baie-Comeau" || got.PostalCode != "G0G 1A0" ||
		!slices.Equal(got.Services, []string{"hr", "legal"}) || got.Status != domain.MemberActive {
		t.Fatalf("stored member not normalised: %+v", got)
	}

	muts := outbox(t, s)
	if len(muts) != 1 {
		t.Fatalf("outbox after a create has %d mutations, want 1", len(muts))
	}
	create := muts[0]
	if create.Seq != 1 || create.Kind != domain.KindMember || create.ID != m.ID || create.Delete || create.HLC == 0 {
		t.Fatalf("create mutation = %+v", create)
	}
	all, _ := json.Marshal(got)
	var allFields map[string]json.RawMessage
	json.Unmarshal(all, &allFields)
	delete(allFields, "id")
	if !slices.Equal(fieldNames(create), slices.Sorted(maps.Keys(allFields))) {
		t.Fatalf("create carries %v, want every field but id", fieldNames(create))
	}
	if string(create.Fields["name"]) != `"Coopérative de solidarité de Baie-Comeau"` {
		t.Fatalf("name field = %s", create.Fields["name"])
	}
	if !create.At.Equal(c.Now()) {
		t.Fatalf("At = %v, want %v", create.At, c.Now())
	}

	// Change two fields: one mutation with exactly those.
	got.Phone = "418-555-0199"
	got.Services = []string{"hr", "legal", "web"}
	mustSaveMember(t, s, got)
	muts = outbox(t, s)
	if len(muts) != 2 {
		t.Fatalf("outbox has %d mutations, want 2", len(muts))
	}
	edit := muts[1]
	if edit.Seq != 2 || !slices.Equal(fieldNames(edit), []string{"phone", "services"}) {
		t.Fatalf("edit mutation = seq %d fields %v", edit.Seq, fieldNames(edit))
	}
	if string(edit.Fields["services"]) != `["hr","legal","web"]` || edit.Base["phone"] != 0 || edit.HLC <= create.HLC {
		t.Fatalf("edit mutation = %+v", edit)
	}

	// Saving what is stored queues nothing.
	mustSaveMember(t, s, got)
	if n, _ := s.PendingCount(); n != 2 {
		t.Fatalf("unchanged save queued a mutation: %d pending", n)
	}

	// Field versions: the edited fields carry the edit's stamp.
	env := readEnv(t, s, recordKey(pMember, m.ID))
	if env.Fields["phone"].HLC != edit.HLC || env.Fields["name"].HLC != create.HLC {
		t.Fatalf("field versions = %+v", env.Fields)
	}
}

func readEnv(t *testing.T, s *Store, key []byte) *envelope {
	t.Helper()
	var env *envelope
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		env, err = readEnvelope(txn, key)
		return err
	})
	if err != nil || env == nil {
		t.Fatalf("envelope %s: %v, %v", key, env, err)
	}
	return env
}

func TestInvalidSaveChangesNothing(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Mutuelle de prévoyance du Nord", "Chibougamau", "10", domain.Mutual))
	bad := m
	bad.Name = ""
	bad.PostalCode = "12345"
	bad.Email = "pas une adresse"
	err := s.SaveMember(bad)
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("SaveMember(invalid) = %v, want ErrInvalid", err)
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *domain.ValidationError", err)
	}
	for _, f := range []string{"name", "postal_code", "email"} {
		if _, ok := ve.For(f); !ok {
			t.Errorf("no error for %s in %v", f, ve)
		}
	}
	if got, _ := s.Member(m.ID); got.Name != m.Name {
		t.Fatalf("invalid save changed the member: %+v", got)
	}
	if n, _ := s.PendingCount(); n != 1 {
		t.Fatalf("invalid save queued a mutation: %d pending", n)
	}

	// A visit for a member the store does not have: refused, nothing written.
	v := newVisit(domain.NewID(), c.Today())
	if err := s.SaveVisit(v); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SaveVisit for an unknown member = %v, want ErrNotFound", err)
	}
	if _, err := s.Visit(v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused visit stored: %v", err)
	}
	// A visit dated after tomorrow is invalid.
	v = newVisit(m.ID, c.Today().AddDays(3))
	if err := s.SaveVisit(v); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("SaveVisit(future) = %v, want ErrInvalid", err)
	}
	if n, _ := s.PendingCount(); n != 1 {
		t.Fatalf("refused visits queued mutations: %d pending", n)
	}
}

func TestVisitsHistoryAndLastVisit(t *testing.T) {
	s, dir, c := newStore(t)
	a := mustSaveMember(t, s, newMember("Coopérative de travail Ricochet", "Québec", "03", domain.WorkerCoop))
	b := mustSaveMember(t, s, newMember("Fédération des coopératives du Nord", "Sept-Îles", "09", domain.Federation))
	d := func(y int, m time.Month, day int) domain.Date { return domain.NewDate(y, m, day) }

	v1 := mustSaveVisit(t, s, newVisit(a.ID, d(2024, 3, 1)))
	v2 := mustSaveVisit(t, s, newVisit(a.ID, d(2025, 5, 20)))
	v3 := mustSaveVisit(t, s, newVisit(a.ID, d(2024, 11, 2)))
	v4 := mustSaveVisit(t, s, newVisit(a.ID, d(2025, 5, 20))) // same day as v2, made later

	hist, err := s.VisitsOfMember(a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{v4.ID, v2.ID, v3.ID, v1.ID}
	if got := ids(hist, visitID); !slices.Equal(got, want) {
		t.Fatalf("history = %v, want newest first %v", got, want)
	}
	if hist, _ := s.VisitsOfMember(a.ID, 2); !slices.Equal(ids(hist, visitID), want[:2]) {
		t.Fatalf("history limit 2 = %v", ids(hist, visitID))
	}
	if hist, _ := s.VisitsOfMember(b.ID, 0); len(hist) != 0 {
		t.Fatalf("other member's history = %v", ids(hist, visitID))
	}
	lastVisit := func(id string) domain.Date {
		t.Helper()
		sums, err := s.SearchMembers(MemberQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sums {
			if m.ID == id {
				return m.LastVisit
			}
		}
		t.Fatalf("member %s not in search", id)
		return domain.Date{}
	}
	if lv := lastVisit(a.ID); lv != d(2025, 5, 20) {
		t.Fatalf("LastVisit = %v", lv)
	}

	// Move both latest visits earlier: the last visit follows.
	v2.Date, v4.Date = d(2024, 1, 5), d(2024, 1, 6)
	mustSaveVisit(t, s, v2)
	mustSaveVisit(t, s, v4)
	if lv := lastVisit(a.ID); lv != d(2024, 11, 2) {
		t.Fatalf("LastVisit after moving visits earlier = %v, want 2024-11-02", lv)
	}
	// Move a visit to the other member.
	v3.MemberID = b.ID
	mustSaveVisit(t, s, v3)
	if lv := lastVisit(a.ID); lv != d(2024, 3, 1) {
		t.Fatalf("LastVisit of a after moving v3 away = %v", lv)
	}
	if lv := lastVisit(b.ID); lv != d(2024, 11, 2) {
		t.Fatalf("LastVisit of b after receiving v3 = %v", lv)
	}
	if got, err := s.Visit(v3.ID); err != nil || got.MemberID != b.ID {
		t.Fatalf("moved visit = %+v, %v", got, err)
	}
	if hist, _ := s.VisitsOfMember(b.ID, 0); !slices.Equal(ids(hist, visitID), []string{v3.ID}) {
		t.Fatalf("history of b = %v", ids(hist, visitID))
	}

	// Delete: gone from history and reads, queued as a delete with bases.
	before := len(outbox(t, s))
	if err := s.DeleteVisit(v1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Visit(v1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Visit after delete = %v, want ErrNotFound", err)
	}
	muts := outbox(t, s)
	if len(muts) != before+1 {
		t.Fatalf("delete queued %d mutations", len(muts)-before)
	}
	del := muts[len(muts)-1]
	if !del.Delete || del.ID != v1.ID || del.Kind != domain.KindVisit || len(del.Fields) != 0 || len(del.Base) != 10 {
		t.Fatalf("delete mutation = %+v", del)
	}
	if err := s.DeleteVisit(v1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
	if err := s.SaveVisit(v1); !errors.Is(err, ErrDeleted) {
		t.Fatalf("save over a tombstone = %v, want ErrDeleted", err)
	}
	if lv := lastVisit(a.ID); lv != d(2024, 1, 6) {
		t.Fatalf("LastVisit after delete = %v, want 2024-01-06", lv)
	}

	// Everything, index included, survives a reopen.
	s = reopen(t, s, dir, c)
	if hist, _ := s.VisitsOfMember(a.ID, 0); !slices.Equal(ids(hist, visitID), []string{v4.ID, v2.ID}) {
		t.Fatalf("history after reopen = %v", ids(hist, visitID))
	}
	sums, _ := s.SearchMembers(MemberQuery{Text: "ricochet"})
	if len(sums) != 1 || sums[0].LastVisit != d(2024, 1, 6) {
		t.Fatalf("summary after reopen = %+v", sums)
	}
}

func TestOutboxNumberingAndTrim(t *testing.T) {
	s, dir, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coop d'alimentation de Natashquan", "Natashquan", "09", domain.ConsumerCoop))
	for i := 0; i < 4; i++ {
		mustSaveVisit(t, s, newVisit(m.ID, c.Today().AddDays(-i)))
	}
	muts := outbox(t, s)
	if got := ids(muts, func(m Mutation) string { return string(rune('0' + m.Seq)) }); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Fatalf("seqs = %v", got)
	}
	page, err := s.Outbox(2, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Fatalf("Outbox(2, 2) = %+v, %v", page, err)
	}
	if err := s.TrimOutbox(3); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PendingCount(); n != 2 {
		t.Fatalf("pending after trim = %d, want 2", n)
	}
	if rest := outbox(t, s); rest[0].Seq != 4 {
		t.Fatalf("first after trim = %d", rest[0].Seq)
	}
	if err := s.TrimOutbox(100); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Fatalf("pending after full trim = %d", n)
	}
	// Numbers are never reused, across a reopen too.
	s = reopen(t, s, dir, c)
	mustSaveVisit(t, s, newVisit(m.ID, c.Today()))
	if muts := outbox(t, s); len(muts) != 1 || muts[0].Seq != 6 {
		t.Fatalf("after trim and reopen = %+v", muts)
	}
}

func TestTrimLargeOutbox(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coop de services à domicile", "Gaspé", "11", domain.SolidarityCoop))
	visits := make([]domain.Visit, 0, 2*trimBatch+10)
	for i := range cap(visits) {
		visits = append(visits, newVisit(m.ID, c.Today().AddDays(-i%3000)))
	}
	// Queue many mutations quickly: one transaction each would take a
	// while with synchronous writes, so fill the outbox directly.
	err := s.update(func(w *writeTx) error {
		for i := range visits {
			if err := w.queue(Mutation{Kind: domain.KindVisit, ID: visits[i].ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TrimOutbox(uint64(2*trimBatch + 5)); err != nil {
		t.Fatal(err)
	}
	rest := outbox(t, s)
	if len(rest) != 6 || rest[0].Seq != 2*trimBatch+6 {
		t.Fatalf("after trimming past several batches: %d left, first %d", len(rest), rest[0].Seq)
	}
}

func TestClockPersistsAcrossRestarts(t *testing.T) {
	s, dir, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coop de l'Anse", "Percé", "11", domain.WorkerCoop))
	first := outbox(t, s)[0].HLC
	// The laptop's clock jumps back a year before the next start.
	c.Set(c.Now().AddDate(-1, 0, 0))
	s = reopen(t, s, dir, c)
	m.Notes = "Horloge reculée"
	mustSaveMember(t, s, m)
	muts := outbox(t, s)
	if muts[1].HLC <= first {
		t.Fatalf("HLC after restart %v not after %v", muts[1].HLC, first)
	}
	var persisted uint64
	s.db.View(func(txn *badger.Txn) error {
		var err error
		persisted, err = getUint(txn, kHLC)
		return err
	})
	if hlc.Timestamp(persisted) != muts[1].HLC {
		t.Fatalf("persisted clock %v, last stamp %v", hlc.Timestamp(persisted), muts[1].HLC)
	}
}

// TestConcurrentWriters saves from several goroutines while others read:
// every save gets its own outbox number, none is lost, and the race
// detector sees the store's own locking.
func TestConcurrentWriters(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coopérative de câblodistribution", "Mont-Laurier", "15", domain.ConsumerCoop))
	const writers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+100)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.SaveVisit(newVisit(m.ID, c.Today().AddDays(-(w*each + i)))); err != nil {
					errs <- err
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, err := s.SearchMembers(MemberQuery{Text: "coop"}); err != nil {
				errs <- err
			}
			if _, err := s.VisitsOfMember(m.ID, 5); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	muts := outbox(t, s)
	if len(muts) != 1+writers*each {
		t.Fatalf("outbox has %d mutations, want %d", len(muts), 1+writers*each)
	}
	for i, mu := range muts {
		if mu.Seq != uint64(i+1) {
			t.Fatalf("mutation %d has seq %d", i, mu.Seq)
		}
	}
	hist, _ := s.VisitsOfMember(m.ID, 0)
	if len(hist) != writers*each {
		t.Fatalf("history has %d visits", len(hist))
	}
}
