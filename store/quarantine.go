package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// Quarantined is a mutation the server refused, with its reasons. It leaves
// the outbox (it never blocks the mutations after it) and waits here until
// the coordinator discards it or sends it again.
type Quarantined struct {
	Mutation Mutation `json:"mutation"`
	// Code is the server's rejection code (forbidden, invalid, read_only,
	// unknown_field, unknown_member, deleted); Message its explanation
	// for logs; Fields the validation failures of an invalid record.
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Fields  []domain.FieldError `json:"fields,omitempty"`
	// At is when the device learned of the refusal.
	At time.Time `json:"at"`
}

// ErrNothingToResend means a quarantined mutation carries no fields to send
// (the device had lost it before the refusal arrived).
var ErrNothingToResend error = &sentinel{"nothing to send again", "error.nothing_to_resend"}

func quarantineKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pQuarantine), seq)
}

// Quarantine returns the refused mutations, oldest first.
func (s *Store) Quarantine() ([]Quarantined, error) {
	var out []Quarantined
	err := s.view(func(txn *badger.Txn) error {
		return scanValues(txn, []byte(pQuarantine), func(key, val []byte) (bool, error) {
			var q Quarantined
			if err := jsonUnmarshal(key, val, &q); err != nil {
				return false, err
			}
			out = append(out, q)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	return out, nil
}

// QuarantineCount returns how many refused mutations wait.
func (s *Store) QuarantineCount() (int, error) {
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		scanKeys(txn, []byte(pQuarantine), nil, func([]byte) bool { n++; return true })
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("quarantine count: %w", err)
	}
	return n, nil
}

func (w *writeTx) takeQuarantined(seq uint64) (Quarantined, error) {
	var q Quarantined
	ok, err := getJSON(w.txn, string(quarantineKey(seq)), &q)
	if err != nil {
		return q, err
	}
	if !ok {
		return q, ErrNotFound
	}
	return q, w.txn.Delete(quarantineKey(seq))
}

// DiscardQuarantined gives up a refused mutation and undoes it on the
// device: each field it changed goes back to the value it had before, unless
// something changed the field since (a later edit, or the server's value
// pulled after the refusal); a later edit made on top of it takes over that
// previous value, so that discarding it too goes back past both; a record
// made on the device that the server never took is deleted; a refused
// delete is undone.
func (s *Store) DiscardQuarantined(seq uint64) error {
	err := s.update(func(w *writeTx) error {
		q, err := w.takeQuarantined(seq)
		if err != nil {
			return err
		}
		m := q.Mutation
		if m.Kind == "" || m.ID == "" {
			return nil
		}
		others, err := w.otherEdits(m.Kind, m.ID, m.Seq)
		if err != nil {
			return err
		}
		from, env, err := findAny(w.txn, m.Kind, m.ID)
		if err != nil || env == nil {
			return err
		}
		if m.Delete {
			// A tombstone the server made is not this device's to undo.
			if env.Deleted == 0 || env.Gone || others.deleted {
				return nil
			}
			next := *env
			next.Deleted = 0
			return w.rewrite(m.Kind, m.ID, from, env, &next)
		}
		if env.Gone {
			return nil
		}
		// A tombstone made here keeps the record's last state: an edit
		// discarded under it is undone there too, so that discarding
		// the delete (refused as well) brings back what the server has.
		if len(m.Prev) == 0 && env.Seq == 0 && !others.any {
			// Made here, never taken by the server: nothing of it remains.
			return w.purge(m.Kind, m.ID, from, env)
		}
		var cur map[string]json.RawMessage
		if err := json.Unmarshal(env.Data, &cur); err != nil {
			return fmt.Errorf("decode %s: %w", from, err)
		}
		changed := false
		for name, v := range m.Fields {
			if later := others.later[name]; later != nil {
				// A later edit holds the field and stays; discarding it
				// must then go back past this one too.
				if err := w.handDown(later, name, v, m.Prev); err != nil {
					return err
				}
				continue
			}
			p, ok := m.Prev[name]
			if !ok || !sameValue(cur[name], v) {
				continue
			}
			cur[name] = p
			changed = true
		}
		if !changed {
			return nil
		}
		next := *env
		if next.Data, err = encodeRecord(m.Kind, cur); err != nil {
			return err
		}
		return w.rewrite(m.Kind, m.ID, from, env, &next)
	})
	if err != nil {
		return fmt.Errorf("discard quarantined %d: %w", seq, err)
	}
	return nil
}

// ResendQuarantined sends a refused mutation again as a new one (after the
// cause was fixed elsewhere: a member that now exists, a region regained):
// its values are put back on the record and queued, based on the versions
// the device holds now.
func (s *Store) ResendQuarantined(seq uint64) error {
	err := s.update(func(w *writeTx) error {
		q, err := w.takeQuarantined(seq)
		if err != nil {
			return err
		}
		m := q.Mutation
		if m.Kind == "" || m.ID == "" || !m.Delete && len(m.Fields) == 0 {
			return ErrNothingToResend
		}
		from, env, err := findAny(w.txn, m.Kind, m.ID)
		if err != nil {
			return err
		}
		if m.Delete {
			return w.resendDelete(m, from, env)
		}
		if env != nil && env.Deleted != 0 {
			return ErrDeleted
		}
		cur := map[string]json.RawMessage{}
		next := &envelope{}
		if env != nil {
			if err := json.Unmarshal(env.Data, &cur); err != nil {
				return fmt.Errorf("decode %s: %w", from, err)
			}
			*next = *env
			next.Fields = maps.Clone(env.Fields)
		}
		if next.Fields == nil {
			next.Fields = map[string]fieldVersion{}
		}
		ts := w.stamp()
		mut := Mutation{Kind: m.Kind, ID: m.ID, Fields: m.Fields, Base: map[string]uint64{},
			Prev: map[string]json.RawMessage{}, HLC: ts}
		for name, v := range m.Fields {
			if o, ok := cur[name]; ok && env != nil {
				mut.Prev[name] = o
			}
			cur[name] = v
			base := next.Fields[name].Seq
			mut.Base[name] = base
			next.Fields[name] = fieldVersion{HLC: ts, Seq: base, Mine: true}
		}
		if next.Data, err = encodeRecord(m.Kind, cur); err != nil {
			return err
		}
		if err := w.rewrite(m.Kind, m.ID, from, env, next); err != nil {
			return err
		}
		return w.queue(mut)
	})
	if err != nil {
		return fmt.Errorf("resend quarantined %d: %w", seq, err)
	}
	return nil
}

func (w *writeTx) resendDelete(m Mutation, from []byte, env *envelope) error {
	ts := w.stamp()
	mut := Mutation{Kind: m.Kind, ID: m.ID, Delete: true, Base: map[string]uint64{}, HLC: ts}
	if env != nil {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(env.Data, &fields); err != nil {
			return fmt.Errorf("decode %s: %w", from, err)
		}
		for name := range fields {
			if name != "id" {
				mut.Base[name] = env.Fields[name].Seq
			}
		}
		if env.Deleted == 0 {
			next := *env
			next.Deleted = ts
			if err := w.rewrite(m.Kind, m.ID, from, env, &next); err != nil {
				return err
			}
		}
	}
	return w.queue(mut)
}

// edits is what the outbox and the quarantine still hold for one record.
type edits struct {
	any     bool
	deleted bool
	// later holds, per field, the first edit of it numbered after the
	// one being handled.
	later map[string]*heldEdit
}

// heldEdit is an edit in the outbox, or in the quarantine (q set), and
// its key there.
type heldEdit struct {
	key []byte
	m   Mutation
	q   *Quarantined
}

// otherEdits collects the edits of a record still in the outbox or the
// quarantine (the entry being handled, numbered seq, is already out of it).
func (w *writeTx) otherEdits(kind domain.Kind, id string, seq uint64) (edits, error) {
	e := edits{later: map[string]*heldEdit{}}
	note := func(h *heldEdit) {
		if h.m.Kind != kind || h.m.ID != id {
			return
		}
		e.any = true
		e.deleted = e.deleted || h.m.Delete
		for name := range h.m.Fields {
			if first := e.later[name]; h.m.Seq > seq && (first == nil || h.m.Seq < first.m.Seq) {
				e.later[name] = h
			}
		}
	}
	err := scanValues(w.txn, []byte(pOutbox), func(key, val []byte) (bool, error) {
		h := &heldEdit{key: bytes.Clone(key)}
		if err := jsonUnmarshal(key, val, &h.m); err != nil {
			return false, err
		}
		note(h)
		return true, nil
	})
	if err != nil {
		return e, err
	}
	err = scanValues(w.txn, []byte(pQuarantine), func(key, val []byte) (bool, error) {
		h := &heldEdit{key: bytes.Clone(key), q: &Quarantined{}}
		if err := jsonUnmarshal(key, val, h.q); err != nil {
			return false, err
		}
		h.m = h.q.Mutation
		note(h)
		return true, nil
	})
	return e, err
}

// handDown is for discarding an edit that set field to value, replacing
// prev[field], when a later edit h of the field stays: if h was made on top
// of value, what h replaced becomes prev[field]. Otherwise discarding h
// later would bring back the discarded value.
func (w *writeTx) handDown(h *heldEdit, field string, value json.RawMessage, prev map[string]json.RawMessage) error {
	if !sameValue(h.m.Prev[field], value) {
		return nil // made on top of something else: a pulled value
	}
	if p, ok := prev[field]; ok {
		h.m.Prev[field] = p
	} else {
		delete(h.m.Prev, field)
	}
	if h.q != nil {
		h.q.Mutation = h.m
		return setJSON(w.txn, h.key, h.q)
	}
	return setJSON(w.txn, h.key, h.m)
}

// findAny finds a record of a kind the device edits, conflicts included.
func findAny(txn *badger.Txn, kind domain.Kind, id string) ([]byte, *envelope, error) {
	if kind == KindConflict {
		key := recordKey(pConflict, id)
		env, err := readEnvelope(txn, key)
		return key, env, err
	}
	switch kind {
	case domain.KindMember, domain.KindVisit, domain.KindFollowUp:
		return findRecord(txn, kind, id)
	}
	return nil, nil, fmt.Errorf("kind %q: %w", kind, ErrNotFound)
}

// encodeRecord turns fields into a record's stored data: a normalised
// domain value for members, visits and follow-ups, the fields as they are
// for a conflict.
func encodeRecord(kind domain.Kind, fields map[string]json.RawMessage) (json.RawMessage, error) {
	if kind == KindConflict {
		return json.Marshal(fields)
	}
	v, err := decodeFields(kind, fields)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// rewrite stores next as the new state of a record stored at from (whose
// previous state was prev, nil if none), moving it to its place and keeping
// the indexes right within this transaction.
func (w *writeTx) rewrite(kind domain.Kind, id string, from []byte, prev, next *envelope) error {
	if kind == KindConflict {
		return setJSON(w.txn, from, next)
	}
	var old, cur any
	var err error
	if prev != nil && prev.Deleted == 0 {
		if old, err = decodeValue(kind, prev.Data); err != nil {
			return err
		}
	}
	if next.Deleted == 0 {
		if cur, err = decodeValue(kind, next.Data); err != nil {
			return err
		}
	}
	if err := putRecord(w.txn, kind, id, from, placeOf(kind, id, cur), next); err != nil {
		return err
	}
	return w.reindexNow(kind, id, old, cur)
}

// purge deletes every trace of a record.
func (w *writeTx) purge(kind domain.Kind, id string, from []byte, env *envelope) error {
	if err := w.txn.Delete(from); err != nil {
		return err
	}
	if kind == KindConflict {
		return nil
	}
	if kind == domain.KindVisit {
		if err := w.txn.Delete(recordKey(pVisitLocator, id)); err != nil {
			return err
		}
	}
	var old any
	if env.Deleted == 0 {
		var err error
		if old, err = decodeValue(kind, env.Data); err != nil {
			return err
		}
	}
	return w.reindexNow(kind, id, old, nil)
}

// reindexNow is reindex for a single record: the last visit is recomputed
// at once.
func (w *writeTx) reindexNow(kind domain.Kind, id string, old, cur any) error {
	switch kind {
	case domain.KindMember:
		if cur == nil {
			return w.dropSummary(id)
		}
		sum := w.loadSummary(id)
		last := 0
		var err error
		if sum != nil {
			last = sum.LastVisit
		} else if last, err = lastVisitDay(w.txn, id); err != nil {
			return err
		}
		return w.putSummary(id, summaryOf(cur.(*domain.Member), last))
	case domain.KindVisit:
		return w.visitMoved(asVisit(old), asVisit(cur))
	case domain.KindFollowUp:
		return w.indexFollowUp(asFollowUp(old), asFollowUp(cur))
	}
	return nil
}

// sentAgain is for a record queued whole (a restore's requeue, queueWhole):
// the values of its refused edits are on it, sent with it. Those edits stay
// in the quarantine, where the coordinator saw them, but discarding one must
// no longer undo a value the server is being sent (and takes): each field
// the record holds as the edit set it now goes back to that value.
func (w *writeTx) sentAgain(kind domain.Kind, id string, env *envelope) error {
	var cur map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &cur); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	var held []Quarantined
	err := scanValues(w.txn, []byte(pQuarantine), func(key, val []byte) (bool, error) {
		var q Quarantined
		if err := jsonUnmarshal(key, val, &q); err != nil {
			return false, err
		}
		if m := q.Mutation; m.Kind == kind && m.ID == id && !m.Delete {
			held = append(held, q)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, q := range held {
		changed := false
		for name, v := range q.Mutation.Fields {
			if p, ok := q.Mutation.Prev[name]; ok && sameValue(cur[name], v) && !sameValue(p, v) {
				q.Mutation.Prev[name] = v
				changed = true
			}
		}
		if changed {
			if err := setJSON(w.txn, quarantineKey(q.Mutation.Seq), q); err != nil {
				return err
			}
		}
	}
	return nil
}
