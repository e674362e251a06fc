package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// envelope is how a member, visit or follow-up is stored: the domain value as
// JSON, the version of each field, a tombstone stamp and the record's server
// sequence. Records imported from a trusted source have no field versions:
// an absent field is at version zero.
type envelope struct {
	Data    json.RawMessage         `json:"d"`
	Fields  map[string]fieldVersion `json:"f,omitempty"`
	Deleted hlc.Timestamp           `json:"del,omitempty"` // non-zero: a tombstone
	Seq     uint64                  `json:"s,omitempty"`
	// Gone marks the tombstone of a record the server deleted: Data holds
	// nothing but the id, and nothing can bring the record back here.
	Gone bool `json:"gone,omitempty"`
	// Mine marks a Gone tombstone of a delete made on this device, pushed
	// again after a restore from an older backup (requeue.go).
	Mine bool `json:"mine,omitempty"`
}

// fieldVersion is the stamp of a field's last write and the server sequence
// that write is based on. A local edit sets HLC and keeps Seq: until the
// server acknowledges it, the sequence it was based on is what a later push
// must name as its base.
type fieldVersion struct {
	HLC hlc.Timestamp `json:"h"`
	Seq uint64        `json:"s,omitempty"`
	// Mine: this device wrote the field's value (a local edit, or the
	// server's version of one). After a restore from an older backup the
	// device pushes such values again (requeue.go).
	Mine bool `json:"m,omitempty"`
}

// Mutation is one numbered local change waiting in the outbox to be pushed.
type Mutation struct {
	// Seq numbers this device's mutations 1, 2, 3…, never reused.
	Seq    uint64      `json:"seq"`
	Kind   domain.Kind `json:"kind"`
	ID     string      `json:"id"`
	Delete bool        `json:"delete,omitempty"`
	// Fields holds the changed fields only (all of them for a new record),
	// by JSON name, each as the JSON of the domain field.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
	// Base is the server sequence each changed field was based on (for a
	// delete: every field of the record).
	Base map[string]uint64 `json:"base,omitempty"`
	HLC  hlc.Timestamp     `json:"hlc"`
	At   time.Time         `json:"at"`
	// Prev holds, for an edit of an existing record, the values the
	// changed fields had before it, so that an edit the server refuses can
	// be undone (DiscardQuarantined). It never leaves the device.
	Prev map[string]json.RawMessage `json:"prev,omitempty"`
}

// writeTx is one read-write transaction of the store with what must happen
// once it commits.
type writeTx struct {
	s       *Store
	txn     *badger.Txn
	seq     uint64                    // last outbox number used in this transaction
	stamped bool                      // the clock moved: persist it
	summary map[string]*memberSummary // summaries written, for the in-memory index
	// at, when set, stamps the writes instead of the clock: a write saved
	// again after a restore keeps the stamp it had (requeue.go).
	at hlc.Timestamp
}

// update runs fn in one read-write transaction, committed durably, then
// brings the in-memory state up to date. A failing fn or commit changes
// nothing.
func (s *Store) update(fn func(w *writeTx) error) error { return s.updateAt(0, fn) }

// updateAt is update with the writes stamped at (the clock's when 0).
func (s *Store) updateAt(at hlc.Timestamp, fn func(w *writeTx) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	w := &writeTx{s: s, txn: txn, seq: s.outSeq, at: at}
	if err := fn(w); err != nil {
		return err
	}
	if w.stamped {
		if err := setUint(txn, kHLC, uint64(s.clock.Last())); err != nil {
			return err
		}
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	s.outSeq = w.seq
	s.members.apply(w.summary)
	return nil
}

// stamp issues a clock reading for a local write.
func (w *writeTx) stamp() hlc.Timestamp {
	if w.at != 0 {
		return w.at
	}
	w.stamped = true
	return w.s.clock.Now()
}

func readEnvelope(txn *badger.Txn, key []byte) (*envelope, error) {
	b, err := getRaw(txn, key)
	if err != nil || b == nil {
		return nil, err
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return &e, nil
}

// locate returns where a record is stored, nil when it is not: members and
// follow-ups under "<prefix><id>", visits wherever their locator points.
func locate(txn *badger.Txn, kind domain.Kind, id string) ([]byte, error) {
	switch kind {
	case domain.KindMember:
		return recordKey(pMember, id), nil
	case domain.KindFollowUp:
		return recordKey(pFollowUp, id), nil
	case domain.KindVisit:
		return getRaw(txn, recordKey(pVisitLocator, id))
	}
	return nil, fmt.Errorf("kind %q has no records", kind)
}

// placeOf returns where a record belongs, live (value is a pointer to the
// domain value) or as a tombstone (value is nil).
func placeOf(kind domain.Kind, id string, value any) []byte {
	switch kind {
	case domain.KindVisit:
		if value == nil {
			return recordKey(pVisitTomb, id)
		}
		return visitKey(value.(*domain.Visit))
	case domain.KindMember:
		return recordKey(pMember, id)
	}
	return recordKey(pFollowUp, id)
}

// findRecord reads a record, live or tombstone, and where it is; a nil
// envelope when absent.
func findRecord(txn *badger.Txn, kind domain.Kind, id string) ([]byte, *envelope, error) {
	key, err := locate(txn, kind, id)
	if err != nil || key == nil {
		return nil, nil, err
	}
	env, err := readEnvelope(txn, key)
	return key, env, err
}

// putRecord writes env at to, moving the record (and its locator) when it
// was stored at from.
func putRecord(txn *badger.Txn, kind domain.Kind, id string, from, to []byte, env *envelope) error {
	moved := !bytes.Equal(from, to)
	if from != nil && moved {
		if err := txn.Delete(from); err != nil {
			return err
		}
	}
	if err := setJSON(txn, to, env); err != nil {
		return err
	}
	if kind == domain.KindVisit && moved {
		return txn.Set(recordKey(pVisitLocator, id), to)
	}
	return nil
}

// getLive decodes a live record into v; ErrNotFound when absent or deleted.
func getLive(txn *badger.Txn, kind domain.Kind, id string, v any) error {
	key, env, err := findRecord(txn, kind, id)
	if err != nil {
		return err
	}
	if env == nil || env.Deleted != 0 {
		return ErrNotFound
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// saveLocal writes value (a pointer to the domain value) as the new state of
// a record edited on this device, with the versions of the fields that
// changed and one outbox mutation carrying them. old, when the record
// existed, receives its previous state. It reports whether anything
// changed: saving an unchanged record writes nothing and queues nothing.
func (w *writeTx) saveLocal(kind domain.Kind, id string, value, old any) (existed, changed bool, err error) {
	from, prev, err := findRecord(w.txn, kind, id)
	if err != nil {
		return false, false, err
	}
	if prev != nil && prev.Deleted != 0 {
		return true, false, ErrDeleted
	}
	data, err := json.Marshal(value)
	if err != nil {
		return false, false, fmt.Errorf("encode %s: %w", kind, err)
	}
	var newFields, oldFields map[string]json.RawMessage
	if err := json.Unmarshal(data, &newFields); err != nil {
		return false, false, fmt.Errorf("encode %s: %w", kind, err)
	}
	env := &envelope{Data: data}
	if prev != nil {
		if err := json.Unmarshal(prev.Data, &oldFields); err != nil {
			return false, false, fmt.Errorf("decode %s: %w", from, err)
		}
		if err := json.Unmarshal(prev.Data, old); err != nil {
			return false, false, fmt.Errorf("decode %s: %w", from, err)
		}
		env.Fields = prev.Fields
		env.Seq = prev.Seq
	}
	mut := Mutation{Kind: kind, ID: id, Fields: map[string]json.RawMessage{}, Base: map[string]uint64{}}
	for name, raw := range newFields {
		if name == "id" {
			continue // carried by Mutation.ID; never changes
		}
		if o, ok := oldFields[name]; ok && bytes.Equal(o, raw) {
			continue
		}
		mut.Fields[name] = raw
	}
	if prev != nil && len(mut.Fields) == 0 {
		return true, false, nil
	}
	if prev != nil {
		mut.Prev = make(map[string]json.RawMessage, len(mut.Fields))
		for name := range mut.Fields {
			if o, ok := oldFields[name]; ok {
				mut.Prev[name] = o
			}
		}
	}
	ts := w.stamp()
	if env.Fields == nil {
		env.Fields = make(map[string]fieldVersion, len(mut.Fields))
	}
	for name := range mut.Fields {
		base := env.Fields[name].Seq
		mut.Base[name] = base
		if err := w.noteWriteBase(kind, id, name, ts, env.Fields[name]); err != nil {
			return false, false, err
		}
		env.Fields[name] = fieldVersion{HLC: ts, Seq: base, Mine: true}
	}
	mut.HLC = ts
	if err := putRecord(w.txn, kind, id, from, placeOf(kind, id, value), env); err != nil {
		return false, false, err
	}
	return prev != nil, true, w.queue(mut)
}

// deleteLocal turns a live record into a tombstone and queues the delete.
// old receives the record's last state.
func (w *writeTx) deleteLocal(kind domain.Kind, id string, old any) error {
	from, env, err := findRecord(w.txn, kind, id)
	if err != nil {
		return err
	}
	if env == nil || env.Deleted != 0 {
		return ErrNotFound
	}
	if err := json.Unmarshal(env.Data, old); err != nil {
		return fmt.Errorf("decode %s: %w", from, err)
	}
	// The base of a delete is every field the record has: the server can
	// then tell a delete that raced an edit it has not seen.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &fields); err != nil {
		return fmt.Errorf("decode %s: %w", from, err)
	}
	base := make(map[string]uint64, len(fields))
	for name := range fields {
		if name != "id" {
			base[name] = env.Fields[name].Seq
		}
	}
	ts := w.stamp()
	env.Deleted = ts
	if err := putRecord(w.txn, kind, id, from, placeOf(kind, id, nil), env); err != nil {
		return err
	}
	return w.queue(Mutation{Kind: kind, ID: id, Delete: true, Base: base, HLC: ts})
}

// queue appends a mutation to the outbox under the next number.
func (w *writeTx) queue(m Mutation) error {
	w.seq++
	m.Seq = w.seq
	m.At = w.s.now().UTC()
	if err := setJSON(w.txn, outboxKey(m.Seq), m); err != nil {
		return err
	}
	return setUint(w.txn, kOutSeq, w.seq)
}

// exists reports whether a live record of that kind has that id.
func (w *writeTx) exists(kind domain.Kind, id string) (bool, error) {
	_, e, err := findRecord(w.txn, kind, id)
	return e != nil && e.Deleted == 0, err
}
