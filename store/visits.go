package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// SaveVisit validates v and stores it in its member's history, with its
// outbox mutation and the member's last-visit date, in one durable
// transaction.
// The member must be in the store. When SaveVisit returns nil the visit
// survives a crash or a power cut.
func (s *Store) SaveVisit(v domain.Visit) error { return s.saveVisit(v, 0) }

// saveVisit is SaveVisit with the write stamped at (see updateAt).
func (s *Store) saveVisit(v domain.Visit, at hlc.Timestamp) error {
	v.Normalize()
	if err := v.Validate(s.todayFor(at)); err != nil {
		return err
	}
	err := s.updateAt(at, func(w *writeTx) error {
		if err := w.requireMember(v.MemberID); err != nil {
			return err
		}
		var old domain.Visit
		existed, changed, err := w.saveLocal(domain.KindVisit, v.ID, &v, &old)
		if err != nil || !changed {
			return err
		}
		var prev *domain.Visit
		if existed {
			prev = &old
		}
		return w.visitMoved(prev, &v)
	})
	if err != nil {
		return fmt.Errorf("save visit: %w", err)
	}
	return nil
}

// DeleteVisit replaces a visit by a tombstone and queues the delete.
func (s *Store) DeleteVisit(id string) error {
	err := s.update(func(w *writeTx) error {
		var old domain.Visit
		if err := w.deleteLocal(domain.KindVisit, id, &old); err != nil {
			return err
		}
		return w.visitMoved(&old, nil)
	})
	if err != nil {
		return fmt.Errorf("delete visit %s: %w", id, err)
	}
	return nil
}

func (w *writeTx) requireMember(id string) error {
	ok, err := w.exists(domain.KindMember, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("member %s: %w", id, ErrNotFound)
	}
	return nil
}

// visitMoved refreshes the last visit of the members whose history a
// visit entered or left (either may be nil); saving moved the record itself.
func (w *writeTx) visitMoved(old, cur *domain.Visit) error {
	if old != nil && cur != nil && old.MemberID == cur.MemberID && old.Date == cur.Date {
		return nil
	}
	if old != nil {
		if err := w.refreshLastVisit(old.MemberID); err != nil {
			return err
		}
	}
	if cur != nil && (old == nil || old.MemberID != cur.MemberID) {
		return w.refreshLastVisit(cur.MemberID)
	}
	return nil
}

// Visit returns a visit by id, or ErrNotFound.
func (s *Store) Visit(id string) (domain.Visit, error) {
	var v domain.Visit
	err := s.view(func(txn *badger.Txn) error { return getLive(txn, domain.KindVisit, id, &v) })
	if err != nil {
		return domain.Visit{}, fmt.Errorf("visit %s: %w", id, err)
	}
	return v, nil
}

// VisitsOfMember returns a member's visits, newest first, at most limit of
// them (all when limit <= 0). Visits are stored clustered by member, so this
// is one range scan, whatever the number of other visits.
func (s *Store) VisitsOfMember(memberID string, limit int) ([]domain.Visit, error) {
	var out []domain.Visit
	err := s.view(func(txn *badger.Txn) error {
		return scanValues(txn, []byte(memberVisitPrefix(memberID)), func(key, val []byte) (bool, error) {
			var env envelope
			if err := jsonUnmarshal(key, val, &env); err != nil {
				return false, err
			}
			var v domain.Visit
			if err := jsonUnmarshal(key, env.Data, &v); err != nil {
				return false, err
			}
			out = append(out, v)
			return limit <= 0 || len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("visits of member %s: %w", memberID, err)
	}
	return out, nil
}
