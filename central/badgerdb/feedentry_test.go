package badgerdb

import (
	"testing"

	"leconsortium.coop/terrain/domain"
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
