package central

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// The compact form of a change, once expanded by the device
// (protocol.ExpandChanges), must be exactly the full form: same values,
// same stamps for every field.
func TestCompactChangesExpandToTheFullForm(t *testing.T) {
	const dev = "0190f1f2-0000-7000-8000-0000000000d1"
	const id = "0190f1f2-0000-7000-8000-000000000001"
	central := protocol.FieldVersion{HLC: 1 << 20, Seq: 7, Device: protocol.CentralDevice}
	mine := protocol.FieldVersion{HLC: 2 << 20, Seq: 12, Device: dev}
	raw := func(v string) json.RawMessage { return json.RawMessage(v) }
	imported := Record{Kind: domain.KindMember, ID: id, Seq: 7,
		Fields:   map[string]json.RawMessage{"name": raw(`"Coop"`), "region": raw(`"09"`), "notes": raw(`""`)},
		Versions: map[string]protocol.FieldVersion{"name": central, "region": central, "notes": central}}
	edited := Record{Kind: domain.KindMember, ID: id, Seq: 12,
		Fields:   map[string]json.RawMessage{"name": raw(`"Coop"`), "region": raw(`"09"`), "notes": raw(`"Appel"`)},
		Versions: map[string]protocol.FieldVersion{"name": central, "region": central, "notes": mine}}
	noStamp := Record{Kind: domain.KindMember, ID: id, Seq: 7,
		Fields:   map[string]json.RawMessage{"name": raw(`"Coop"`), "region": raw(`"09"`)},
		Versions: map[string]protocol.FieldVersion{"name": central}}
	edit := protocol.Mutation{Seq: 3, Kind: domain.KindMember, ID: id, HLC: mine.HLC,
		Fields: map[string]json.RawMessage{"notes": raw(`"Appel"`)}}
	normalised := edit
	normalised.Fields = map[string]json.RawMessage{"notes": raw(`"Appel "`)} // stored trimmed
	clamped := edit
	clamped.HLC = 3 << 20 // stored with the server's clamped clock

	for _, tc := range []struct {
		name    string
		rec     Record
		muts    []protocol.Mutation
		own     bool // the change leaves the mutation's fields out
		stamped bool // the change has a default stamp
	}{
		{"imported", imported, nil, false, true},
		{"edited by another device", edited, nil, false, true},
		{"own edit", edited, []protocol.Mutation{edit}, true, true},
		{"own edit normalised by the server", edited, []protocol.Mutation{normalised}, false, true},
		{"own edit with a clamped clock", edited, []protocol.Mutation{clamped}, false, true},
		{"a field without a stamp", noStamp, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := protocol.SyncRequest{ClientID: dev, Mutations: tc.muts}
			hr, _ := http.NewRequest(http.MethodPost, "/v1/sync", nil)
			hr.Header.Set(protocol.FeaturesHeader, "gzip-something, "+protocol.FeatureCompact)
			opt := newPageOptions(hr, dev, req)
			full := protocol.Change{Seq: tc.rec.Seq, Kind: tc.rec.Kind, ID: tc.rec.ID,
				Fields: maps.Clone(tc.rec.Fields), Versions: maps.Clone(tc.rec.Versions)}
			wire, err := json.Marshal(opt.change(&tc.rec))
			if err != nil {
				t.Fatal(err)
			}
			var ch protocol.Change
			if err := json.Unmarshal(wire, &ch); err != nil {
				t.Fatal(err)
			}
			if (ch.Own != 0) != tc.own || (ch.Version != nil) != tc.stamped {
				t.Errorf("on the wire %s: own %d, default stamp %v", wire, ch.Own, ch.Version)
			}
			resp := protocol.SyncResponse{Changes: []protocol.Change{ch}}
			if err := resp.ExpandChanges(req); err != nil {
				t.Fatal(err)
			}
			if got := resp.Changes[0]; !reflect.DeepEqual(got, full) {
				t.Errorf("on the wire %s\nexpanded %+v\nwant     %+v", wire, got, full)
			}
		})
	}

	t.Run("not asked for", func(t *testing.T) {
		hr, _ := http.NewRequest(http.MethodPost, "/v1/sync", nil)
		req := protocol.SyncRequest{ClientID: dev, Mutations: []protocol.Mutation{edit}}
		ch := newPageOptions(hr, dev, req).change(&edited)
		if ch.Version != nil || ch.Own != 0 || len(ch.Fields) != 3 || len(ch.Versions) != 3 {
			t.Errorf("a device that did not ask got %+v", ch)
		}
	})
}
