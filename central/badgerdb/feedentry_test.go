package badgerdb

import (
	"encoding/json"
	"reflect"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// The fast decoder of feed entries must read back exactly what encode
// wrote, and hand anything unusual to encoding/json.
func TestDecodeFeedEntry(t *testing.T) {
	for _, want := range []feedEntry{
		{Kind: domain.KindMember, ID: "0190f1f2-0000-7000-8000-000000000001", Region: "09"},
		{Kind: domain.KindVisit, ID: "0190f1f2-0000-7000-8000-000000000002", Region: "11", Exit: true},
		{Kind: "service", ID: "legal", Region: ""},
		{Kind: "odd", ID: `a","g":"10`, Region: `"quoted"`},
		{Kind: "odd", ID: `back\slash`, Region: "01", Exit: true},
		{Kind: "", ID: "", Region: ""},
	} {
		b, err := encode(want)
		if err != nil {
			t.Fatal(err)
		}
		var got feedEntry
		if err := decodeFeedEntry(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got != want {
			t.Errorf("%s: decoded %+v", b, got)
		}
	}
	for _, bad := range []string{`{"k":"member"`, `not json`, `{"k":"m","i":"x","g":"01","x":tru}`} {
		var e feedEntry
		if err := decodeFeedEntry([]byte(bad), &e); err == nil {
			t.Errorf("%s: decoded as %+v", bad, e)
		}
	}
}

// The fast decoder of stored records reads back exactly what encode wrote
// (and what encoding/json reads), on awkward values too.
func TestDecodeStoredRecord(t *testing.T) {
	v := protocol.FieldVersion{HLC: 1 << 52, Seq: 7, Device: "0190f1f2-0000-7000-8000-00000000000d"}
	for _, want := range []storedRecord{
		{Kind: domain.KindMember, ID: "0190f1f2-0000-7000-8000-000000000001", Region: "09", Seq: 3,
			Fields: map[string]json.RawMessage{"id": json.RawMessage(`"0190f1f2-0000-7000-8000-000000000001"`),
				"name": json.RawMessage(`"Coopérative de l'Île <b> & \"Cie\" \u2028"`), "employees": json.RawMessage(`12`),
				"services": json.RawMessage(`["hr","legal"]`), "address": json.RawMessage(`{"city":"Gaspé","zip":null}`)},
			Versions: map[string]protocol.FieldVersion{"name": v, "employees": {HLC: 1, Seq: 1, Device: "central"}}},
		{Kind: domain.KindVisit, ID: "v", Region: "11", Parent: "m", Seq: 1 << 62, Deleted: true,
			Fields: map[string]json.RawMessage{"notes": json.RawMessage(`"a\\b\"c"`)}},
		{Kind: domain.KindMember, ID: "erased", Region: "01", Seq: 9, Deleted: true},
		{Kind: "odd", ID: `quo"te`, Region: `back\slash`, Seq: 0, Fields: map[string]json.RawMessage{}},
	} {
		b, err := encode(want)
		if err != nil {
			t.Fatal(err)
		}
		var got, std storedRecord
		if err := decodeStoredRecord(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, std) {
			t.Errorf("%s:\ndecoded       %+v\nencoding/json %+v", b, got, std)
		}
	}
	for _, odd := range []string{
		`{"kind":"member","id":"x","region":"01","seq":1,"fields":{"a":1},"fields":{"b":2}}`,
		`{"kind":"member","id":"x","region":"01","seq":1,"versions":{"a":{"hlc":1}},"versions":{"b":{"seq":2}}}`,
	} {
		var got, std storedRecord
		if err := decodeStoredRecord([]byte(odd), &got); err != nil {
			t.Fatalf("%s: %v", odd, err)
		}
		if err := json.Unmarshal([]byte(odd), &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, std) {
			t.Errorf("%s:\ndecoded       %+v\nencoding/json %+v", odd, got, std)
		}
	}
	for _, bad := range []string{`{"kind":"member"`, `not json`, `{"kind":"m","seq":-1}`, `{"fields":[1]}`} {
		var r storedRecord
		if err := decodeStoredRecord([]byte(bad), &r); err == nil {
			t.Errorf("%s: decoded as %+v", bad, r)
		}
	}
}
