package csvio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// FuzzReadMembers feeds `terrain-central members import` arbitrary files:
// ReadMembers, then the server's Import into a real embedded backend. It
// must never panic; a refusal must name every faulty line (a line of the
// file, in order, with a message); what ReadMembers accepts must validate,
// be imported by the server without a rejection and stored exactly as
// read, and survive an export (French and English) and a re-import
// unchanged. The seed corpus is in testdata/fuzz/FuzzReadMembers and runs
// with every go test.
func FuzzReadMembers(f *testing.F) {
	f.Add([]byte("nom;forme_juridique;région;municipalité\nCoop;mutual;09;Sept-Îles\n"))
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// One server for the whole run: opening Badger for each input would
	// cost more than the input. Inputs that reuse an id update the member
	// an earlier input imported, which the import must handle too.
	db, err := badgerdb.Open(f.TempDir(), badgerdb.Options{Logger: quiet, GCInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	noon := time.Date(today.Year, today.Month, today.Day, 12, 0, 0, 0, time.UTC)
	srv, err := central.New(ctx, db, central.Options{Logger: quiet, Argon2: central.TestArgon2,
		Now: func() time.Time { return noon }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ReadMembers(bytes.NewReader(data), today)
		if err != nil {
			checkRefusal(t, data, err)
			return
		}
		for _, m := range ms {
			if err := m.Validate(today); err != nil {
				t.Fatalf("accepted an invalid member: %v", err)
			}
		}
		if err := srv.Import(ctx, ms, nil, nil); err != nil {
			t.Fatalf("the server refused what ReadMembers accepted: %v", err)
		}
		err = db.View(ctx, func(tx central.ReadTx) error {
			for _, m := range ms {
				rec, err := tx.Record(domain.KindMember, m.ID)
				if err != nil {
					return err
				}
				b, _ := json.Marshal(rec.Fields)
				var stored domain.Member
				if err := json.Unmarshal(b, &stored); err != nil {
					return err
				}
				if !reflect.DeepEqual(stored, m) {
					t.Fatalf("imported member stored as\n%+v\nnot\n%+v", stored, m)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		for _, lang := range []string{"fr", "en"} {
			var buf bytes.Buffer
			w, err := NewMemberWriter(&buf, NewNames(locales.New(lang)))
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
				t.Fatalf("%s export of accepted members refused: %v", lang, err)
			}
			if len(ms) > 0 && !reflect.DeepEqual(back, ms) {
				t.Fatalf("%s round trip changed the members:\n got %+v\nwant %+v", lang, back, ms)
			}
		}
	})
}

// checkRefusal: a refused file gets an *Error whose lines are lines of the
// file, in order, each with a message.
func checkRefusal(t *testing.T, data []byte, err error) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Lines) == 0 {
		t.Fatalf("refusal without line numbers: %v", err)
	}
	lines := 1 + bytes.Count(data, []byte("\n"))
	prev := 1
	for _, l := range ce.Lines {
		if l.Line < prev || l.Line > lines || l.Message == "" {
			t.Fatalf("bad line error %+v (after line %d, in a file of %d lines)", l, prev, lines)
		}
		prev = l.Line
	}
}
