package central

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"leconsortium.coop/terrain/domain"
)

// recordCache remembers the records one sync transaction has read or
// written: a push of many visits names the same members again and again,
// and on PostgreSQL each read is a round trip to the database. prime reads
// the records a request names in one go, absent ones included, so that the
// mutations then find them here. Callers get copies they may change.
type recordCache struct {
	Tx
	// records maps a record to its latest version in this transaction;
	// nil means it does not exist.
	records map[recordRef]*Record
}

func newRecordCache(tx Tx) *recordCache {
	return &recordCache{Tx: tx, records: map[recordRef]*Record{}}
}

// prime reads the records of a kind among ids that the cache does not know
// yet, in one call to the backend. Ids that are not well-formed are left
// out: they come from mutations not yet checked, which the rules refuse
// before reading anything (PostgreSQL would fail the whole transaction on
// a NUL byte).
func (c *recordCache) prime(kind domain.Kind, ids []string) error {
	var missing []string
	for _, id := range ids {
		if domain.CheckID(id) != nil {
			continue
		}
		ref := recordRef{kind, id}
		if _, known := c.records[ref]; !known {
			c.records[ref] = nil
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := c.Tx.RecordsByID(kind, missing)
	if err != nil {
		for _, id := range missing {
			delete(c.records, recordRef{kind, id})
		}
		return fmt.Errorf("read %s records: %w", kind, err)
	}
	for i := range found {
		c.records[recordRef{kind, found[i].ID}] = &found[i]
	}
	return nil
}

// primeKinds primes the ids of several kinds, one call per kind.
func (c *recordCache) primeKinds(ids map[domain.Kind][]string) error {
	for _, kind := range slices.Sorted(maps.Keys(ids)) {
		if err := c.prime(kind, ids[kind]); err != nil {
			return err
		}
	}
	return nil
}

func (c *recordCache) Record(kind domain.Kind, id string) (Record, error) {
	ref := recordRef{kind, id}
	r, known := c.records[ref]
	if !known {
		got, err := c.Tx.Record(kind, id)
		switch {
		case errors.Is(err, ErrNotFound):
			c.records[ref] = nil
		case err != nil:
			return Record{}, err
		default:
			r = &got
			c.records[ref] = r
		}
	}
	if r == nil {
		return Record{}, fmt.Errorf("record %s %s: %w", kind, id, ErrNotFound)
	}
	return cloneRecord(*r), nil
}

func (c *recordCache) PutRecord(r Record) error {
	if err := c.Tx.PutRecord(r); err != nil {
		delete(c.records, recordRef{r.Kind, r.ID})
		return err
	}
	kept := cloneRecord(r)
	c.records[recordRef{r.Kind, r.ID}] = &kept
	return nil
}

// cloneRecord copies the maps of r, which callers and the cache must not
// share.
func cloneRecord(r Record) Record {
	r.Fields, r.Versions = maps.Clone(r.Fields), maps.Clone(r.Versions)
	return r
}
