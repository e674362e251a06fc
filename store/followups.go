package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// FollowUpFilter selects follow-ups.
type FollowUpFilter struct {
	// Status selects one state; "" selects those not done (open and in
	// progress).
	Status domain.FollowUpStatus
	// OverdueOnly keeps follow-ups not done whose due day has passed.
	OverdueOnly bool
	// MemberID and ServiceID, when set, narrow to one member or service.
	MemberID  string
	ServiceID string
	// Limit caps the result; 0 means no limit.
	Limit int
}

// SaveFollowUp validates f and stores it with its outbox mutation and its
// indexes in one durable transaction. The member must be in the store.
func (s *Store) SaveFollowUp(f domain.FollowUp) error { return s.saveFollowUp(f, 0) }

// saveFollowUp is SaveFollowUp with the write stamped at (see updateAt).
func (s *Store) saveFollowUp(f domain.FollowUp, at hlc.Timestamp) error {
	f.Normalize()
	if err := f.Validate(s.todayFor(at)); err != nil {
		return err
	}
	err := s.updateAt(at, func(w *writeTx) error {
		if err := w.requireMember(f.MemberID); err != nil {
			return err
		}
		var old domain.FollowUp
		existed, changed, err := w.saveLocal(domain.KindFollowUp, f.ID, &f, &old)
		if err != nil || !changed {
			return err
		}
		var prev *domain.FollowUp
		if existed {
			prev = &old
		}
		return w.indexFollowUp(prev, &f)
	})
	if err != nil {
		return fmt.Errorf("save follow-up: %w", err)
	}
	return nil
}

// DeleteFollowUp replaces a follow-up by a tombstone and queues the delete.
func (s *Store) DeleteFollowUp(id string) error {
	err := s.update(func(w *writeTx) error {
		var old domain.FollowUp
		if err := w.deleteLocal(domain.KindFollowUp, id, &old); err != nil {
			return err
		}
		return w.indexFollowUp(&old, nil)
	})
	if err != nil {
		return fmt.Errorf("delete follow-up %s: %w", id, err)
	}
	return nil
}

// indexFollowUp replaces old's index entries (either may be nil) by cur's.
// Within a transaction the last write to a key wins, so deleting then
// setting the same key is safe.
func (w *writeTx) indexFollowUp(old, cur *domain.FollowUp) error {
	if old != nil {
		if err := w.txn.Delete(followUpStatusKey(old)); err != nil {
			return err
		}
		if err := w.txn.Delete(memberFollowUpKey(old)); err != nil {
			return err
		}
	}
	if cur == nil {
		return nil
	}
	if err := w.txn.Set(followUpStatusKey(cur), []byte(cur.MemberID+"|"+cur.ServiceID)); err != nil {
		return err
	}
	return w.txn.Set(memberFollowUpKey(cur), []byte(string(cur.Status)+"|"+cur.ServiceID))
}

// FollowUp returns a follow-up by id, or ErrNotFound.
func (s *Store) FollowUp(id string) (domain.FollowUp, error) {
	var f domain.FollowUp
	err := s.view(func(txn *badger.Txn) error { return getLive(txn, domain.KindFollowUp, id, &f) })
	if err != nil {
		return domain.FollowUp{}, fmt.Errorf("follow-up %s: %w", id, err)
	}
	return f, nil
}

// dueRef is a follow-up found in an index, before it is read.
type dueRef struct{ due, id string }

// FollowUps returns the follow-ups f selects, by due date (then id). It walks
// the status or member index and reads only the follow-ups it returns.
func (s *Store) FollowUps(f FollowUpFilter) ([]domain.FollowUp, error) {
	statuses := []domain.FollowUpStatus{f.Status}
	if f.Status == "" {
		statuses = []domain.FollowUpStatus{domain.FollowUpOpen, domain.FollowUpInProgress}
	}
	if f.OverdueOnly {
		statuses = slices.DeleteFunc(statuses, func(st domain.FollowUpStatus) bool { return st == domain.FollowUpDone })
	}
	today := dayAsc(s.today())
	noDue := dayAsc(domain.Date{}) // imported follow-ups may have none; never overdue
	full := func(refs []dueRef) bool { return f.Limit > 0 && len(refs) >= f.Limit }
	var out []domain.FollowUp
	err := s.view(func(txn *badger.Txn) error {
		var refs []dueRef
		if f.MemberID != "" {
			prefix := []byte(pMemberFollowUps + f.MemberID + "/")
			err := scanValues(txn, prefix, func(key, val []byte) (bool, error) {
				due, id, ok := splitDueID(key[len(prefix):])
				if !ok || f.OverdueOnly && due == noDue {
					return true, nil
				}
				if f.OverdueOnly && due >= today {
					return false, nil // in due order: nothing further is overdue
				}
				status, service, _ := strings.Cut(string(val), "|")
				if slices.Contains(statuses, domain.FollowUpStatus(status)) &&
					(f.ServiceID == "" || service == f.ServiceID) {
					refs = append(refs, dueRef{due, id})
				}
				return !full(refs), nil
			})
			if err != nil {
				return err
			}
		} else {
			for _, st := range statuses {
				prefix := []byte(pFollowUpStatus + string(st) + "/")
				var mine []dueRef
				err := scanValues(txn, prefix, func(key, val []byte) (bool, error) {
					due, id, ok := splitDueID(key[len(prefix):])
					if !ok || f.OverdueOnly && due == noDue {
						return true, nil
					}
					if f.OverdueOnly && due >= today {
						return false, nil
					}
					_, service, _ := strings.Cut(string(val), "|")
					if f.ServiceID == "" || service == f.ServiceID {
						mine = append(mine, dueRef{due, id})
					}
					return !full(mine), nil
				})
				if err != nil {
					return err
				}
				refs = append(refs, mine...)
			}
			// Each status list is in due order; merge them.
			slices.SortFunc(refs, func(a, b dueRef) int {
				if c := strings.Compare(a.due, b.due); c != 0 {
					return c
				}
				return strings.Compare(a.id, b.id)
			})
			if f.Limit > 0 && len(refs) > f.Limit {
				refs = refs[:f.Limit]
			}
		}
		out = make([]domain.FollowUp, 0, len(refs))
		for _, r := range refs {
			var fu domain.FollowUp
			if err := getLive(txn, domain.KindFollowUp, r.id, &fu); err != nil {
				return fmt.Errorf("follow-up %s: %w", r.id, err)
			}
			out = append(out, fu)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("follow-ups: %w", err)
	}
	return out, nil
}

func splitDueID(rest []byte) (due, id string, ok bool) {
	return strings.Cut(string(rest), "/")
}
