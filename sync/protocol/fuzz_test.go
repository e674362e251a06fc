package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// FuzzDecodeRequest feeds the sync request decoder arbitrary bodies. It must
// never panic, must refuse with a *DecodeError, and what it accepts must
// survive a re-encoding unchanged, with no key twice in an object and every
// key spelled exactly as the encoder writes it. The seed corpus is in
// testdata/fuzz/FuzzDecodeRequest and runs with every go test.
func FuzzDecodeRequest(f *testing.F) {
	good, _ := json.Marshal(validRequest())
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Code == "" || de.Message == "" {
				t.Fatalf("refusal without a code: %v", err)
			}
			return
		}
		once, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		checkKeysAsEncoded(t, data, once, false)
		again, err := DecodeRequest(once)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v\n%s", err, once)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable:\n%s\n%s", once, twice)
		}
	})
}

// FuzzDecodeResponse feeds the device's decoder of sync responses arbitrary
// bodies, answering a request with a fuzzed cursor, epoch, backfill and
// push. It must never panic and must refuse with ErrBadResponse; what it
// accepts must hold the invariants the sync engine and the store rely on,
// and survive a re-encoding as an equal value.
func FuzzDecodeResponse(f *testing.F) {
	good, _ := json.Marshal(validResponse())
	f.Add(good, uint64(41), "e1", uint64(0), uint64(0), false)
	f.Add([]byte(`{"cursor":41,"has_more":true,"epoch":"e1","backfill":{"through":90,"after":30}}`), uint64(41), "e1", uint64(90), uint64(30), false)
	f.Fuzz(func(t *testing.T, data []byte, cursor uint64, epoch string, through, after uint64, pushed bool) {
		req := SyncRequest{ClientID: clientID, SchemaVersion: SchemaVersion, Cursor: cursor, Epoch: epoch}
		if through > 0 {
			req.Backfill = &Backfill{Through: through, After: after}
		}
		if pushed {
			req.Mutations = validRequest().Mutations
		}
		resp, err := DecodeResponse(data, req)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) || err.Error() == ErrBadResponse.Error() {
				t.Fatalf("refusal without ErrBadResponse or a reason: %v", err)
			}
			return
		}
		checkResponseInvariants(t, req, resp)
		once, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("accepted response does not encode: %v", err)
		}
		checkKeysAsEncoded(t, data, once, true)
		again, err := DecodeResponse(once, req)
		if err != nil {
			t.Fatalf("re-encoded response refused: %v\n%s", err, once)
		}
		if !reflect.DeepEqual(normalResponse(t, resp), normalResponse(t, again)) {
			t.Fatalf("re-encoding changed the response:\n%+v\n%+v", resp, again)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable:\n%s\n%s", once, twice)
		}
	})
}

// checkKeysAsEncoded is the key property of an accepted body, restated with
// encoding/json alone: no object holds a key twice, and every key of data is
// one the re-encoding enc writes at the same place, except keys that hold a
// zero value (omitted by omitempty) and, when unknownOK, keys that differ in
// more than case from every key written there.
func checkKeysAsEncoded(t *testing.T, data, enc []byte, unknownOK bool) {
	t.Helper()
	if k, ok := duplicateKey(data); ok {
		t.Fatalf("accepted key %q twice in one object: %s", k, data)
	}
	var got, want any
	if json.Unmarshal(data, &got) != nil || json.Unmarshal(enc, &want) != nil {
		t.Fatalf("accepted body or its encoding does not decode:\n%s\n%s", data, enc)
	}
	var walk func(got, want any, path string)
	walk = func(got, want any, path string) {
		switch g := got.(type) {
		case map[string]any:
			w, _ := want.(map[string]any)
			for k, v := range g {
				if wv, ok := w[k]; ok {
					walk(v, wv, path+"/"+k)
					continue
				}
				folds := false
				for wk := range w {
					folds = folds || strings.EqualFold(wk, k)
				}
				switch {
				case folds:
					t.Fatalf("accepted key %q at %s, written %v by the encoder", k, path, slices.Sorted(maps.Keys(w)))
				case !unknownOK && !isZeroJSON(v):
					t.Fatalf("accepted key %q at %s that the encoder does not write", k, path)
				}
			}
		case []any:
			w, _ := want.([]any)
			for i, v := range g {
				if i < len(w) {
					walk(v, w[i], path)
				}
			}
		}
	}
	walk(got, want, "")
}

func isZeroJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// duplicateKey returns a key that appears twice in one object of data.
func duplicateKey(data []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: tok == '{', keys: map[string]bool{}, key: tok == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
			continue
		case string:
			if top != nil && top.object && top.key {
				if top.keys[tok] {
					return tok, true
				}
				top.keys[tok] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

// checkResponseInvariants restates, independently of Check, what an
// accepted response guarantees the device.
func checkResponseInvariants(t *testing.T, req SyncRequest, resp SyncResponse) {
	t.Helper()
	if resp.Epoch == "" {
		t.Fatal("accepted without an epoch")
	}
	if req.Epoch != "" && resp.Epoch == req.Epoch && resp.Cursor < req.Cursor {
		t.Fatalf("accepted a cursor going back: %d after %d", resp.Cursor, req.Cursor)
	}
	// The request the engine sends next, when the page says there is more.
	if resp.HasMore && len(req.Mutations) == 0 {
		next := SyncRequest{ClientID: req.ClientID, SchemaVersion: req.SchemaVersion, Cursor: resp.Cursor, Epoch: resp.Epoch, Backfill: resp.Backfill}
		if reflect.DeepEqual(next, req) {
			t.Fatalf("accepted a page that asks for the same request again: %+v", req)
		}
	}
	for i, c := range resp.Changes {
		if i > 0 && c.Seq <= resp.Changes[i-1].Seq {
			t.Fatalf("accepted changes out of order: %d after %d", c.Seq, resp.Changes[i-1].Seq)
		}
		if (c.Delete || c.Removed) && len(c.Fields)+len(c.Versions) > 0 {
			t.Fatalf("accepted a deleted record with fields: %+v", c)
		}
		if (c.Kind == "member" || c.Kind == "visit" || c.Kind == "followup" || c.Kind == "conflict") && domain.CheckID(c.ID) != nil {
			t.Fatalf("accepted a %s id %q", c.Kind, c.ID)
		}
		for name, v := range c.Versions {
			if v.Seq > c.Seq {
				t.Fatalf("accepted field %q stamped after its change", name)
			}
		}
	}
	for _, rj := range resp.Rejected {
		if rj.Seq == 0 || rj.Seq > resp.AckedThrough {
			t.Fatalf("accepted rejection %d with acked_through %d", rj.Seq, resp.AckedThrough)
		}
	}
}

// normalResponse is resp as any JSON encoding of it decodes: raw values
// compacted and escaped as encoding/json writes them, and the empty
// collections that omitempty leaves out turned into nil.
func normalResponse(t *testing.T, resp SyncResponse) SyncResponse {
	t.Helper()
	out := resp
	out.Changes = slices.Clone(resp.Changes)
	for i, c := range out.Changes {
		if len(c.Fields) == 0 {
			c.Fields = nil
		} else {
			fields := make(map[string]json.RawMessage, len(c.Fields))
			for k, v := range c.Fields {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatalf("field %q does not encode: %v", k, err)
				}
				fields[k] = b
			}
			c.Fields = fields
		}
		if len(c.Versions) == 0 {
			c.Versions = nil
		}
		out.Changes[i] = c
	}
	out.Rejected = slices.Clone(resp.Rejected)
	for i := range out.Rejected {
		if len(out.Rejected[i].Fields) == 0 {
			out.Rejected[i].Fields = nil
		}
	}
	if len(out.DroppedRegions) == 0 {
		out.DroppedRegions = nil
	}
	return out
}

// FuzzMerge: two devices write the same field concurrently, both from the
// same version (or both on a field never written). The server receives the
// writes in either order; either way the same write wins (the one Wins
// names), the loser is kept in the same conflict, and a retried push of
// either write changes nothing. Merge answers one decision per field, in
// field name order.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`"origine"`), true, uint64(1_750_000_000_000<<16), []byte(`"a"`), uint64(1_750_000_000_001<<16), "dev-a",
		[]byte(`"b"`), uint64(1_750_000_000_002<<16), "dev-b", "phone")
	f.Add([]byte(`null`), false, uint64(0), []byte(`{"x":[1,2]}`), uint64(7), "dev-a", []byte(` { "x" : [1, 2] } `), uint64(7), "dev-b", "")
	f.Fuzz(func(t *testing.T, origin []byte, set bool, originHLC uint64, va []byte, ha uint64, da string,
		vb []byte, hb uint64, db string, other string) {
		if da == db {
			t.Skip("one device's writes are sequential")
		}
		const field = "notes"
		a := FieldWrite{Value: va, HLC: hlc.Timestamp(ha), Device: da}
		b := FieldWrite{Value: vb, HLC: hlc.Timestamp(hb), Device: db}
		start := FieldState{}
		if set {
			start = FieldState{Value: origin, Version: FieldVersion{HLC: hlc.Timestamp(originHLC), Seq: 1, Device: CentralDevice}, Set: true}
			a.Base, b.Base = 1, 1
		}
		mutation := func(w FieldWrite) Mutation {
			m := Mutation{Kind: domain.KindMember, ID: memberID, HLC: w.HLC,
				Fields: map[string]json.RawMessage{field: w.Value}, Base: map[string]uint64{field: w.Base}}
			if other != field {
				m.Fields[other] = w.Value
			}
			return m
		}
		// server applies writes in order as the central server does: an
		// applied field takes the next sequence and the writer's stamp.
		type server struct {
			cur       FieldState
			seq       uint64
			conflicts map[string]Conflict
		}
		apply := func(s *server, w FieldWrite) Decision {
			fields := map[string]json.RawMessage{}
			versions := map[string]FieldVersion{}
			if s.cur.Set {
				fields[field], versions[field] = s.cur.Value, s.cur.Version
			}
			m := mutation(w)
			ds := Merge(fields, versions, m, w.Device)
			if len(ds) != len(m.Fields) || !slices.IsSortedFunc(ds, func(x, y Decision) int { return strings.Compare(x.Field, y.Field) }) {
				t.Fatalf("decisions %+v for fields %v", ds, slices.Collect(maps.Keys(m.Fields)))
			}
			i := slices.IndexFunc(ds, func(d Decision) bool { return d.Field == field })
			if i < 0 {
				t.Fatalf("no decision for %q: %+v", field, ds)
			}
			d := ds[i]
			if d.Apply {
				s.seq++
				s.cur = FieldState{Value: w.Value, Version: FieldVersion{HLC: w.HLC, Seq: s.seq, Device: w.Device}, Set: true}
			}
			if c := d.Conflict; c != nil {
				if domain.CheckID(c.ID) != nil || c.RecordID != memberID || c.Field != field {
					t.Fatalf("conflict identity %+v", c)
				}
				if old, seen := s.conflicts[c.ID]; seen && !reflect.DeepEqual(old, *c) {
					t.Fatalf("one conflict id for two conflicts:\n%+v\n%+v", old, *c)
				}
				s.conflicts[c.ID] = *c
			}
			return d
		}
		run := func(first, second FieldWrite) *server {
			s := &server{cur: start, seq: 1, conflicts: map[string]Conflict{}}
			apply(s, first)
			apply(s, second)
			return s
		}
		ab, ba := run(a, b), run(b, a)

		winner, loser := b, a
		if Wins(a.HLC, a.Device, b.HLC, b.Device) {
			winner, loser = a, b
		}
		if Wins(b.HLC, b.Device, a.HLC, a.Device) == Wins(a.HLC, a.Device, b.HLC, b.Device) {
			t.Fatalf("Wins does not pick exactly one of %v/%q and %v/%q", a.HLC, a.Device, b.HLC, b.Device)
		}
		for _, s := range []*server{ab, ba} {
			if !bytes.Equal(s.cur.Value, winner.Value) || s.cur.Version.HLC != winner.HLC || s.cur.Version.Device != winner.Device {
				t.Fatalf("kept %s from %q, want the winner %s from %q", s.cur.Value, s.cur.Version.Device, winner.Value, winner.Device)
			}
		}
		if !reflect.DeepEqual(ab.conflicts, ba.conflicts) {
			t.Fatalf("the order changes the conflicts:\n%+v\n%+v", ab.conflicts, ba.conflicts)
		}
		// The loser is never dropped: it is in a conflict, unless it holds
		// the winner's value.
		if len(ab.conflicts) > 1 {
			t.Fatalf("%d conflicts for one pair of writes", len(ab.conflicts))
		}
		for _, c := range ab.conflicts {
			if !bytes.Equal(c.Winner.Value, winner.Value) || c.Winner.Device != winner.Device ||
				!bytes.Equal(c.Loser.Value, loser.Value) || c.Loser.Device != loser.Device || c.Loser.HLC != loser.HLC {
				t.Fatalf("conflict %+v for winner %+v, loser %+v", c, winner, loser)
			}
		}
		if len(ab.conflicts) == 0 && !SameJSON(winner.Value, loser.Value) {
			t.Fatalf("loser %s dropped without a conflict (winner %s)", loser.Value, winner.Value)
		}
		// A retried push, or a device predicting the outcome of its own
		// write, changes nothing.
		for _, w := range []FieldWrite{a, b} {
			before := *ab
			before.conflicts = maps.Clone(ab.conflicts)
			apply(ab, w)
			if !bytes.Equal(ab.cur.Value, before.cur.Value) || ab.cur.Version.HLC != before.cur.Version.HLC ||
				ab.cur.Version.Device != before.cur.Version.Device || !reflect.DeepEqual(ab.conflicts, before.conflicts) {
				t.Fatalf("writing %s from %q again changed the field: %+v -> %+v", w.Value, w.Device, before.cur, ab.cur)
			}
		}
	})
}
