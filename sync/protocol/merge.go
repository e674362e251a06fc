package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"reflect"
	"sort"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// FieldState is a field as the merging side holds it. Set is false for a
// field never written (a new record, or a field no one has filled).
type FieldState struct {
	Value   json.RawMessage
	Version FieldVersion
	Set     bool
}

// FieldWrite is an incoming write of one field: its value, the server
// sequence the writer had seen for that field, and the writer's stamp.
type FieldWrite struct {
	Value  json.RawMessage
	Base   uint64
	HLC    hlc.Timestamp
	Device string
}

// Decide applies the merge rule to one field. The write is sequential, and
// applied, when the writer had seen the current version (Base at or past its
// Seq) or made it itself; otherwise the two writes are concurrent and the
// newer HLC wins, the device id breaking ties. conflict is true when the
// writes were concurrent and the values differ: the loser must then be kept.
func Decide(cur FieldState, in FieldWrite) (apply, conflict bool) {
	if !cur.Set || in.Base >= cur.Version.Seq || cur.Version.Device == in.Device {
		return true, false
	}
	apply = Wins(in.HLC, in.Device, cur.Version.HLC, cur.Version.Device)
	return apply, !SameJSON(cur.Value, in.Value)
}

// Wins reports whether a write stamped (a, deviceA) beats one stamped
// (b, deviceB): the later HLC, then the greater device id, so that every
// replica picks the same winner.
func Wins(a hlc.Timestamp, deviceA string, b hlc.Timestamp, deviceB string) bool {
	if a != b {
		return a > b
	}
	return deviceA > deviceB
}

// SameJSON reports whether two JSON texts hold the same value, whatever
// their white space, key order or escaping ("<" and "\u003c" are the same
// character). Invalid JSON is never equal to anything.
func SameJSON(a, b json.RawMessage) bool {
	va, okA := jsonValue(a)
	vb, okB := jsonValue(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

func jsonValue(raw json.RawMessage) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep every digit of an HLC
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// Decision is the merge outcome for one field of a mutation.
type Decision struct {
	Field string
	// Apply: the mutation's value replaces the current one.
	Apply bool
	// Conflict is set when the writes were concurrent and the values
	// differ; it holds both sides (MemberID is left for the caller).
	Conflict *Conflict
}

// Merge applies the merge rule to every field of m, pushed by device, against
// a record's current fields and versions (nil for a new record). m.HLC must
// already be clamped by the receiver (hlc.Clamp). Decisions come in field
// name order so that both sides produce the same conflicts in the same
// order.
func Merge(fields map[string]json.RawMessage, versions map[string]FieldVersion, m Mutation, device string) []Decision {
	names := make([]string, 0, len(m.Fields))
	for name := range m.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]Decision, 0, len(names))
	for _, name := range names {
		v, set := versions[name]
		cur := FieldState{Value: fields[name], Version: v, Set: set}
		in := FieldWrite{Value: m.Fields[name], Base: m.Base[name], HLC: m.HLC, Device: device}
		apply, conflict := Decide(cur, in)
		d := Decision{Field: name, Apply: apply}
		if conflict {
			mine := ConflictSide{Value: in.Value, HLC: in.HLC, Device: in.Device}
			theirs := ConflictSide{Value: cur.Value, HLC: v.HLC, Device: v.Device}
			winner, loser := theirs, mine
			if apply {
				winner, loser = mine, theirs
			}
			d.Conflict = NewConflict(m.Kind, m.ID, name, winner, loser)
		}
		out = append(out, d)
	}
	return out
}

// NewConflict builds the conflict record of one field. Its id is derived from
// the two writes, so the same conflict found twice (by the server, by a
// device predicting it, by a replayed push) is one record.
func NewConflict(kind domain.Kind, recordID, field string, winner, loser ConflictSide) *Conflict {
	return &Conflict{
		ID:         conflictID(kind, recordID, field, winner, loser),
		RecordKind: kind,
		RecordID:   recordID,
		Field:      field,
		Winner:     winner,
		Loser:      loser,
	}
}

// conflictID hashes the conflict's identity into a UUID of version 8
// (RFC 9562, custom), which domain.CheckID accepts like any UUID.
func conflictID(kind domain.Kind, recordID, field string, winner, loser ConflictSide) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{string(kind), recordID, field, winner.Device, loser.Device} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	binary.BigEndian.PutUint64(n[:], uint64(winner.HLC))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(loser.HLC))
	h.Write(n[:])
	sum := h.Sum(nil)
	sum[6] = 0x80 | sum[6]&0x0f
	sum[8] = 0x80 | sum[8]&0x3f
	hx := hex.EncodeToString(sum[:16])
	return hx[0:8] + "-" + hx[8:12] + "-" + hx[12:16] + "-" + hx[16:20] + "-" + hx[20:32]
}

// ConflictFields returns a conflict as record fields, keyed by JSON name.
func ConflictFields(c Conflict) map[string]json.RawMessage {
	return mustFields(c)
}

func mustFields(v any) map[string]json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("protocol: marshal " + err.Error()) // plain structs of strings and numbers always marshal
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		panic("protocol: unmarshal " + err.Error())
	}
	return m
}

func fieldNames(v any) []string {
	m := mustFields(v)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
