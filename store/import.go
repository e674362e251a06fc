package store

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// Import budgets per transaction, well under what Badger accepts in one
// (15% of the 8 MiB memtable) even with a record of maximal size.
const (
	importTxnBytes = 512 << 10
	importTxnOps   = 2000
)

// Import stores records from a trusted source (demo data, and data pulled
// from the central service) with their indexes, without queuing anything in
// the outbox. Records are normalised and their ids checked, but not
// validated: data the central service accepted must not be refused by a
// laptop whose clock or rules differ. An imported record replaces any
// stored one wholesale, field versions included. Records are committed in
// batches; after a failure, importing the same records again is safe.
func (s *Store) Import(members []domain.Member, visits []domain.Visit, followUps []domain.FollowUp) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	im := &importer{s: s, lastVisit: map[string]int{}, dirty: map[string]bool{}}
	// Seeks for a member's last visit read this snapshot: an iterator over
	// a transaction with pending writes sorts them all, every time.
	im.snap = s.db.NewTransaction(false)
	defer im.snap.Discard()
	im.begin()
	defer func() { im.w.txn.Discard() }()
	if err := im.run(members, visits, followUps); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

type importer struct {
	s         *Store
	w         *writeTx
	snap      *badger.Txn
	bytes     int
	ops       int
	lastVisit map[string]int  // latest visit day imported per member
	dirty     map[string]bool // members whose history lost or moved a visit
}

func (im *importer) begin() {
	im.w = &writeTx{s: im.s, txn: im.s.db.NewTransaction(true), seq: im.s.outSeq}
	im.bytes, im.ops = 0, 0
}

func (im *importer) commit() error {
	if err := im.w.txn.Commit(); err != nil {
		return err
	}
	im.s.members.apply(im.w.summary)
	return nil
}

// room commits the current transaction when the next record might not fit.
func (im *importer) room(size, ops int) error {
	if im.ops > 0 && (im.bytes+size > importTxnBytes || im.ops+ops > importTxnOps) {
		if err := im.commit(); err != nil {
			return err
		}
		im.begin()
	}
	im.bytes += size
	im.ops += ops
	return nil
}

func (im *importer) run(members []domain.Member, visits []domain.Visit, followUps []domain.FollowUp) error {
	for i := range members {
		m := members[i]
		m.Normalize()
		if err := domain.CheckID(m.ID); err != nil {
			return fmt.Errorf("member %d: id %q: %w", i, m.ID, err)
		}
		if err := im.member(&m); err != nil {
			return fmt.Errorf("member %s: %w", m.ID, err)
		}
	}
	for i := range visits {
		v := visits[i]
		v.Normalize()
		if err := checkIDs(v.ID, v.MemberID); err != nil {
			return fmt.Errorf("visit %d: %w", i, err)
		}
		if err := im.visit(&v); err != nil {
			return fmt.Errorf("visit %s: %w", v.ID, err)
		}
	}
	for i := range followUps {
		f := followUps[i]
		f.Normalize()
		if err := checkIDs(f.ID, f.MemberID); err != nil {
			return fmt.Errorf("follow-up %d: %w", i, err)
		}
		if err := im.followUp(&f); err != nil {
			return fmt.Errorf("follow-up %s: %w", f.ID, err)
		}
	}
	if err := im.lastVisits(); err != nil {
		return err
	}
	return im.commit()
}

func checkIDs(ids ...string) error {
	for _, id := range ids {
		if err := domain.CheckID(id); err != nil {
			return fmt.Errorf("id %q: %w", id, err)
		}
	}
	return nil
}

// put writes a record's envelope and returns its previous live state in
// old, reporting whether there was one.
func (im *importer) put(kind domain.Kind, id string, value, old any) (bool, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return false, err
	}
	if err := im.room(len(data)+512, 8); err != nil {
		return false, err
	}
	from, prev, err := findRecord(im.w.txn, kind, id)
	if err != nil {
		return false, err
	}
	live := prev != nil && prev.Deleted == 0
	if live {
		if err := json.Unmarshal(prev.Data, old); err != nil {
			return false, fmt.Errorf("decode %s: %w", from, err)
		}
	}
	return live, putRecord(im.w.txn, kind, id, from, placeOf(kind, id, value), &envelope{Data: data})
}

func (im *importer) member(m *domain.Member) error {
	var old domain.Member
	if _, err := im.put(domain.KindMember, m.ID, m, &old); err != nil {
		return err
	}
	last := 0
	var err error
	if sum := im.w.loadSummary(m.ID); sum != nil {
		last = sum.LastVisit
	} else if last, err = lastVisitDay(im.snap, m.ID); err != nil {
		return err
	}
	return im.w.putSummary(m.ID, summaryOf(m, last))
}

func (im *importer) visit(v *domain.Visit) error {
	var old domain.Visit
	live, err := im.put(domain.KindVisit, v.ID, v, &old)
	if err != nil {
		return err
	}
	if live && (old.MemberID != v.MemberID || old.Date != v.Date) {
		im.dirty[old.MemberID] = true
		im.dirty[v.MemberID] = true
	}
	if day := dayNumber(v.Date); day > im.lastVisit[v.MemberID] {
		im.lastVisit[v.MemberID] = day
	}
	return nil
}

func (im *importer) followUp(f *domain.FollowUp) error {
	var old domain.FollowUp
	live, err := im.put(domain.KindFollowUp, f.ID, f, &old)
	if err != nil {
		return err
	}
	var prev *domain.FollowUp
	if live {
		prev = &old
	}
	return im.w.indexFollowUp(prev, f)
}

// lastVisits brings the summaries of the members whose history grew or
// changed up to date: a new later visit raises the date; a visit that moved
// away means asking the index, once everything is committed.
func (im *importer) lastVisits() error {
	if len(im.dirty) > 0 {
		if err := im.commit(); err != nil {
			return err
		}
		im.snap.Discard()
		im.snap = im.s.db.NewTransaction(false)
		im.begin()
	}
	ids := maps.Clone(im.dirty)
	for id := range im.lastVisit {
		ids[id] = true
	}
	for id := range ids {
		if err := im.room(256, 2); err != nil {
			return err
		}
		sum := im.w.loadSummary(id)
		if sum == nil {
			continue // visits of a member not (yet) imported
		}
		day := max(sum.LastVisit, im.lastVisit[id])
		if im.dirty[id] {
			var err error
			if day, err = lastVisitDay(im.snap, id); err != nil {
				return err
			}
		}
		if day != sum.LastVisit {
			next := *sum
			next.LastVisit = day
			if err := im.w.putSummary(id, &next); err != nil {
				return err
			}
		}
	}
	return nil
}
