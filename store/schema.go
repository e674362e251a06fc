package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// migration brings the layout from version to-1 to version to. Migrations
// run in order, all in the one transaction that also records the new
// version, so a crash leaves the store at the old version or the new one.
// A migration that rewrites more than a Badger transaction holds must be
// split into several versions.
type migration struct {
	to    int
	name  string
	apply func(txn *badger.Txn) error
}

// migrations is the ordered history of the layout. Append, never edit.
var migrations = []migration{
	{to: 1, name: "initial layout", apply: initialLayout},
}

// initialLayout gives a new database its device id and the default services
// catalog (until the central service publishes its own).
func initialLayout(txn *badger.Txn) error {
	if err := txn.Set([]byte(kDevice), []byte(domain.NewID())); err != nil {
		return err
	}
	return setJSON(txn, []byte(kServices), domain.DefaultServices())
}

func latestSchema() int { return migrations[len(migrations)-1].to }

func (s *Store) migrate() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Update(func(txn *badger.Txn) error {
		v, err := getUint(txn, kSchema)
		if err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		cur := int(v)
		if cur > latestSchema() {
			return fmt.Errorf("schema %d, this version knows %d: %w", cur, latestSchema(), ErrSchemaTooNew)
		}
		for _, m := range migrations {
			if m.to <= cur {
				continue
			}
			if err := m.apply(txn); err != nil {
				return fmt.Errorf("migrate to %d (%s): %w", m.to, m.name, err)
			}
			cur = m.to
		}
		s.schema = cur
		if cur == int(v) {
			return nil
		}
		return setUint(txn, kSchema, uint64(cur))
	})
}
