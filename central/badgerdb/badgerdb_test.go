package badgerdb_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/central/contract"
	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T) central.Backend {
		db, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet(), GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1}); !errors.Is(err, badgerdb.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestClosedBackendRefuses(t *testing.T) {
	db, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.View(t.Context(), func(central.ReadTx) error { return nil }); !errors.Is(err, central.ErrClosed) {
		t.Errorf("View after Close: %v", err)
	}
	if err := db.Update(t.Context(), func(central.Tx) error { return nil }); !errors.Is(err, central.ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestFederationFitsOneTransaction: an all-or-nothing import of a
// federation's 20,000 members writes them in one transaction, which must fit
// within Badger's per-transaction limit.
func TestFederationFitsOneTransaction(t *testing.T) {
	db, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	members := demo.New(1, demo.Large(), domain.DateOf(time.Now())).Members()
	err = db.Update(t.Context(), func(tx central.Tx) error {
		for _, m := range members {
			seq, err := tx.NextSeq()
			if err != nil {
				return err
			}
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(b, &fields); err != nil {
				return err
			}
			versions := map[string]protocol.FieldVersion{}
			for name := range fields {
				versions[name] = protocol.FieldVersion{HLC: hlc.New(time.Now().UnixMilli(), 0), Seq: seq, Device: protocol.CentralDevice}
			}
			r := central.Record{Kind: domain.KindMember, ID: m.ID, Region: m.Region, Seq: seq, Fields: fields, Versions: versions}
			if err := tx.PutRecord(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("one transaction of %d members: %v", len(members), err)
	}
	err = db.View(t.Context(), func(tx central.ReadTx) error {
		n, err := tx.CountChanges(central.FeedQuery{Through: uint64(len(members)), Regions: regions()})
		if err == nil && n != len(members) {
			t.Errorf("%d members in the feed, want %d", n, len(members))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func regions() []string {
	var out []string
	for _, r := range domain.Regions() {
		out = append(out, r.Code)
	}
	return out
}

// TestCorruptChildKey: a child index entry that cannot be parsed is reported
// with its key, read and written transactions alike.
func TestCorruptChildKey(t *testing.T) {
	dir := t.TempDir()
	memberID := domain.NewID()
	corrupt := "c/" + memberID + "/no-kind-separator"
	raw, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(txn *badger.Txn) error { return txn.Set([]byte(corrupt), nil) })
	if cerr := raw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := fmt.Sprintf("corrupt child key %q", corrupt)
	if err := db.View(t.Context(), func(tx central.ReadTx) error {
		_, err := tx.Children(memberID)
		return err
	}); err == nil || err.Error() != want {
		t.Errorf("Children in a View: %v, want %s", err, want)
	}
	if err := db.Update(t.Context(), func(tx central.Tx) error {
		_, err := tx.Children(memberID)
		return err
	}); err == nil || err.Error() != want {
		t.Errorf("Children in an Update: %v, want %s", err, want)
	}
}
