package central

import (
	"maps"

	"leconsortium.coop/terrain/domain"
)

// recordCache remembers the records one sync transaction has read: a push
// of many visits names the same members again and again, and on PostgreSQL
// each read is a round trip to the database. Writes go through and forget
// the cached copy; callers get copies they may change.
type recordCache struct {
	Tx
	records map[recordRef]Record
}

func newRecordCache(tx Tx) *recordCache {
	return &recordCache{Tx: tx, records: map[recordRef]Record{}}
}

func (c *recordCache) Record(kind domain.Kind, id string) (Record, error) {
	ref := recordRef{kind, id}
	r, ok := c.records[ref]
	if !ok {
		var err error
		if r, err = c.Tx.Record(kind, id); err != nil {
			return r, err
		}
		c.records[ref] = r
	}
	r.Fields, r.Versions = maps.Clone(r.Fields), maps.Clone(r.Versions)
	return r, nil
}

func (c *recordCache) PutRecord(r Record) error {
	delete(c.records, recordRef{r.Kind, r.ID})
	return c.Tx.PutRecord(r)
}
