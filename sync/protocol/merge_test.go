package protocol

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestDecide(t *testing.T) {
	at := func(ms int64) hlc.Timestamp { return hlc.New(1_750_000_000_000+ms, 0) }
	cur := FieldState{Value: raw(`"ancienne"`), Version: FieldVersion{HLC: at(10), Seq: 5, Device: "b"}, Set: true}
	tests := []struct {
		name         string
		cur          FieldState
		in           FieldWrite
		apply, confl bool
	}{
		{"field never written", FieldState{}, FieldWrite{Value: raw(`"x"`), Base: 0, HLC: at(1), Device: "a"}, true, false},
		{"writer saw the current version", cur, FieldWrite{Value: raw(`"x"`), Base: 5, HLC: at(1), Device: "a"}, true, false},
		{"writer saw a later version", cur, FieldWrite{Value: raw(`"x"`), Base: 7, HLC: at(1), Device: "a"}, true, false},
		{"writer's own earlier write", cur, FieldWrite{Value: raw(`"x"`), Base: 0, HLC: at(1), Device: "b"}, true, false},
		{"concurrent, newer wins", cur, FieldWrite{Value: raw(`"x"`), Base: 4, HLC: at(11), Device: "a"}, true, true},
		{"concurrent, older loses", cur, FieldWrite{Value: raw(`"x"`), Base: 4, HLC: at(9), Device: "a"}, false, true},
		{"same stamp, greater device wins", cur, FieldWrite{Value: raw(`"x"`), Base: 4, HLC: at(10), Device: "c"}, true, true},
		{"same stamp, smaller device loses", cur, FieldWrite{Value: raw(`"x"`), Base: 4, HLC: at(10), Device: "a"}, false, true},
		{"concurrent, same value: no conflict", cur, FieldWrite{Value: raw(` "ancienne" `), Base: 4, HLC: at(11), Device: "a"}, true, false},
		{"concurrent, older same value: kept, no conflict", cur, FieldWrite{Value: raw(`"ancienne"`), Base: 0, HLC: at(9), Device: "a"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			apply, conflict := Decide(tc.cur, tc.in)
			if apply != tc.apply || conflict != tc.confl {
				t.Errorf("Decide = apply %v, conflict %v; want %v, %v", apply, conflict, tc.apply, tc.confl)
			}
		})
	}
}

func TestMergeKeepsTheLoser(t *testing.T) {
	at := func(ms int64) hlc.Timestamp { return hlc.New(1_750_000_000_000+ms, 0) }
	fields := map[string]json.RawMessage{"phone": raw(`"418 555-0101"`), "notes": raw(`"serveur"`), "name": raw(`"Coop"`)}
	versions := map[string]FieldVersion{
		"phone": {HLC: at(10), Seq: 8, Device: "b"},
		"notes": {HLC: at(30), Seq: 9, Device: "b"},
		"name":  {HLC: at(1), Seq: 2, Device: "b"},
	}
	m := Mutation{Seq: 3, Kind: domain.KindMember, ID: "01900000-0000-7000-8000-000000000001", HLC: at(20),
		Fields: map[string]json.RawMessage{"phone": raw(`"418 555-0199"`), "notes": raw(`"appareil"`), "name": raw(`"Coop inc."`)},
		Base:   map[string]uint64{"phone": 2, "notes": 2, "name": 2}}
	ds := Merge(fields, versions, m, "a")
	if len(ds) != 3 || ds[0].Field != "name" || ds[1].Field != "notes" || ds[2].Field != "phone" {
		t.Fatalf("decisions not in field order: %+v", ds)
	}
	if !ds[0].Apply || ds[0].Conflict != nil {
		t.Errorf("name (base current) = %+v, want applied without conflict", ds[0])
	}
	if n := ds[1]; n.Apply || n.Conflict == nil || string(n.Conflict.Winner.Value) != `"serveur"` || string(n.Conflict.Loser.Value) != `"appareil"` ||
		n.Conflict.Loser.Device != "a" || n.Conflict.Winner.Device != "b" {
		t.Errorf("notes (server newer) = %+v %+v", n, n.Conflict)
	}
	if p := ds[2]; !p.Apply || p.Conflict == nil || string(p.Conflict.Winner.Value) != `"418 555-0199"` || p.Conflict.Loser.HLC != at(10) {
		t.Errorf("phone (device newer) = %+v %+v", p, p.Conflict)
	}
	c := ds[2].Conflict
	if domain.CheckID(c.ID) != nil || c.RecordKind != domain.KindMember || c.RecordID != m.ID || c.Field != "phone" {
		t.Errorf("conflict identity = %+v", c)
	}
	if again := Merge(fields, versions, m, "a"); again[2].Conflict.ID != c.ID {
		t.Error("the same conflict found twice has two ids")
	}
	if ds[1].Conflict.ID == c.ID {
		t.Error("two conflicts share an id")
	}
}

// TestMergeConverges: two devices write the same field concurrently; the
// server receives the writes in either order and ends with the same value
// and the same conflict. Random stamps, fixed seed.
func TestMergeConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		base := FieldVersion{HLC: hlc.New(1_750_000_000_000, 0), Seq: 1, Device: "origin"}
		wa := FieldWrite{Value: raw(fmt.Sprintf(`"a%d"`, r.IntN(3))), Base: 1, HLC: hlc.New(1_750_000_000_000+r.Int64N(5), uint16(r.IntN(2))), Device: "dev-a"}
		wb := FieldWrite{Value: raw(fmt.Sprintf(`"a%d"`, r.IntN(3))), Base: 1, HLC: hlc.New(1_750_000_000_000+r.Int64N(5), uint16(r.IntN(2))), Device: "dev-b"}
		run := func(first, second FieldWrite) (string, *Conflict) {
			state := map[string]json.RawMessage{"f": raw(`"origin"`)}
			vers := map[string]FieldVersion{"f": base}
			var conflict *Conflict
			for seq, w := range []FieldWrite{first, second} {
				m := Mutation{Kind: domain.KindFollowUp, ID: "x", Fields: map[string]json.RawMessage{"f": w.Value}, Base: map[string]uint64{"f": w.Base}, HLC: w.HLC}
				d := Merge(state, vers, m, w.Device)[0]
				if d.Apply {
					state["f"] = w.Value
					vers["f"] = FieldVersion{HLC: w.HLC, Seq: uint64(seq + 2), Device: w.Device}
				}
				if d.Conflict != nil {
					conflict = d.Conflict
				}
			}
			return string(state["f"]), conflict
		}
		v1, c1 := run(wa, wb)
		v2, c2 := run(wb, wa)
		if v1 != v2 {
			t.Fatalf("case %d: order changes the result: %s vs %s (a %+v, b %+v)", i, v1, v2, wa, wb)
		}
		if (c1 == nil) != (c2 == nil) || c1 != nil && (c1.ID != c2.ID || string(c1.Loser.Value) != string(c2.Loser.Value)) {
			t.Fatalf("case %d: conflicts differ: %+v vs %+v", i, c1, c2)
		}
		if c1 == nil && !SameJSON(wa.Value, wb.Value) {
			t.Fatalf("case %d: different values and no conflict", i)
		}
	}
}

func TestSameJSON(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`"a < b"`, `"a \u003c b"`, true},
		{`{"x":1,"y":[1,2]}`, ` { "y" : [1, 2], "x" : 1 } `, true},
		{`"Île"`, `"\u00cele"`, true},
		{`1`, `1.0`, false},
		{`"a"`, `"b"`, false},
		{`"a"`, `"a`, false},
		{``, ``, false},
		{`null`, `null`, true},
		{`"a" "a"`, `"a" "a"`, false},
		{`1152921504606846977`, `1152921504606846976`, false},
	}
	for _, tc := range tests {
		if got := SameJSON(raw(tc.a), raw(tc.b)); got != tc.want {
			t.Errorf("SameJSON(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFieldNames(t *testing.T) {
	names, ok := FieldNames(domain.KindMember)
	if !ok || len(names) != 19 {
		t.Fatalf("member fields = %v", names)
	}
	for _, n := range []string{"id", "name", "region", "contact_email", "services", "member_since"} {
		if !HasField(domain.KindMember, n) {
			t.Errorf("member has no field %q", n)
		}
	}
	if HasField(domain.KindVisit, "name") || HasField("invoice", "id") {
		t.Error("HasField accepts a field the kind does not have")
	}
	if !HasField(KindConflict, "resolved") || !HasField(domain.KindFollowUp, "due") {
		t.Error("HasField misses a field")
	}
	if _, ok := FieldNames("invoice"); ok {
		t.Error("FieldNames knows an unknown kind")
	}
}
