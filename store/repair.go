package store

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// A value log torn by a crash on a disk that reorders writes leaves keys
// whose values are gone: Badger finds a pointer into the lost part of the
// file, logs it, and hands back an empty value (store TestTornWrite). The
// outbox, a record list or a page apply then fails to decode it, and the
// sync would stop until the profile is restored from a backup. Repair
// drops those keys instead and fetches everything again from the server,
// which has what this device had sent; what it had not sent is kept where
// it still reads.

// Repair holds what RepairUnreadable found.
type Repair struct {
	// Records, Outbox and Other count the unreadable keys dropped: records
	// (fetched again from the server), unsent changes (lost with the torn
	// write) and anything else (quarantine, conflicts, settings).
	Records, Outbox, Other int
}

// Total is every key dropped.
func (r Repair) Total() int { return r.Records + r.Outbox + r.Other }

// RepairUnreadable looks for keys whose value cannot be read, deletes them
// (with the index entries of a record), and, when a record was among them,
// begins a refetch (BeginRefetch): the next sync fetches every record from
// the server and then sends again what this device wrote and the server
// lacks. It reads the whole database: the sync engine calls it only after
// a failure to read local data.
func (s *Store) RepairUnreadable() (Repair, error) {
	var rep Repair
	if err := s.acquire(); err != nil {
		return rep, err
	}
	s.writeMu.Lock()
	var doomed [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			val, err := item.ValueCopy(nil)
			if err == nil && (len(val) > 0 || item.ValueSize() == 0) {
				continue
			}
			key := item.KeyCopy(nil)
			doomed = append(doomed, key)
			k := string(key)
			switch {
			case strings.HasPrefix(k, pOutbox):
				rep.Outbox++
			case strings.HasPrefix(k, pMember), strings.HasPrefix(k, pFollowUp), strings.HasPrefix(k, pVisit),
				strings.HasPrefix(k, pVisitTomb):
				rep.Records++
				doomed = append(doomed, indexKeys(txn, k)...)
			default:
				rep.Other++
			}
		}
		return nil
	})
	if err == nil {
		for len(doomed) > 0 && err == nil {
			n := min(len(doomed), wipeBatch)
			err = s.db.Update(func(txn *badger.Txn) error {
				for _, k := range doomed[:n] {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
			doomed = doomed[n:]
		}
	}
	if err == nil && rep.Records > 0 {
		err = s.db.View(s.members.load)
	}
	s.writeMu.Unlock()
	s.release()
	if err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	if rep.Total() > 0 {
		s.log.Warn("unreadable local data dropped", "records", rep.Records, "unsent", rep.Outbox, "other", rep.Other)
	}
	if rep.Records > 0 {
		if err := s.BeginRefetch(); err != nil {
			return rep, fmt.Errorf("repair: %w", err)
		}
	}
	return rep, nil
}

// indexKeys lists the index entries of the record stored at key whose
// value is lost: the member's summary, a visit's locator. Follow-up index
// entries name their follow-up, whose key is gone: readers skip them, and
// the refetch rewrites them.
func indexKeys(txn *badger.Txn, key string) [][]byte {
	switch {
	case strings.HasPrefix(key, pMember):
		return [][]byte{recordKey(pSummary, key[len(pMember):])}
	case strings.HasPrefix(key, pVisitTomb):
		return nil
	case strings.HasPrefix(key, pVisit):
		id := invertHex(key[strings.LastIndexByte(key, '/')+1:])
		loc := recordKey(pVisitLocator, id)
		if at, err := getRaw(txn, loc); err == nil && bytes.Equal(at, []byte(key)) {
			return [][]byte{loc}
		}
	}
	return nil
}
