package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// The stash of a restore's requeue (requeue.go): what BeginRefetch keeps of
// this device's writes, and what the refetch notes of the stashed records.

const (
	// pRequeue is "rq/<kind>/<id>" -> a stashed record.
	pRequeue = "rq/"
	// pRequeueSeen is "rs/<kind>/<id>": the refetch pulled that stashed
	// record, so the server has it.
	pRequeueSeen = "rs/"
	// pWriteBase is "mw/<kind>/<id>/<field>" -> the stamp of this
	// device's last write of the field and of the version it replaced
	// (the one it had seen): after a restore, a value the server holds at
	// or before the latter is one this write knowingly replaced. Stamps
	// only: nothing a member said is kept there.
	pWriteBase = "mw/"
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
	// Fields are the fields this device wrote last, with their stamps;
	// Pending those of them it had not sent yet.
	Fields  map[string]hlc.Timestamp `json:"f,omitempty"`
	Pending map[string]bool          `json:"p,omitempty"`
	// Seen holds, by field, the stamp of the version the write replaced,
	// when known (pWriteBase).
	Seen map[string]hlc.Timestamp `json:"b,omitempty"`
	// Lost holds, by field, this device's writes that lost to a
	// concurrent one: the restored server may have lost the conflict
	// record that kept them, which pushing them again as concurrent makes
	// anew (the same record: its id derives from the two writes).
	Lost map[string]lostWrite `json:"l,omitempty"`
	// Deleted: the device deleted the record. Resolved: the device
	// resolved the conflict.
	Deleted  bool `json:"del,omitempty"`
	Resolved bool `json:"res,omitempty"`
	// Unsent: the outbox held changes of the record. The refetch keeps
	// it, as it keeps records with refused changes, so that unsent work
	// never disappears from the screen.
	Unsent bool `json:"u,omitempty"`
}

// lostWrite is a value of this device that lost a conflict.
type lostWrite struct {
	Value json.RawMessage `json:"v"`
	HLC   hlc.Timestamp   `json:"h"`
}

// stashMine stashes, in batches, what this device wrote of its members,
// visits, follow-ups and conflicts, then empties the outbox. It runs before
// the refetch is marked: a crash in between finds the epoch unchanged and
// stashes again (the records still say what is this device's).
func (s *Store) stashMine() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	snap := s.db.NewTransaction(false)
	defer snap.Discard()
	var doomed [][]byte
	// What an earlier, unfinished refetch pulled says nothing of this one.
	scanKeys(snap, []byte(pRequeueSeen), nil, func(key []byte) bool {
		doomed = append(doomed, bytes.Clone(key))
		return true
	})
	// The unsent changes: their fields, and the outbox keys to delete.
	pending := map[string]map[string]bool{}
	unsent := map[string][]Mutation{} // by record, in order
	err := scanValues(snap, []byte(pOutbox), func(key, val []byte) (bool, error) {
		var m Mutation
		if err := jsonUnmarshal(key, val, &m); err != nil {
			return false, err
		}
		doomed = append(doomed, bytes.Clone(key))
		ref := refKey(m.Kind, m.ID)
		unsent[ref] = append(unsent[ref], m)
		if pending[ref] == nil {
			pending[ref] = map[string]bool{}
		}
		for name := range m.Fields {
			pending[ref][name] = true
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("stash own writes: %w", err)
	}
	// This device's writes kept as the losers of conflicts.
	losers := map[string]map[string]lostWrite{}
	err = scanValues(snap, []byte(pConflict), func(key, val []byte) (bool, error) {
		var env envelope
		if err := jsonUnmarshal(key, val, &env); err != nil {
			return false, err
		}
		var c Conflict
		if err := json.Unmarshal(env.Data, &c); err != nil {
			return false, fmt.Errorf("decode %s: %w", key, err)
		}
		if c.Loser.Device != s.device || c.RecordKind == KindConflict {
			return true, nil
		}
		ref := refKey(c.RecordKind, c.RecordID)
		if losers[ref] == nil {
			losers[ref] = map[string]lostWrite{}
		}
		if lw, ok := losers[ref][c.Field]; !ok || lw.HLC < c.Loser.HLC {
			losers[ref][c.Field] = lostWrite{Value: c.Loser.Value, HLC: c.Loser.HLC}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("stash own writes: %w", err)
	}
	var batch []stashed
	flush := func() error {
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, e := range batch {
				key := []byte(pRequeue + refKey(e.Kind, e.ID))
				var old stashed
				found, err := getJSON(txn, string(key), &old)
				if err != nil {
					return err
				}
				if found {
					if e, err = mergeStash(old, e); err != nil {
						return err
					}
				}
				if err := setJSON(txn, key, e); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	for _, t := range []struct {
		prefix string
		kind   domain.Kind
	}{{pMember, domain.KindMember}, {pVisit, domain.KindVisit}, {pVisitTomb, domain.KindVisit},
		{pFollowUp, domain.KindFollowUp}, {pConflict, KindConflict}} {
		var ferr error
		err := scanValues(snap, []byte(t.prefix), func(key, val []byte) (bool, error) {
			var env envelope
			if err := jsonUnmarshal(key, val, &env); err != nil {
				return false, err
			}
			e, ok, err := stashOf(t.kind, &env)
			if err != nil {
				return false, err
			}
			if lost := losers[refKey(e.Kind, e.ID)]; lost != nil && env.Deleted == 0 && t.kind != KindConflict {
				e.Data, e.Lost, ok = env.Data, lost, true
			}
			if !ok {
				delete(unsent, refKey(e.Kind, e.ID))
				return true, nil
			}
			delete(unsent, refKey(e.Kind, e.ID))
			e.Unsent = pending[refKey(e.Kind, e.ID)] != nil
			for name := range e.Fields {
				if pending[refKey(e.Kind, e.ID)][name] {
					if e.Pending == nil {
						e.Pending = map[string]bool{}
					}
					e.Pending[name] = true
				}
				wb, err := getWriteBase(snap, e.Kind, e.ID, name)
				if err != nil {
					return false, err
				}
				// The entry is of the device's last write of the field,
				// which holds it (the server may have clamped its stamp).
				if wb.HLC != 0 {
					if e.Seen == nil {
						e.Seen = map[string]hlc.Timestamp{}
					}
					e.Seen[name] = wb.Base
				}
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
	// Unsent changes of records the store no longer holds (a torn value
	// log lost them: RepairUnreadable) are stashed from the outbox.
	for _, ms := range unsent {
		if e, ok := stashUnsent(ms); ok {
			batch = append(batch, e)
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("stash own writes: %w", err)
	}
	for len(doomed) > 0 {
		n := min(len(doomed), stashBatch)
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, k := range doomed[:n] {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("stash own writes: %w", err)
		}
		doomed = doomed[n:]
	}
	return nil
}

// stashOf is what a stored record holds of this device's writes; ok is
// false when nothing.
func stashOf(kind domain.Kind, env *envelope) (stashed, bool, error) {
	var head struct {
		ID       string `json:"id"`
		Resolved bool   `json:"resolved"`
	}
	if err := json.Unmarshal(env.Data, &head); err != nil {
		return stashed{}, false, fmt.Errorf("decode %s: %w", kind, err)
	}
	e := stashed{Kind: kind, ID: head.ID}
	if kind == KindConflict {
		e.Resolved = head.Resolved && env.Fields["resolved"].Mine
		return e, e.Resolved, nil
	}
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

// seenRecord is a stashed record as the refetch pulled it: the server's
// values and versions, which the device may show under its own unsent ones.
type seenRecord struct {
	Fields   map[string]json.RawMessage `json:"f,omitempty"`
	Versions map[string]FieldStamp      `json:"v,omitempty"`
}

// markSeen notes, during a refetch, that the server sent a stashed record,
// and what it holds.
func (a *applier) markSeen(ref string, c *Change) error {
	key := pRequeueSeen + ref
	val, err := json.Marshal(seenRecord{Fields: c.Fields, Versions: c.Versions})
	if err != nil {
		return err
	}
	if err := a.room(entrySize(len(key), len(val)), 1); err != nil {
		return err
	}
	return a.w.txn.Set([]byte(key), val)
}

// injectStashed makes the unsent values folded into the stash pending
// writes of this page: the device keeps showing them over pulled values
// (as it would an outbox's), until Requeue sends them.
func (a *applier) injectStashed() error {
	return scanValues(a.snap, []byte(pRequeue), func(key, val []byte) (bool, error) {
		var e stashed
		if err := jsonUnmarshal(key, val, &e); err != nil {
			return false, err
		}
		if len(e.Pending) == 0 {
			return true, nil
		}
		var data map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return false, fmt.Errorf("decode %s: %w", key, err)
		}
		ref := refKey(e.Kind, e.ID)
		pr := a.pending[ref]
		if pr == nil {
			pr = &pendingRecord{fields: map[string]PendingWrite{}}
			a.pending[ref] = pr
		}
		for name := range e.Pending {
			if _, ok := pr.fields[name]; !ok {
				pr.fields[name] = PendingWrite{Value: data[name], HLC: e.Fields[name]}
			}
		}
		return true, nil
	})
}

// writeBase is a pWriteBase entry.
type writeBase struct {
	HLC  hlc.Timestamp `json:"h"`
	Base hlc.Timestamp `json:"b,omitempty"`
}

func writeBaseKey(kind domain.Kind, id, field string) []byte {
	return []byte(pWriteBase + refKey(kind, id) + "/" + field)
}

func getWriteBase(txn *badger.Txn, kind domain.Kind, id, field string) (writeBase, error) {
	var wb writeBase
	_, err := getJSON(txn, string(writeBaseKey(kind, id, field)), &wb)
	return wb, err
}

// noteWriteBase records, for a local write of field stamped ts, the stamp
// of the version it replaced: of the last one another writer made, when
// it replaces this device's own (what it had seen of the others).
func (w *writeTx) noteWriteBase(kind domain.Kind, id, field string, ts hlc.Timestamp, replaced fieldVersion) error {
	base := replaced.HLC
	if replaced.Mine {
		prev, err := getWriteBase(w.txn, kind, id, field)
		if err != nil {
			return err
		}
		if prev.HLC != 0 {
			base = prev.Base
		}
	}
	return setJSON(w.txn, writeBaseKey(kind, id, field), writeBase{HLC: ts, Base: base})
}

// mergeStash combines the stash of an unfinished refetch with a new one:
// the refetch wiped the records, so what the old stash held of a field the
// new one does not hold (or holds older) must stay.
func mergeStash(old, cur stashed) (stashed, error) {
	for name, lw := range old.Lost {
		if cl, ok := cur.Lost[name]; !ok || cl.HLC < lw.HLC {
			if cur.Lost == nil {
				cur.Lost = map[string]lostWrite{}
			}
			cur.Lost[name] = lw
		}
	}
	if cur.Kind == KindConflict || cur.Deleted || old.Deleted || len(old.Fields) == 0 {
		cur.Resolved = cur.Resolved || old.Resolved
		cur.Deleted = cur.Deleted || old.Deleted && len(cur.Fields) == 0
		return cur, nil
	}
	var oldData, data map[string]json.RawMessage
	if err := json.Unmarshal(old.Data, &oldData); err != nil {
		return cur, fmt.Errorf("decode stash: %w", err)
	}
	if len(cur.Data) > 0 {
		if err := json.Unmarshal(cur.Data, &data); err != nil {
			return cur, fmt.Errorf("decode stash: %w", err)
		}
	} else {
		data = maps.Clone(oldData)
	}
	for name, stamp := range old.Fields {
		if cs, ok := cur.Fields[name]; ok && cs >= stamp {
			continue
		}
		if cur.Fields == nil {
			cur.Fields = map[string]hlc.Timestamp{}
		}
		cur.Fields[name], data[name] = stamp, oldData[name]
		if old.Pending[name] {
			if cur.Pending == nil {
				cur.Pending = map[string]bool{}
			}
			cur.Pending[name] = true
		}
		if seen, ok := old.Seen[name]; ok {
			if cur.Seen == nil {
				cur.Seen = map[string]hlc.Timestamp{}
			}
			cur.Seen[name] = seen
		} else {
			delete(cur.Seen, name)
		}
	}
	var err error
	cur.Data, err = json.Marshal(data)
	return cur, err
}

// stashedUnsent lists the stashed records that had unsent changes, by
// refKey: a refetch keeps them.
func stashedUnsent(txn *badger.Txn) (map[string]bool, error) {
	out := map[string]bool{}
	err := scanValues(txn, []byte(pRequeue), func(key, val []byte) (bool, error) {
		var e stashed
		if err := jsonUnmarshal(key, val, &e); err != nil {
			return false, err
		}
		if e.Unsent && e.Kind != KindConflict {
			// A conflict is the server's: the refetch brings it back if
			// the server has it, and Requeue resolves it again.
			out[refKey(e.Kind, e.ID)] = true
		}
		return true, nil
	})
	return out, err
}

// stashUnsent stashes the unsent changes of a record the store lacks, in
// the order they were made; ok is false for a delete or a conflict's.
func stashUnsent(ms []Mutation) (stashed, bool) {
	e := stashed{Kind: ms[0].Kind, ID: ms[0].ID, Unsent: true}
	if e.Kind == KindConflict {
		return e, false
	}
	data := map[string]json.RawMessage{}
	for _, m := range ms {
		if m.Delete {
			return e, false
		}
		for name, v := range m.Fields {
			data[name] = v
			if e.Fields == nil {
				e.Fields, e.Pending = map[string]hlc.Timestamp{}, map[string]bool{}
			}
			e.Fields[name], e.Pending[name] = m.HLC, true
		}
	}
	data["id"] = jsonString(e.ID)
	var err error
	e.Data, err = json.Marshal(data)
	return e, err == nil && len(e.Fields) > 0
}
