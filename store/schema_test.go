package store

import (
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// withMigrations swaps the migration list for one test.
func withMigrations(t *testing.T, list []migration) {
	orig := migrations
	migrations = list
	t.Cleanup(func() { migrations = orig })
}

func TestMigrations(t *testing.T) {
	s, dir, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coopérative de l'Abitibi", "Amos", "08", domain.WorkerCoop))
	if s.SchemaVersion() != 1 {
		t.Fatalf("new store at schema %d", s.SchemaVersion())
	}
	s.Close()

	// A future version adds a setting to every store; it must run once.
	runs := 0
	v2 := migration{to: 2, name: "test: default theme", apply: func(txn *badger.Txn) error {
		runs++
		return txn.Set([]byte(pSetting+"theme"), []byte("system"))
	}}
	withMigrations(t, append(append([]migration(nil), migrations...), v2))
	s, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if s.SchemaVersion() != 2 || runs != 1 {
		t.Fatalf("after upgrade: schema %d, %d runs", s.SchemaVersion(), runs)
	}
	if theme, ok, _ := s.Setting("theme"); !ok || theme != "system" {
		t.Fatalf("migration effect missing: %q %v", theme, ok)
	}
	if _, err := s.Member(m.ID); err != nil {
		t.Fatalf("data lost in migration: %v", err)
	}
	s = reopen(t, s, dir, c)
	if runs != 1 {
		t.Fatalf("migration ran again on reopen (%d runs)", runs)
	}
	s.Close()

	// The older app refuses data from the newer one.
	migrations = migrations[:1]
	if _, err := Open(dir, pass, testOptions(t, c)); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("old app on new data = %v, want ErrSchemaTooNew", err)
	}
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	s, dir, c := newStore(t)
	s.Close()
	boom := errors.New("disk on fire")
	withMigrations(t, append(append([]migration(nil), migrations...),
		migration{to: 2, name: "test: writes then fails", apply: func(txn *badger.Txn) error {
			return txn.Set([]byte(pSetting+"half"), []byte("done"))
		}},
		migration{to: 3, name: "test: fails", apply: func(*badger.Txn) error { return boom }},
	))
	if _, err := Open(dir, pass, testOptions(t, c)); !errors.Is(err, boom) {
		t.Fatalf("Open with a failing migration = %v", err)
	}
	migrations = migrations[:1]
	s, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Open after a failed migration: %v", err)
	}
	defer s.Close()
	if s.SchemaVersion() != 1 {
		t.Fatalf("schema %d after a failed migration", s.SchemaVersion())
	}
	if _, ok, _ := s.Setting("half"); ok {
		t.Fatal("a failed migration left half its work")
	}
}
