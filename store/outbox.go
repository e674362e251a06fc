package store

import (
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

func jsonUnmarshal(key, val []byte, v any) error {
	if err := json.Unmarshal(val, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// Outbox returns the mutations numbered after after, in order, at most
// limit of them (all when limit <= 0).
func (s *Store) Outbox(after uint64, limit int) ([]Mutation, error) {
	var out []Mutation
	err := s.view(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte(pOutbox)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek(outboxKey(after + 1)); it.Valid(); it.Next() {
			if limit > 0 && len(out) == limit {
				break
			}
			var m Mutation
			err := it.Item().Value(func(val []byte) error { return jsonUnmarshal(it.Item().Key(), val, &m) })
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

// trimBatch bounds one trimming transaction well under Badger's limit.
const trimBatch = 1000

// TrimOutbox removes the mutations numbered up to through, once the server
// has acknowledged them. Numbers are never reused after a trim.
func (s *Store) TrimOutbox(through uint64) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for {
		n := 0
		err := s.db.Update(func(txn *badger.Txn) error {
			var keys [][]byte
			scanKeys(txn, []byte(pOutbox), nil, func(key []byte) bool {
				if outboxSeq(key) > through || len(keys) == trimBatch {
					return false
				}
				keys = append(keys, append([]byte(nil), key...))
				return true
			})
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return fmt.Errorf("trim outbox: %w", err)
		}
		if n < trimBatch {
			return nil
		}
	}
}

// PendingCount returns how many mutations wait to be pushed.
func (s *Store) PendingCount() (int, error) {
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		scanKeys(txn, []byte(pOutbox), nil, func([]byte) bool { n++; return true })
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pending count: %w", err)
	}
	return n, nil
}

// LastQueued returns the number of the last mutation queued, sent or not
// (0 before the first): later saves get higher numbers.
func (s *Store) LastQueued() uint64 {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.outSeq
}
