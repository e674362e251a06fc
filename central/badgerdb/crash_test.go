package badgerdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
)

// TestOpenAfterCrashLeftEmptyLogs reproduces what a kill between Badger
// creating a memtable or value-log file and sizing it leaves: a zero-byte
// next file, which Badger refuses to open at first.
func TestOpenAfterCrashLeftEmptyLogs(t *testing.T) {
	for _, name := range []string{"%05d.mem", "%06d.vlog"} {
		t.Run(filepath.Ext(name), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(ctx, func(tx central.Tx) error { return tx.SetMeta("note", "avant la panne") })
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			empty := filepath.Join(dir, fmt.Sprintf(name, 999))
			if err := os.WriteFile(empty, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err = badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1})
			if err != nil {
				t.Fatalf("Open after a crash left %s empty: %v", filepath.Base(empty), err)
			}
			defer db.Close()
			var note string
			err = db.View(ctx, func(tx central.ReadTx) error {
				var err error
				note, err = tx.Meta("note")
				return err
			})
			if err != nil || note != "avant la panne" {
				t.Fatalf("meta after reopening: %q, %v", note, err)
			}
		})
	}
}
