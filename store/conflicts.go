package store

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// Conflict is a field that two people changed concurrently: the value that
// won (now in the record) and the value that lost, kept so that nothing
// typed is silently lost. The server makes conflicts and sends them to the
// devices of the record's region; the coordinator marks them resolved.
type Conflict struct {
	ID         string       `json:"id"`
	RecordKind domain.Kind  `json:"record_kind"`
	RecordID   string       `json:"record_id"`
	MemberID   string       `json:"member_id"`
	Field      string       `json:"field"`
	Winner     ConflictSide `json:"winner"`
	Loser      ConflictSide `json:"loser"`
	Resolved   bool         `json:"resolved"`
}

// ConflictSide is one of the two writes: the field's JSON value, its stamp
// and the device that made it ("central" for the central office).
type ConflictSide struct {
	Value  json.RawMessage `json:"value"`
	HLC    hlc.Timestamp   `json:"hlc"`
	Device string          `json:"device"`
}

// ConflictFilter selects conflicts.
type ConflictFilter struct {
	// MemberID, when set, keeps the conflicts of one member's records.
	MemberID string
	// Resolved includes the conflicts already marked resolved.
	Resolved bool
}

// Conflicts returns the conflicts f selects, the latest first.
func (s *Store) Conflicts(f ConflictFilter) ([]Conflict, error) {
	var out []Conflict
	err := s.view(func(txn *badger.Txn) error {
		return eachConflict(txn, func(c Conflict) {
			if (f.Resolved || !c.Resolved) && (f.MemberID == "" || c.MemberID == f.MemberID) {
				out = append(out, c)
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Winner.HLC > out[j].Winner.HLC })
	return out, nil
}

// ConflictCount returns how many conflicts are not resolved.
func (s *Store) ConflictCount() (int, error) {
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		return eachConflict(txn, func(c Conflict) {
			if !c.Resolved {
				n++
			}
		})
	})
	if err != nil {
		return 0, fmt.Errorf("conflict count: %w", err)
	}
	return n, nil
}

func eachConflict(txn *badger.Txn, fn func(Conflict)) error {
	return scanValues(txn, []byte(pConflict), func(key, val []byte) (bool, error) {
		var env envelope
		if err := jsonUnmarshal(key, val, &env); err != nil {
			return false, err
		}
		var c Conflict
		if err := jsonUnmarshal(key, env.Data, &c); err != nil {
			return false, err
		}
		fn(c)
		return true, nil
	})
}

// ResolveConflict marks a conflict handled, here and (through the outbox)
// on the server and the other devices. Choosing a value is an ordinary edit
// of the record itself. Resolving a resolved conflict does nothing.
func (s *Store) ResolveConflict(id string) error {
	err := s.update(func(w *writeTx) error {
		key := recordKey(pConflict, id)
		env, err := readEnvelope(w.txn, key)
		if err != nil {
			return err
		}
		if env == nil {
			return ErrNotFound
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(env.Data, &fields); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		yes := json.RawMessage("true")
		if sameValue(fields["resolved"], yes) {
			return nil
		}
		prev := fields["resolved"]
		fields["resolved"] = yes
		next := *env
		if next.Data, err = json.Marshal(fields); err != nil {
			return err
		}
		ts := w.stamp()
		base := env.Fields["resolved"].Seq
		next.Fields = make(map[string]fieldVersion, len(env.Fields)+1)
		for k, v := range env.Fields {
			next.Fields[k] = v
		}
		next.Fields["resolved"] = fieldVersion{HLC: ts, Seq: base, Mine: true}
		if err := setJSON(w.txn, key, &next); err != nil {
			return err
		}
		mut := Mutation{Kind: KindConflict, ID: id, HLC: ts,
			Fields: map[string]json.RawMessage{"resolved": yes},
			Base:   map[string]uint64{"resolved": base}}
		if prev != nil {
			mut.Prev = map[string]json.RawMessage{"resolved": prev}
		}
		return w.queue(mut)
	})
	if err != nil {
		return fmt.Errorf("resolve conflict %s: %w", id, err)
	}
	return nil
}
