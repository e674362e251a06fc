package central_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// countingBackend counts the record reads of Update transactions, over a
// real backend.
type countingBackend struct {
	central.Backend
	reads, batches int
}

func (b *countingBackend) Update(ctx context.Context, fn func(central.Tx) error) error {
	return b.Backend.Update(ctx, func(tx central.Tx) error { return fn(&countingTx{Tx: tx, b: b}) })
}

type countingTx struct {
	central.Tx
	b *countingBackend
}

func (t *countingTx) Record(kind domain.Kind, id string) (central.Record, error) {
	t.b.reads++
	return t.Tx.Record(kind, id)
}

func (t *countingTx) RecordsByID(kind domain.Kind, ids []string) ([]central.Record, error) {
	t.b.batches++
	return t.Tx.RecordsByID(kind, ids)
}

// An import, and a push, read the records they name, and their members,
// in one call per kind, not one per record: on PostgreSQL each call is a
// round trip.
func TestPushReadsRecordsInOneGo(t *testing.T) {
	bb, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bb.Close() })
	b := &countingBackend{Backend: bb}
	ctx := context.Background()
	srv, err := central.New(ctx, b, central.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Argon2: central.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	coord, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: "Ana Tremblay", Email: "ana@example.org",
		Regions: []string{"09"}, Password: []byte(aheadPassword)})
	if err != nil {
		t.Fatal(err)
	}
	var members []domain.Member
	for i := range 5 {
		members = append(members, domain.Member{ID: domain.NewID(), Name: fmt.Sprintf("Coopérative %02d", i),
			LegalForm: domain.WorkerCoop, Region: "09", Municipality: "Sept-Îles", Status: domain.MemberActive})
	}
	b.reads = 0
	if err := srv.Import(ctx, members, nil, nil); err != nil {
		t.Fatal(err)
	}
	if b.reads != 0 {
		t.Errorf("the import read %d records one by one", b.reads)
	}
	w := &aheadWorld{t: t, srv: srv, web: httptest.NewServer(srv.Handler())}
	t.Cleanup(w.web.Close)
	id := domain.NewID()
	var session protocol.SessionResponse
	if err := json.Unmarshal(w.post("/v1/session", "", protocol.SessionRequest{Email: "ana@example.org",
		Password: aheadPassword, ClientID: id}), &session); err != nil {
		t.Fatal(err)
	}

	var muts []protocol.Mutation
	clock := hlc.New(time.Now().UnixMilli(), 0)
	add := func(kind domain.Kind, recID string, v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		clock++
		muts = append(muts, protocol.Mutation{Seq: uint64(len(muts) + 1), Kind: kind, ID: recID, Fields: fields, HLC: clock})
	}
	var visits []string
	for i := range 40 {
		v := domain.Visit{ID: domain.NewID(), MemberID: members[i%len(members)].ID, CoordinatorID: coord.ID,
			Date: domain.DateOf(time.Now()), DurationMinutes: 60, Mode: domain.OnSite, Notes: "Rencontre"}
		visits = append(visits, v.ID)
		add(domain.KindVisit, v.ID, v)
	}
	stray := domain.Visit{ID: domain.NewID(), MemberID: domain.NewID(), CoordinatorID: coord.ID,
		Date: domain.DateOf(time.Now()), DurationMinutes: 30, Mode: domain.Phone, Notes: "Appel"}
	add(domain.KindVisit, stray.ID, stray)

	b.reads, b.batches = 0, 0
	req := protocol.SyncRequest{ClientID: id, SchemaVersion: protocol.SchemaVersion, Mutations: muts}
	resp, err := protocol.DecodeResponse(w.post("/v1/sync", session.Token, req), req)
	if err != nil {
		t.Fatal(err)
	}
	if b.reads != 0 || b.batches != 2 {
		t.Errorf("the push read records %d times one by one and %d times in batches; want 0 and 2 (visits, members)",
			b.reads, b.batches)
	}
	if len(resp.Rejected) != 1 || resp.Rejected[0].ID != stray.ID || resp.Rejected[0].Code != protocol.RejectUnknownMember {
		t.Errorf("rejected = %+v, want only the visit of an unknown member", resp.Rejected)
	}
	err = bb.View(ctx, func(tx central.ReadTx) error {
		got, err := tx.RecordsByID(domain.KindVisit, visits)
		if err != nil {
			return err
		}
		if len(got) != len(visits) {
			t.Errorf("%d of %d visits stored", len(got), len(visits))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
