package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
)

const visitID = "01900000-0000-7000-8000-00000000000c"

// pullRequest is a device's second request: it has an epoch and a cursor,
// and nothing to push.
func pullRequest() SyncRequest {
	return SyncRequest{ClientID: clientID, SchemaVersion: SchemaVersion, Cursor: 41, Epoch: "e1"}
}

// validResponse is a page as the central server builds it for pullRequest.
func validResponse() SyncResponse {
	return SyncResponse{
		AckedThrough: 3,
		Rejected:     []Rejection{{Seq: 3, Kind: domain.KindVisit, ID: visitID, Code: RejectDeleted, Message: "this record was deleted"}},
		Changes: []Change{
			{Seq: 42, Kind: domain.KindMember, ID: memberID,
				Fields:   map[string]json.RawMessage{"id": raw(`"` + memberID + `"`), "name": raw(`"Coopérative"`)},
				Versions: map[string]FieldVersion{"name": {HLC: 7, Seq: 42, Device: clientID}, "id": {HLC: 5, Seq: 12, Device: "central"}}},
			{Seq: 44, Kind: domain.KindVisit, ID: visitID, Delete: true},
			{Seq: 45, Kind: domain.KindVisit, ID: memberID, Removed: true},
			{Seq: 47, Kind: domain.KindService, ID: "hr", Fields: map[string]json.RawMessage{"id": raw(`"hr"`)}},
		},
		Cursor: 47, HasMore: true, Epoch: "e1", Remaining: 12,
		DroppedRegions: []string{"09"},
	}
}

func TestDecodeResponseRoundTrip(t *testing.T) {
	want := validResponse()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResponse(b, pullRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// TestDecodeResponseForwardCompatible: what a newer server may add is
// accepted, and a change of a kind this version does not know is passed on
// (the store skips it).
func TestDecodeResponseForwardCompatible(t *testing.T) {
	body := `{"acked_through":0,"rejected":[],"cursor":50,"has_more":false,"epoch":"e1","remaining":0,` +
		`"server_time":"2030-01-01","changes":[{"seq":50,"kind":"invoice","id":"F-2030-1","fields":{"total":1},"signature":"x"}]}`
	resp, err := DecodeResponse([]byte(body), pullRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Changes) != 1 || resp.Changes[0].Kind != "invoice" {
		t.Errorf("changes = %+v", resp.Changes)
	}
}

func TestDecodeResponseAcceptsProgress(t *testing.T) {
	req := pullRequest()
	tests := []struct {
		name string
		req  func(*SyncRequest)
		resp func(*SyncResponse)
	}{
		{"last page, cursor unchanged", nil, func(r *SyncResponse) { r.Changes, r.Cursor, r.HasMore = nil, 41, false }},
		{"first sync, epoch learnt", func(q *SyncRequest) { q.Epoch, q.Cursor = "", 0 }, func(r *SyncResponse) { r.Cursor = 0 }},
		{"new epoch, cursor back", nil, func(r *SyncResponse) { r.Epoch, r.Cursor, r.Changes = "e2", 3, nil }},
		{"backfill starts", nil, func(r *SyncResponse) { r.Cursor, r.Backfill = 41, &Backfill{Through: 90, After: 30} }},
		{"backfill goes on", func(q *SyncRequest) { q.Backfill = &Backfill{Through: 90, After: 30} },
			func(r *SyncResponse) { r.Cursor, r.Backfill = 41, &Backfill{Through: 90, After: 35} }},
		{"another backfill", func(q *SyncRequest) { q.Backfill = &Backfill{Through: 90, After: 30} },
			func(r *SyncResponse) { r.Cursor, r.Backfill = 41, &Backfill{Through: 95, After: 2} }},
		{"push acknowledged, nothing new", func(q *SyncRequest) { q.Mutations = validRequest().Mutations },
			func(r *SyncResponse) { r.Cursor, r.Changes = 41, nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, r := req, validResponse()
			if tc.req != nil {
				tc.req(&q)
			}
			tc.resp(&r)
			b, _ := json.Marshal(r)
			if _, err := DecodeResponse(b, q); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

func TestDecodeResponseRefuses(t *testing.T) {
	good, _ := json.Marshal(validResponse())
	edit := func(fn func(*SyncResponse)) []byte {
		r := validResponse()
		fn(&r)
		b, _ := json.Marshal(r)
		return b
	}
	inBackfill := pullRequest()
	inBackfill.Backfill = &Backfill{Through: 90, After: 30}
	tests := []struct {
		name string
		body []byte
		req  SyncRequest
	}{
		{"malformed", []byte(`{"epoch":`), pullRequest()},
		{"null", []byte(`null`), pullRequest()},
		{"trailing value", append(append([]byte{}, good...), " {}"...), pullRequest()},
		{"invalid UTF-8", []byte(`{"epoch":"e1","cursor":50,"note":"` + "\xff" + `"}`), pullRequest()},
		{"wrong type", []byte(`{"epoch":"e1","cursor":"50"}`), pullRequest()},
		{"no epoch", edit(func(r *SyncResponse) { r.Epoch = "" }), pullRequest()},
		{"long epoch", edit(func(r *SyncResponse) { r.Epoch = strings.Repeat("e", MaxNameBytes+1) }), pullRequest()},
		{"negative remaining", edit(func(r *SyncResponse) { r.Remaining = -1 }), pullRequest()},
		{"cursor goes back", edit(func(r *SyncResponse) { r.Cursor, r.Changes = 40, nil }), pullRequest()},
		{"has_more, same cursor", edit(func(r *SyncResponse) { r.Cursor = 41 }), pullRequest()},
		{"has_more, same backfill", edit(func(r *SyncResponse) { r.Cursor, r.Backfill = 41, &Backfill{Through: 90, After: 30} }), inBackfill},
		{"backfill goes back", edit(func(r *SyncResponse) { r.Cursor, r.Backfill = 41, &Backfill{Through: 90, After: 29} }), inBackfill},
		{"backfill dropped", edit(func(r *SyncResponse) { r.Cursor, r.Backfill = 41, nil }), inBackfill},
		{"empty dropped region", edit(func(r *SyncResponse) { r.DroppedRegions = []string{""} }), pullRequest()},
		{"rejection past acked", edit(func(r *SyncResponse) { r.Rejected[0].Seq = 4 }), pullRequest()},
		{"rejection seq zero", edit(func(r *SyncResponse) { r.Rejected[0].Seq = 0 }), pullRequest()},
		{"change seq zero", edit(func(r *SyncResponse) { r.Changes = r.Changes[1:2]; r.Changes[0].Seq = 0 }), pullRequest()},
		{"changes out of order", edit(func(r *SyncResponse) { r.Changes[1].Seq = 42 }), pullRequest()},
		{"change without kind", edit(func(r *SyncResponse) { r.Changes[3].Kind = "" }), pullRequest()},
		{"member id not a UUID", edit(func(r *SyncResponse) { r.Changes[0].ID = strings.ToUpper(memberID) }), pullRequest()},
		{"conflict id not a UUID", edit(func(r *SyncResponse) { r.Changes[1].Kind, r.Changes[1].ID = KindConflict, "../x" }), pullRequest()},
		{"service without id", edit(func(r *SyncResponse) { r.Changes[3].ID = "" }), pullRequest()},
		{"deleted and removed", edit(func(r *SyncResponse) { r.Changes[1].Removed = true }), pullRequest()},
		{"delete with fields", edit(func(r *SyncResponse) { r.Changes[1].Fields = r.Changes[0].Fields }), pullRequest()},
		{"removal with versions", edit(func(r *SyncResponse) { r.Changes[2].Versions = r.Changes[0].Versions }), pullRequest()},
		{"live record without fields", edit(func(r *SyncResponse) { r.Changes[3].Fields = nil }), pullRequest()},
		{"empty field name", edit(func(r *SyncResponse) { r.Changes[3].Fields[""] = raw(`1`) }), pullRequest()},
		{"cursor in another case", bytes.Replace(good, []byte(`"cursor"`), []byte(`"Cursor"`), 1), pullRequest()},
		{"cursor twice", bytes.Replace(good, []byte(`"cursor":`), []byte(`"cursor":1000,"cursor":`), 1), pullRequest()},
		{"epoch twice in two cases", bytes.Replace(good, []byte(`"epoch":`), []byte(`"EPOCH":"e2","epoch":`), 1), pullRequest()},
		{"change delete in capitals", bytes.Replace(good, []byte(`"delete":true`), []byte(`"Delete":true`), 1), pullRequest()},
		{"field name in another case", edit(func(r *SyncResponse) { r.Changes[0].Fields["Name"] = raw(`"Autre"`) }), pullRequest()},
		{"field twice", bytes.Replace(good, []byte(`"name":`), []byte(`"name":"A","name":`), 1), pullRequest()},
		{"version from the future", edit(func(r *SyncResponse) {
			r.Changes[0].Versions["name"] = FieldVersion{HLC: 7, Seq: 43, Device: clientID}
		}), pullRequest()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeResponse(tc.body, tc.req)
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("DecodeResponse: %v, want ErrBadResponse", err)
			}
		})
	}
}
