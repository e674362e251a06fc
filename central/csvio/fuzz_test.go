package csvio

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzReadMembers feeds the importer arbitrary files. It must never panic,
// must explain a refusal line by line, and what it accepts must validate and
// survive an export and a re-import unchanged. The seed corpus is in
// testdata/fuzz/FuzzReadMembers and runs with every go test.
func FuzzReadMembers(f *testing.F) {
	f.Add([]byte("nom;forme_juridique;région;municipalité\nCoop;mutual;09;Sept-Îles\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ReadMembers(bytes.NewReader(data), today)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Lines) == 0 {
				t.Fatalf("refusal without line numbers: %v", err)
			}
			for _, l := range ce.Lines {
				if l.Line < 1 || l.Message == "" {
					t.Fatalf("bad line error %+v", l)
				}
			}
			return
		}
		for _, m := range ms {
			if err := m.Validate(today); err != nil {
				t.Fatalf("accepted an invalid member: %v", err)
			}
		}
		var buf bytes.Buffer
		w, err := NewMemberWriter(&buf, "fr")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if err := w.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		back, err := ReadMembers(&buf, today)
		if err != nil {
			t.Fatalf("export of accepted members refused: %v", err)
		}
		if len(ms) > 0 && !reflect.DeepEqual(back, ms) {
			t.Fatalf("round trip changed the members:\n got %+v\nwant %+v", back, ms)
		}
	})
}
