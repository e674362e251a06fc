package store

import (
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
// write is its own, deletes made here, conflicts it resolved), and folds
// the outbox into the stash: unsent changes carry bases of the old epoch,
// which mean nothing to the restored server. Once the refetch has pulled
// the whole restored state, Requeue saves again, as new local edits at
// their own stamps, the stashed values the server lacks, based on what it
// holds now, so that they are pushed like any edit. A value the server
// holds at the same or a later stamp (the backup had it, or another device
// replaced it) is left alone when the server had acknowledged it: no
// conflict is made up, and nothing knowingly replaced comes back; when it
// was never sent, it is pushed as concurrent with the server's, which
// keeps it in a conflict record if it loses. A delete of a record the
// restored server lacks is remembered and made again if another device sends
// the record back (requeue_delete.go).

// Requeue saves again, as local edits queued in the outbox, what this
// device wrote before a refetch and the restored server lacks (see the top
// of this file). The sync engine calls it once a pull has reached the end
// of the feed; it does nothing unless a refetch stashed something and has
// pulled everything. It returns how many records it saved or deleted.
func (s *Store) Requeue() (int, error) {
	var entries []stashed
	seen := map[string]*seenRecord{}
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
		return scanValues(txn, []byte(pRequeueSeen), func(key, val []byte) (bool, error) {
			sr := &seenRecord{}
			if len(val) > 0 {
				if err := jsonUnmarshal(key, val, sr); err != nil {
					return false, err
				}
			}
			seen[string(key[len(pRequeueSeen):])] = sr
			return true, nil
		})
	})
	if err != nil || refetching {
		if err != nil {
			err = fmt.Errorf("requeue: %w", err)
		}
		return 0, err
	}
	if len(entries) == 0 {
		return 0, s.deleteAgain()
	}
	// Members first: a visit or follow-up needs its member.
	order := map[domain.Kind]int{domain.KindMember: 0, domain.KindVisit: 1, domain.KindFollowUp: 2, KindConflict: 3}
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
	return n, s.deleteAgain()
}

func isRefusal(err error) bool {
	var ve *domain.ValidationError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeleted) || errors.As(err, &ve)
}

// requeueOne saves one stashed record again; did reports whether anything
// was queued. onServer: the refetch pulled the record.
func (s *Store) requeueOne(e stashed, pulled *seenRecord) (did bool, err error) {
	onServer := pulled != nil
	if e.Kind == KindConflict {
		if !onServer {
			return false, nil // the restored server knows nothing of it
		}
		err := s.ResolveConflict(e.ID)
		return err == nil, err
	}
	var local *envelope
	err = s.view(func(txn *badger.Txn) error {
		_, local, err = findRecord(txn, e.Kind, e.ID)
		return err
	})
	if err != nil {
		return false, err
	}
	live := local != nil && local.Deleted == 0
	if e.Kind != domain.KindMember && !e.Deleted {
		if gone, err := s.forgetIfMemberGone(e, local); gone || err != nil {
			return false, err
		}
	}
	if e.Deleted {
		if !onServer {
			// The restored server lacks it: the device that wrote it
			// may send it again, and this delete must then hold.
			return false, s.deleteLater(e.Kind, e.ID)
		}
		if !live {
			return false, nil // the server has it deleted too
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
	if !live && len(e.Fields) == 0 {
		return false, nil // only values that lost: nothing to make again
	}
	if !live {
		if e.Kind == domain.KindMember {
			// A member the restored server lacks was erased again after
			// the restore, or made after the backup: only the central
			// office can tell, and a device never brings one back.
			return false, nil
		}
		// Not on the restored server: created again from the stash, at
		// the stamp of its latest write here.
		at := slices.Max(slices.Collect(maps.Values(e.Fields)))
		err := s.saveFields(e.Kind, stash, at)
		if errors.Is(err, ErrNotFound) {
			// Its member is not here. Erased (a tombstone): nothing of it
			// may come back. Unknown to the restored server: sent all the
			// same, for the server to refuse, so that it waits in the
			// quarantine where the coordinator sees it.
			var memberID struct {
				MemberID string `json:"member_id"`
			}
			if json.Unmarshal(e.Data, &memberID) != nil {
				return false, err
			}
			return s.queueOrphan(e, memberID.MemberID, stash, at)
		}
		return err == nil, err
	}
	if !onServer {
		if e.Kind == domain.KindMember {
			return false, nil // see above
		}
		// Kept through the refetch (it had changes unsent or refused) but
		// not on the restored server: all of it is sent again, as a new
		// record.
		return true, s.update(func(w *writeTx) error {
			if err := w.queueWhole(e.Kind, e.ID, local); err != nil {
				return err
			}
			return w.sentAgain(e.Kind, e.ID, local)
		})
	}
	// The server's state, with this device's values where the server holds
	// an older write of the field, saved at their own stamps (oldest
	// first): a write made since elsewhere still wins over them.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(local.Data, &fields); err != nil {
		return false, fmt.Errorf("decode %s: %w", e.Kind, err)
	}
	byStamp := map[hlc.Timestamp][]string{}
	var concurrent []lostWrite
	var concurrentNames []string
	var bases []uint64
	var prevs []json.RawMessage // the server's value: what a discard goes back to
	addConcurrent := func(name string, v json.RawMessage, stamp hlc.Timestamp, base uint64, prev json.RawMessage) {
		concurrent = append(concurrent, lostWrite{Value: v, HLC: stamp})
		concurrentNames = append(concurrentNames, name)
		bases = append(bases, base)
		prevs = append(prevs, prev)
	}
	for name, stamp := range e.Fields {
		v, ok := stash[name]
		// What the server sent; the device may show its own unsent value
		// over it (injectStashed).
		server, serverVal, serverSeq := local.Fields[name].HLC, fields[name], local.Fields[name].Seq
		serverMine := local.Fields[name].Mine
		if pulled.Versions != nil {
			server, serverVal, serverSeq = pulled.Versions[name].HLC, pulled.Fields[name], pulled.Versions[name].Seq
			serverMine = pulled.Versions[name].Device == s.device
		}
		seen, known := e.Seen[name]
		switch {
		case !ok || sameValue(serverVal, v) || server == stamp:
		case serverMine && server > stamp:
			// This device wrote the field again since (sent during the
			// refetch): its own later write stands.
		case known && server <= seen && sameValue(fields[name], v):
			// Shown already, over the server's value that it replaced.
			addConcurrent(name, v, stamp, serverSeq, serverVal)
		case known && server <= seen:
			// The server holds what this write replaced, or older.
			byStamp[stamp] = append(byStamp[stamp], name)
		default:
			// The server holds a write this one had not seen.
			addConcurrent(name, v, stamp, 0, serverVal)
		}
	}
	for name, lw := range e.Lost {
		if _, mine := e.Fields[name]; !mine && !local.Fields[name].Mine && !sameValue(fields[name], lw.Value) &&
			local.Fields[name].HLC != lw.HLC {
			addConcurrent(name, lw.Value, lw.HLC, 0, fields[name])
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
	if len(concurrent) > 0 {
		// Sent as concurrent with the server's write (based on nothing):
		// the later stamp wins and the other value is kept in a conflict
		// record, as before the restore. (When the server's write had in
		// fact seen this one, that conflict is one too many, never a loss:
		// the device cannot tell.) The device shows the server's value
		// until the answer comes back.
		err := s.update(func(w *writeTx) error {
			for i, c := range concurrent {
				name := concurrentNames[i]
				err := w.queue(Mutation{Kind: e.Kind, ID: e.ID, HLC: c.HLC,
					Fields: map[string]json.RawMessage{name: c.Value}, Base: map[string]uint64{name: bases[i]},
					Prev: map[string]json.RawMessage{name: prevs[i]}})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return false, err
		}
	}
	return len(byStamp)+len(concurrent) > 0, nil
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
	// At the stamp of its latest write: others that had seen it stay
	// ahead of it.
	var at hlc.Timestamp
	for _, v := range env.Fields {
		at = max(at, v.HLC)
	}
	if at == 0 {
		at = w.stamp()
	}
	return w.queue(Mutation{Kind: kind, ID: id, Fields: fields, Base: base, HLC: at})
}

// todayFor is the day a write stamped at is validated against: a write
// saved again after a restore was valid on the day it was made, even if
// the device's clock has gone back since (0: today).
func (s *Store) todayFor(at hlc.Timestamp) domain.Date {
	today := s.today()
	if at != 0 {
		if d := domain.DateOf(at.Time()); today.Before(d) {
			return d
		}
	}
	return today
}

// queueOrphan queues a record whose member the store lacks, without
// storing it, unless the member is a tombstone (deleted or erased).
func (s *Store) queueOrphan(e stashed, memberID string, fields map[string]json.RawMessage, at hlc.Timestamp) (bool, error) {
	queued := false
	err := s.update(func(w *writeTx) error {
		_, m, err := findRecord(w.txn, domain.KindMember, memberID)
		if err != nil || m != nil {
			return err
		}
		fields = maps.Clone(fields)
		delete(fields, "id")
		base := make(map[string]uint64, len(fields))
		for name := range fields {
			base[name] = 0
		}
		queued = true
		return w.queue(Mutation{Kind: e.Kind, ID: e.ID, Fields: fields, Base: base, HLC: at})
	})
	return queued, err
}

// forgetIfMemberGone drops a stashed visit or follow-up whose member the
// server deleted (erased): the refetch brought the member's tombstone, and
// nothing of its records may stay here or be sent again (Law 25). A copy
// the refetch kept is removed.
func (s *Store) forgetIfMemberGone(e stashed, local *envelope) (bool, error) {
	var ref struct {
		MemberID string `json:"member_id"`
	}
	if json.Unmarshal(e.Data, &ref) != nil || ref.MemberID == "" {
		return false, nil
	}
	gone := false
	err := s.update(func(w *writeTx) error {
		_, m, err := findRecord(w.txn, domain.KindMember, ref.MemberID)
		if err != nil || m == nil || m.Deleted == 0 {
			return err
		}
		gone = true
		from, env, err := findAny(w.txn, e.Kind, e.ID)
		if err != nil || env == nil || env.Deleted != 0 {
			return err
		}
		return w.purge(e.Kind, e.ID, from, env)
	})
	return gone, err
}
