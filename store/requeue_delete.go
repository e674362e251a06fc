package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// pRequeueDelete is "rd/<kind>/<id>": this device deleted the record before
// a refetch, and the restored server did not have it, so the delete had
// nothing to act on. Another device that wrote the record may send it again
// (its own requeue); the delete still holds, and is made again when the
// record comes back. Ids only: nothing a member said is kept there.
const pRequeueDelete = "rd/"

// deleteLater remembers a delete of a record the restored server lacks.
// The tombstone the refetch kept (the delete was unsent) goes: it is this
// device's, not the server's, and deleteAgain must tell the server's from
// none.
func (s *Store) deleteLater(kind domain.Kind, id string) error {
	return s.update(func(w *writeTx) error {
		from, env, err := findAny(w.txn, kind, id)
		if err != nil {
			return err
		}
		if env != nil && env.Deleted != 0 {
			if err := w.purge(kind, id, from, env); err != nil {
				return err
			}
		}
		return w.txn.Set([]byte(pRequeueDelete+refKey(kind, id)), nil)
	})
}

// deleteAgain deletes again, as local deletes queued in the outbox, the
// records deleteLater remembered that the server has sent since; a record
// the server deleted too is forgotten, one still absent kept waiting.
func (s *Store) deleteAgain() error {
	var refs []string
	err := s.view(func(txn *badger.Txn) error {
		scanKeys(txn, []byte(pRequeueDelete), nil, func(key []byte) bool {
			refs = append(refs, string(bytes.TrimPrefix(key, []byte(pRequeueDelete))))
			return true
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete again: %w", err)
	}
	for _, ref := range refs {
		kind, id, _ := strings.Cut(ref, "/")
		var local *envelope
		err := s.view(func(txn *badger.Txn) error {
			_, local, err = findAny(txn, domain.Kind(kind), id)
			return err
		})
		if err != nil {
			return fmt.Errorf("delete again: %w", err)
		}
		if local == nil {
			continue // not back (yet)
		}
		if local.Deleted == 0 {
			switch domain.Kind(kind) {
			case domain.KindVisit:
				err = s.DeleteVisit(id)
			case domain.KindFollowUp:
				err = s.DeleteFollowUp(id)
			}
			if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDeleted) {
				return fmt.Errorf("delete again: %w", err)
			}
		}
		err = s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(pRequeueDelete + ref)) })
		if err != nil {
			return fmt.Errorf("delete again: %w", err)
		}
	}
	return nil
}
