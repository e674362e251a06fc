package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// Services returns the services catalog in the central service's order.
func (s *Store) Services() ([]domain.Service, error) {
	var out []domain.Service
	err := s.view(func(txn *badger.Txn) error {
		_, err := getJSON(txn, kServices, &out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	return out, nil
}

var errBadCatalog = errors.New("bad services catalog")

// PutServices replaces the catalog with the one the central service
// publishes. The catalog is read-only on the device, so nothing is queued.
func (s *Store) PutServices(services []domain.Service) error {
	seen := make(map[string]bool, len(services))
	clean := make([]domain.Service, len(services))
	for i, sv := range services {
		sv.NameFR = domain.NormalizeText(sv.NameFR)
		sv.NameEN = domain.NormalizeText(sv.NameEN)
		if sv.ID == "" || seen[sv.ID] || sv.NameFR == "" || sv.NameEN == "" {
			return fmt.Errorf("put services: entry %d (%q): %w", i, sv.ID, errBadCatalog)
		}
		seen[sv.ID] = true
		clean[i] = sv
	}
	err := s.update(func(w *writeTx) error { return setJSON(w.txn, []byte(kServices), clean) })
	if err != nil {
		return fmt.Errorf("put services: %w", err)
	}
	return nil
}

// PutCoordinator stores a coordinator as the central service describes
// them. Coordinators are managed centrally, so nothing is queued.
func (s *Store) PutCoordinator(k domain.Coordinator) error {
	k.Normalize()
	if err := k.Validate(); err != nil {
		return err
	}
	err := s.update(func(w *writeTx) error { return setJSON(w.txn, recordKey(pCoordinator, k.ID), k) })
	if err != nil {
		return fmt.Errorf("put coordinator: %w", err)
	}
	return nil
}

// Coordinator returns a coordinator by id, or ErrNotFound.
func (s *Store) Coordinator(id string) (domain.Coordinator, error) {
	var k domain.Coordinator
	err := s.view(func(txn *badger.Txn) error { return getCoordinator(txn, id, &k) })
	if err != nil {
		return domain.Coordinator{}, fmt.Errorf("coordinator %s: %w", id, err)
	}
	return k, nil
}

func getCoordinator(txn *badger.Txn, id string, k *domain.Coordinator) error {
	ok, err := getJSON(txn, pCoordinator+id, k)
	if err == nil && !ok {
		err = ErrNotFound
	}
	return err
}

// Coordinators returns every coordinator the device knows, by folded name.
func (s *Store) Coordinators() ([]domain.Coordinator, error) {
	var out []domain.Coordinator
	err := s.view(func(txn *badger.Txn) error {
		return scanValues(txn, []byte(pCoordinator), func(key, val []byte) (bool, error) {
			var k domain.Coordinator
			if err := jsonUnmarshal(key, val, &k); err != nil {
				return false, err
			}
			out = append(out, k)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("coordinators: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return domain.Fold(out[i].Name) < domain.Fold(out[j].Name) })
	return out, nil
}

// Me returns the coordinator signed in on this device, or ErrNotFound.
func (s *Store) Me() (domain.Coordinator, error) {
	var k domain.Coordinator
	err := s.view(func(txn *badger.Txn) error {
		id, err := getString(txn, kMe)
		if err != nil {
			return err
		}
		if id == "" {
			return ErrNotFound
		}
		return getCoordinator(txn, id, &k)
	})
	if err != nil {
		return domain.Coordinator{}, fmt.Errorf("me: %w", err)
	}
	return k, nil
}

// SetMe records who is signed in; the coordinator must be stored. An empty
// id signs out.
func (s *Store) SetMe(coordinatorID string) error {
	err := s.update(func(w *writeTx) error {
		if coordinatorID == "" {
			return w.txn.Delete([]byte(kMe))
		}
		var k domain.Coordinator
		if err := getCoordinator(w.txn, coordinatorID, &k); err != nil {
			return err
		}
		return w.txn.Set([]byte(kMe), []byte(coordinatorID))
	})
	if err != nil {
		return fmt.Errorf("set me %s: %w", coordinatorID, err)
	}
	return nil
}

// Setting returns a device setting (language, device token…) and whether it
// is set. Settings are encrypted at rest like everything else.
func (s *Store) Setting(key string) (string, bool, error) {
	var val []byte
	err := s.view(func(txn *badger.Txn) error {
		var err error
		val, err = getRaw(txn, []byte(pSetting+key))
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("setting %s: %w", key, err)
	}
	return string(val), val != nil, nil
}

var errEmptyKey = errors.New("empty setting key")

// SetSetting stores a device setting durably; it is not synced.
func (s *Store) SetSetting(key, value string) error {
	if key == "" {
		return errEmptyKey
	}
	err := s.update(func(w *writeTx) error { return w.txn.Set([]byte(pSetting+key), []byte(value)) })
	if err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	return nil
}

// DeleteSetting removes a device setting (signing out forgets the token).
func (s *Store) DeleteSetting(key string) error {
	err := s.update(func(w *writeTx) error { return w.txn.Delete([]byte(pSetting + key)) })
	if err != nil {
		return fmt.Errorf("delete setting %s: %w", key, err)
	}
	return nil
}

// SyncState is where this device stands with the central service.
type SyncState struct {
	// Cursor is the server sequence up to which changes were applied.
	Cursor uint64 `json:"cursor"`
	// Epoch identifies the server's data; a new epoch means refetch.
	Epoch    string    `json:"epoch"`
	LastSync time.Time `json:"last_sync"`
	// Backfill is the position of a backfill in progress (regions gained,
	// or the first sync), stored with each page so that an interrupted
	// one resumes instead of starting over; nil otherwise.
	Backfill *Backfill `json:"backfill,omitempty"`
}

// SyncState returns the stored sync state, zero before the first sync.
func (s *Store) SyncState() (SyncState, error) {
	var st SyncState
	err := s.view(func(txn *badger.Txn) error {
		_, err := getJSON(txn, kSync, &st)
		return err
	})
	if err != nil {
		return SyncState{}, fmt.Errorf("sync state: %w", err)
	}
	return st, nil
}

// SetSyncState stores the sync state durably.
func (s *Store) SetSyncState(st SyncState) error {
	err := s.update(func(w *writeTx) error { return setJSON(w.txn, []byte(kSync), st) })
	if err != nil {
		return fmt.Errorf("set sync state: %w", err)
	}
	return nil
}
