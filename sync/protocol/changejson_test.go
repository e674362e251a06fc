package protocol

import (
	"encoding/json"
	"reflect"
	"testing"

	"leconsortium.coop/terrain/hlc"
)

// AppendJSON writes what json.Marshal writes, up to the spacing of field
// values: the same JSON value, on awkward text too.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	v := FieldVersion{HLC: hlc.Timestamp(1<<63 + 5), Seq: 1<<64 - 1, Device: "0190f1f2-0000-7000-8000-00000000000d"}
	changes := []Change{
		{},
		{Seq: 1, Kind: "member", ID: "0190f1f2-0000-7000-8000-000000000001",
			Fields: map[string]json.RawMessage{"name": json.RawMessage(`"Coopérative <b> & \"Cie\" \u2028"`),
				"employees": json.RawMessage(`12`), "address": json.RawMessage(`{"city":"Gaspé", "zip": null}`),
				"services": json.RawMessage(`[ "hr" ,"legal"]`), "empty": nil},
			Versions: map[string]FieldVersion{"id": {}, "name": v}, Version: &v, Own: 42},
		{Seq: 2, Kind: "visit", ID: `quo"te\back<>&é` + "\x01\u2028\xff", Delete: true, Erased: true},
		{Seq: 3, Kind: "follow_up", ID: "f", Removed: true, Fields: map[string]json.RawMessage{}, Versions: map[string]FieldVersion{}},
		{Seq: 4, Kind: "member", ID: "m", Fields: map[string]json.RawMessage{"é<key>": json.RawMessage(`true`)},
			Versions: map[string]FieldVersion{"é<key>": {HLC: 1, Seq: 2, Device: "d\"1"}}},
	}
	for i, c := range changes {
		got := c.AppendJSON(nil)
		if !json.Valid(got) {
			t.Fatalf("change %d: invalid JSON %s", i, got)
		}
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("change %d:\nAppendJSON   %s\njson.Marshal %s", i, got, want)
		}
	}
}
