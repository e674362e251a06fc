package badgerdb_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/central/badgerdb"
)

// setRaw writes one key with Badger directly, as another program would.
func setRaw(t *testing.T, dir, key, value string) string {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var old string
	err = db.Update(func(txn *badger.Txn) error {
		if item, err := txn.Get([]byte(key)); err == nil {
			v, _ := item.ValueCopy(nil)
			old = string(v)
		}
		return txn.Set([]byte(key), []byte(value))
	})
	if err != nil {
		t.Fatal(err)
	}
	return old
}

// TestNewerFormatRefused: the data directory is stamped with its format
// version, and a program that knows an older format refuses to open it
// instead of misreading or damaging it.
func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if old := setRaw(t, dir, "v", "99"); old != "1" {
		t.Fatalf("stamped format = %q, want 1", old)
	}
	_, err = badgerdb.Open(dir, badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if !errors.Is(err, badgerdb.ErrNewerFormat) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("open of a newer format: %v, want ErrNewerFormat naming 99", err)
	}
}
