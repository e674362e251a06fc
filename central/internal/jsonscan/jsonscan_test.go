package jsonscan

import (
	"encoding/json"
	"reflect"
	"testing"

	"leconsortium.coop/terrain/sync/protocol"
)

var fieldInputs = []string{
	`{}`, `null`, ` { } `, `{"a":1}`, `{"id":"x","name":"Coopérative de l'Île <b> & \"Cie\"","n":-1.5e3}`,
	`{"a":{"b":[1,{"c":"}]"}],"d":null},"e":[],"f":true,"g":false,"h":null}`,
	`{ "a" : "x" , "b" : [ 1 , 2 ] }`, "{\"a\":\"\\u2028\\\\\",\"b\":\"\\\"\"}", `{"a":1,"a":2}`,
	`{"\u00e9":1}`, `{"é":1}`, "{\"a\xff\":1}", "{\"a\":\"\xff\"}", `[]`, `"x"`, `1`, `{"a":}`, `{"a":1,}`, ``,
	`{"a":"\ud800"}`, `{"":0}`, `{"a":[[[[]]]],"b":{"c":{"d":{}}}}`, `{"a":0.0,"b":-0,"c":1E5}`,
}

var versionInputs = []string{
	`{}`, `null`, `{"name":{"hlc":123,"seq":4,"device":"d1"}}`,
	`{"name":{"hlc":123,"seq":4,"device":"d1"},"city":{"device":"central","seq":18446744073709551615,"hlc":0}}`,
	`{"a":{"hlc":1.5,"seq":1,"device":"d"}}`, `{"a":{"hlc":-1,"seq":1,"device":"d"}}`, `{"a":{"hlc":1e3,"seq":1,"device":"d"}}`,
	`{"a":{"HLC":1,"seq":1,"device":"d"}}`, `{"a":{"hlc":1,"seq":1,"device":"d","x":2}}`, `{"a":null}`,
	`{"a":{"hlc":18446744073709551616,"seq":1,"device":"d"}}`, `{"a":{"hlc":1,"seq":1,"device":"d\u00e9"}}`,
	`{"a":{"hlc":1,"device":null}}`, `{"a":{}}`, `{"a":[]}`, `{"a":{"hlc":"1"}}`, `{ "a" : { "hlc" : 1 , "seq" : 2 } }`,
}

func sameResult[T any](t *testing.T, in string, got T, gotErr error) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal([]byte(in), &want)
	if (gotErr != nil) != (wantErr != nil) {
		t.Errorf("%q: error %v, encoding/json %v", in, gotErr, wantErr)
		return
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("%q: got %#v, encoding/json %#v", in, got, want)
	}
}

// Fields and Versions give what json.Unmarshal gives, on the shapes the
// server writes and on everything else.
func TestMatchesEncodingJSON(t *testing.T) {
	for _, in := range append(fieldInputs, versionInputs...) {
		m, err := Fields([]byte(in))
		sameResult(t, in, m, err)
		v, err := Versions([]byte(in))
		sameResult(t, in, v, err)
		if json.Valid([]byte(in)) {
			m, err := ValidFields([]byte(in))
			sameResult(t, in, m, err)
			v, err := ValidVersions([]byte(in))
			sameResult(t, in, v, err)
		}
	}
}

// The fast path is taken for what the server writes: a decoder that
// always fell back would pass the test above and save nothing.
func TestFastPathTaken(t *testing.T) {
	fields := `{"id":"x","name":"Coopérative \"Cie\"","services":["hr","legal"],"employees":12,"address":{"city":"Gaspé"}}`
	s := New([]byte(fields))
	if m, ok := s.Fields(); !ok || !s.End() || len(m) != 5 || string(m["address"]) != `{"city":"Gaspé"}` {
		t.Errorf("fields of a record: %v, ok %v", m, ok)
	}
	b, err := json.Marshal(map[string]protocol.FieldVersion{"name": {HLC: 1 << 50, Seq: 9, Device: "d1"}})
	if err != nil {
		t.Fatal(err)
	}
	s = New(b)
	if v, ok := s.Versions(); !ok || !s.End() || v["name"] != (protocol.FieldVersion{HLC: 1 << 50, Seq: 9, Device: "d1"}) {
		t.Errorf("versions as json.Marshal writes them: %v, ok %v", v, ok)
	}
}

func FuzzDecode(f *testing.F) {
	for _, in := range append(fieldInputs, versionInputs...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := string(b)
		m, err := Fields(b)
		sameResult(t, in, m, err)
		v, err := Versions(b)
		sameResult(t, in, v, err)
		if json.Valid(b) {
			m, err := ValidFields(b)
			sameResult(t, in, m, err)
			v, err := ValidVersions(b)
			sameResult(t, in, v, err)
		}
	})
}
