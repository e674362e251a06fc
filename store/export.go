package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// EachMember calls fn with every member, by id, until fn fails.
func (s *Store) EachMember(fn func(domain.Member) error) error {
	return eachLive(s, pMember, fn)
}

// EachVisit calls fn with every visit, member by member and newest first,
// until fn fails.
func (s *Store) EachVisit(fn func(domain.Visit) error) error {
	return eachLive(s, pVisit, fn)
}

// EachFollowUp calls fn with every follow-up, by id, until fn fails.
func (s *Store) EachFollowUp(fn func(domain.FollowUp) error) error {
	return eachLive(s, pFollowUp, fn)
}

// eachLive walks the envelopes under prefix, skipping tombstones, from one
// snapshot.
func eachLive[T any](s *Store, prefix string, fn func(T) error) error {
	err := s.view(func(txn *badger.Txn) error {
		return scanValues(txn, []byte(prefix), func(key, val []byte) (bool, error) {
			var env envelope
			if err := jsonUnmarshal(key, val, &env); err != nil {
				return false, err
			}
			if env.Deleted != 0 {
				return true, nil
			}
			var v T
			if err := jsonUnmarshal(key, env.Data, &v); err != nil {
				return false, err
			}
			return true, fn(v)
		})
	})
	if err != nil {
		return fmt.Errorf("each %s: %w", prefix, err)
	}
	return nil
}
