package protocol

import (
	"encoding/json"
	"errors"
	"testing"

	"leconsortium.coop/terrain/domain"
)

// Own must name a mutation of the request being answered, for the same
// record: anything else is a broken page, not something to guess at.
func TestExpandChangesRefusesAStrangeOwn(t *testing.T) {
	const id = "0190f1f2-0000-7000-8000-000000000001"
	edit := Mutation{Seq: 4, Kind: domain.KindMember, ID: id, HLC: 99,
		Fields: map[string]json.RawMessage{"notes": json.RawMessage(`"x"`)}}
	other := edit
	other.ID = "0190f1f2-0000-7000-8000-000000000002"
	del := Mutation{Seq: 4, Kind: domain.KindMember, ID: id, Delete: true}
	for _, tc := range []struct {
		name string
		muts []Mutation
		own  uint64
	}{
		{"no such mutation", []Mutation{edit}, 5},
		{"another record's", []Mutation{other}, 4},
		{"a delete", []Mutation{del}, 4},
		{"no mutations at all", nil, 4},
	} {
		resp := SyncResponse{Changes: []Change{{Seq: 9, Kind: domain.KindMember, ID: id, Own: tc.own}}}
		err := resp.ExpandChanges(SyncRequest{ClientID: "d", Mutations: tc.muts})
		if !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	resp := SyncResponse{Changes: []Change{{Seq: 9, Kind: domain.KindMember, ID: id, Own: 4}}}
	if err := resp.ExpandChanges(SyncRequest{ClientID: "d", Mutations: []Mutation{edit}}); err != nil {
		t.Fatal(err)
	}
	if got := resp.Changes[0].Versions["notes"]; got != (FieldVersion{HLC: 99, Seq: 9, Device: "d"}) {
		t.Errorf("own field stamped %+v", got)
	}
}
