package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// A server restored from a backup older than this device's last sync has
// lost what the device pushed since: its outbox was trimmed when the
// server acknowledged it. Before a refetch wipes the old epoch's records,
// BeginRefetch stashes what this device wrote of each (fields whose last
// write is its own, deletes made here); once the refetch has pulled the
// whole restored state, Requeue saves again, as new local edits, the
// stashed values the server lacks, so that they are pushed like any edit.
// A value the server holds at the same or a later stamp (the backup had
// it, or another device replaced it) is left alone: no conflict is made
// up, and nothing knowingly replaced comes back.

const (
	// pRequeue is "rq/<kind>/<id>" -> a stashed record.
	pRequeue = "rq/"
	// pRequeueSeen is "rs/<kind>/<id>": the refetch pulled that stashed
	// record, so the server has it.
	pRequeueSeen = "rs/"
	// stashBatch bounds the writes of one stashing transaction.
	stashBatch = 500
)

// stashed is what a device wrote of one record before a refetch.
type stashed struct {
	Kind domain.Kind `json:"k"`
	ID   string      `json:"id"`
	// Data is the whole record as the device held it: a record the
	// restored server lacks is created again from it.
	Data json.RawMessage `json:"d,omitempty"`
	// Fields are the fields this device wrote last, with their stamps.
	Fields map[string]hlc.Timestamp `json:"f,omitempty"`
	// Deleted: the device deleted the record.
	Deleted bool `json:"del,omitempty"`
}

// stashMine stashes, in batches, what this device wrote of its members,
// visits and follow-ups. It runs before the refetch is marked: a crash in
// between finds the epoch unchanged and stashes again.
func (s *Store) stashMine() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var batch []stashed
	flush := func() error {
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, e := range batch {
				if err := setJSON(txn, []byte(pRequeue+refKey(e.Kind, e.ID)), e); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	snap := s.db.NewTransaction(false)
	defer snap.Discard()
	// What an earlier, unfinished refetch pulled says nothing of this one.
	var stale [][]byte
	scanKeys(snap, []byte(pRequeueSeen), nil, func(key []byte) bool {
		stale = append(stale, bytes.Clone(key))
		return true
	})
	for len(stale) > 0 {
		n := min(len(stale), stashBatch)
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, k := range stale[:n] {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("stash own writes: %w", err)
		}
		stale = stale[n:]
	}
	for _, t := range []struct {
		prefix string
		kind   domain.Kind
	}{{pMember, domain.KindMember}, {pVisit, domain.KindVisit}, {pVisitTomb, domain.KindVisit}, {pFollowUp, domain.KindFollowUp}} {
		var ferr error
		err := scanValues(snap, []byte(t.prefix), func(key, val []byte) (bool, error) {
			var env envelope
			if err := jsonUnmarshal(key, val, &env); err != nil {
				return false, err
			}
			e, ok, err := stashOf(t.kind, &env)
			if err != nil || !ok {
				return err == nil, err
			}
			if batch = append(batch, e); len(batch) == stashBatch {
				ferr = flush()
			}
			return ferr == nil, ferr
		})
		if err != nil {
			return fmt.Errorf("stash own writes: %w", err)
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("stash own writes: %w", err)
	}
	return nil
}

// stashOf is what a stored record holds of this device's writes; ok is
// false when nothing.
func stashOf(kind domain.Kind, env *envelope) (stashed, bool, error) {
	var id struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(env.Data, &id); err != nil {
		return stashed{}, false, fmt.Errorf("decode %s: %w", kind, err)
	}
	e := stashed{Kind: kind, ID: id.ID}
	if env.Deleted != 0 {
		// Members are deleted only by the central office (an erasure).
		e.Deleted = kind != domain.KindMember && (!env.Gone || env.Mine)
		return e, e.Deleted, nil
	}
	for name, v := range env.Fields {
		if v.Mine {
			if e.Fields == nil {
				e.Fields = map[string]hlc.Timestamp{}
			}
			e.Fields[name] = v.HLC
		}
	}
	e.Data = env.Data
	return e, len(e.Fields) > 0, nil
}

// loadStashed lists the stashed records, by refKey; nil when none.
func loadStashed(txn *badger.Txn) map[string]bool {
	var out map[string]bool
	scanKeys(txn, []byte(pRequeue), nil, func(key []byte) bool {
		if out == nil {
			out = map[string]bool{}
		}
		out[string(key[len(pRequeue):])] = true
		return true
	})
	return out
}

// Requeue saves again, as local edits queued in the outbox, what this
// device wrote before a refetch and the restored server lacks (see the top
// of this file). The sync engine calls it once a pull has reached the end
// of the feed; it does nothing unless a refetch stashed something and has
// pulled everything. It returns how many records it saved or deleted.
func (s *Store) Requeue() (int, error) {
	var entries []stashed
	seen := map[string]bool{}
	refetching := false
	err := s.view(func(txn *badger.Txn) error {
		v, err := getUint(txn, kRefetch)
		if err != nil {
			return err
		}
		refetching = v != 0
		if err := scanValues(txn, []byte(pRequeue), func(key, val []byte) (bool, error) {
			var e stashed
			if err := jsonUnmarshal(key, val, &e); err != nil {
				return false, err
			}
			entries = append(entries, e)
			return true, nil
		}); err != nil {
			return err
		}
		scanKeys(txn, []byte(pRequeueSeen), nil, func(key []byte) bool {
			seen[string(key[len(pRequeueSeen):])] = true
			return true
		})
		return nil
	})
	if err != nil || refetching || len(entries) == 0 {
		if err != nil {
			err = fmt.Errorf("requeue: %w", err)
		}
		return 0, err
	}
	// Members first: a visit or follow-up needs its member.
	order := map[domain.Kind]int{domain.KindMember: 0, domain.KindVisit: 1, domain.KindFollowUp: 2}
	slices.SortStableFunc(entries, func(a, b stashed) int { return cmp.Compare(order[a.Kind], order[b.Kind]) })
	n := 0
	for _, e := range entries {
		ref := refKey(e.Kind, e.ID)
		did, err := s.requeueOne(e, seen[ref])
		switch {
		case err == nil:
			if did {
				n++
			}
		case isRefusal(err):
			// The record cannot be saved as it stands (its member is gone,
			// it was deleted on the server): nothing more to push.
			s.log.Warn("requeue after restore: record not saved again", "kind", e.Kind, "err", err)
		default:
			return n, fmt.Errorf("requeue %s: %w", e.Kind, err)
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			if err := txn.Delete([]byte(pRequeue + ref)); err != nil {
				return err
			}
			return txn.Delete([]byte(pRequeueSeen + ref))
		})
		if err != nil {
			return n, fmt.Errorf("requeue: %w", err)
		}
	}
	return n, nil
}

func isRefusal(err error) bool {
	var ve *domain.ValidationError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeleted) || errors.As(err, &ve)
}

// requeueOne saves one stashed record again; did reports whether anything
// was queued. onServer: the refetch pulled the record.
func (s *Store) requeueOne(e stashed, onServer bool) (did bool, err error) {
	var local *envelope
	err = s.view(func(txn *badger.Txn) error {
		_, local, err = findRecord(txn, e.Kind, e.ID)
		return err
	})
	if err != nil {
		return false, err
	}
	live := local != nil && local.Deleted == 0
	if e.Deleted {
		if !live {
			return false, nil // the server has it deleted too, or never had it
		}
		switch e.Kind {
		case domain.KindVisit:
			return true, s.DeleteVisit(e.ID)
		case domain.KindFollowUp:
			return true, s.DeleteFollowUp(e.ID)
		}
		return false, nil
	}
	if local != nil && local.Deleted != 0 {
		return false, nil // deleted since on the server: the delete stands
	}
	var stash map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &stash); err != nil {
		return false, fmt.Errorf("decode stash: %w", err)
	}
	if !live {
		// Not on the restored server: created again from the stash, at
		// the stamp of its latest write here.
		return true, s.saveFields(e.Kind, stash, slices.Max(slices.Collect(maps.Values(e.Fields))))
	}
	if !onServer {
		// Kept through the refetch (it had edits waiting) but not on the
		// restored server: all of it must be sent again, as a new record.
		return true, s.update(func(w *writeTx) error { return w.queueWhole(e.Kind, e.ID, local) })
	}
	// The server's state, with this device's values where the server holds
	// an older write of the field, saved at their own stamps (oldest
	// first): a write made since elsewhere still wins over them.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(local.Data, &fields); err != nil {
		return false, fmt.Errorf("decode %s: %w", e.Kind, err)
	}
	byStamp := map[hlc.Timestamp][]string{}
	for name, stamp := range e.Fields {
		if v, ok := stash[name]; ok && local.Fields[name].HLC < stamp && !sameValue(fields[name], v) {
			byStamp[stamp] = append(byStamp[stamp], name)
		}
	}
	for _, stamp := range slices.Sorted(maps.Keys(byStamp)) {
		for _, name := range byStamp[stamp] {
			fields[name] = stash[name]
		}
		if err := s.saveFields(e.Kind, fields, stamp); err != nil {
			return false, err
		}
	}
	return len(byStamp) > 0, nil
}

// saveFields saves a record given as fields through its kind's save, which
// validates it and keeps the indexes, its write stamped at.
func (s *Store) saveFields(kind domain.Kind, fields map[string]json.RawMessage, at hlc.Timestamp) error {
	value, err := decodeFields(kind, fields)
	if err != nil {
		return err
	}
	switch v := value.(type) {
	case *domain.Member:
		return s.saveMember(*v, at)
	case *domain.Visit:
		return s.saveVisit(*v, at)
	case *domain.FollowUp:
		return s.saveFollowUp(*v, at)
	}
	return fmt.Errorf("kind %q has no records", kind)
}

// queueWhole queues every field of a stored record as a new record's, based
// on nothing, leaving the record as it is.
func (w *writeTx) queueWhole(kind domain.Kind, id string, env *envelope) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &fields); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	delete(fields, "id")
	base := make(map[string]uint64, len(fields))
	for name := range fields {
		base[name] = 0
	}
	return w.queue(Mutation{Kind: kind, ID: id, Fields: fields, Base: base, HLC: w.stamp()})
}

// markSeen notes, during a refetch, that the server sent a stashed record.
func (a *applier) markSeen(ref string) error {
	key := pRequeueSeen + ref
	if err := a.room(entrySize(len(key), 0), 1); err != nil {
		return err
	}
	return a.w.txn.Set([]byte(key), nil)
}
