package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestCreateOpenClose(t *testing.T) {
	s, dir, c := newStore(t)
	if err := domain.CheckID(s.DeviceID()); err != nil {
		t.Fatalf("DeviceID %q: %v", s.DeviceID(), err)
	}
	if s.SchemaVersion() != latestSchema() {
		t.Fatalf("SchemaVersion = %d, want %d", s.SchemaVersion(), latestSchema())
	}
	services, err := s.Services()
	if err != nil || len(services) != len(domain.DefaultServices()) {
		t.Fatalf("Services = %v, %v; want the default catalog", services, err)
	}
	if !Exists(dir) {
		t.Fatal("Exists = false after Create")
	}
	m := mustSaveMember(t, s, newMember("Coopérative de solidarité du Fjord", "Tadoussac", "09", domain.SolidarityCoop))
	device := s.DeviceID()

	s2 := reopen(t, s, dir, c)
	if s2.DeviceID() != device {
		t.Fatalf("DeviceID after reopen = %s, want %s", s2.DeviceID(), device)
	}
	got, err := s2.Member(m.ID)
	if err != nil || got.Name != m.Name {
		t.Fatalf("Member after reopen = %+v, %v", got, err)
	}
	if n := s2.CountMembers(); n != 1 {
		t.Fatalf("CountMembers after reopen = %d, want 1", n)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestClosedStoreRefusesEverything(t *testing.T) {
	s, _, _ := newStore(t)
	m := mustSaveMember(t, s, newMember("Mutuelle de l'Estuaire", "Rimouski", "01", domain.Mutual))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]error{
		"SaveMember": s.SaveMember(m),
		"SaveVisit":  s.SaveVisit(newVisit(m.ID, domain.NewDate(2025, 1, 1))),
		"Member":     func() error { _, err := s.Member(m.ID); return err }(),
		"Search":     func() error { _, err := s.SearchMembers(MemberQuery{}); return err }(),
		"Outbox":     func() error { _, err := s.Outbox(0, 0); return err }(),
		"Trim":       s.TrimOutbox(1),
		"Import":     s.Import([]domain.Member{m}, nil, nil),
		"Backup":     s.Backup(&bytes.Buffer{}),
		"Passphrase": s.ChangePassphrase(pass, []byte("x")),
		"Setting":    s.SetSetting("lang", "fr"),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if n := s.CountMembers(); n != 0 {
		t.Errorf("CountMembers after Close = %d, want 0", n)
	}
}

func TestCreateAndOpenErrors(t *testing.T) {
	s, dir, c := newStore(t)
	if _, err := Create(dir, pass, testOptions(t, c)); !errors.Is(err, ErrProfileExists) {
		t.Fatalf("Create on a profile = %v, want ErrProfileExists", err)
	}
	s.Close()

	empty := t.TempDir()
	if _, err := Open(empty, pass, testOptions(t, c)); !errors.Is(err, ErrNoProfile) {
		t.Fatalf("Open on an empty dir = %v, want ErrNoProfile", err)
	}
	if Exists(empty) {
		t.Fatal("Exists on an empty dir")
	}

	// Data without a key: Create must not mix a new key with it.
	orphan := t.TempDir()
	if err := os.MkdirAll(filepath.Join(orphan, dbDirName), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphan, dbDirName, "MANIFEST"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(orphan, pass, testOptions(t, c)); !errors.Is(err, ErrProfileExists) {
		t.Fatalf("Create over orphan data = %v, want ErrProfileExists", err)
	}

	// A damaged key file is an error, not a panic nor "wrong passphrase".
	if err := os.WriteFile(filepath.Join(dir, keyFileName), []byte(`{"version":1,"kdf":"argon2id"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, pass, testOptions(t, c))
	if err == nil || errors.Is(err, ErrWrongPassphrase) || !errors.Is(err, errBadKeyFile) {
		t.Fatalf("Open with a damaged key file = %v, want errBadKeyFile", err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	s, dir, c := newStore(t)
	s.Close()
	_, err := Open(dir, []byte("wrong"), testOptions(t, c))
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Open with a wrong passphrase = %v, want ErrWrongPassphrase", err)
	}
	s2, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Open with the right passphrase after a wrong one: %v", err)
	}
	s2.Close()
}

func TestChangePassphrase(t *testing.T) {
	s, dir, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coopérative forestière de Ferland", "Ferland-et-Boilleau", "02", domain.WorkerCoop))
	before, err := os.ReadFile(filepath.Join(dir, keyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassphrase([]byte("not it"), []byte("new")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("ChangePassphrase with a wrong old one = %v, want ErrWrongPassphrase", err)
	}
	newPass := []byte("Nouvelle phrase de passe, 2025!")
	if err := s.ChangePassphrase(pass, newPass); err != nil {
		t.Fatalf("ChangePassphrase: %v", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, keyFileName))
	if err != nil {
		t.Fatal(err)
	}
	var kb, ka keyFile
	if err := json.Unmarshal(before, &kb); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(after, &ka); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(kb.Salt, ka.Salt) || bytes.Equal(kb.Wrapped, ka.Wrapped) {
		t.Fatal("key file not re-sealed with a fresh salt")
	}
	s.Close()
	if _, err := Open(dir, pass, testOptions(t, c)); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Open with the old passphrase = %v, want ErrWrongPassphrase", err)
	}
	s2, err := Open(dir, newPass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Open with the new passphrase: %v", err)
	}
	defer s2.Close()
	if got, err := s2.Member(m.ID); err != nil || got.Name != m.Name {
		t.Fatalf("data after passphrase change = %+v, %v", got, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

// TestProductionKeyFile runs the real Argon2id costs once and checks they
// are what key.json records.
func TestProductionKeyFile(t *testing.T) {
	if testing.Short() {
		t.Skip("real Argon2id costs take a second")
	}
	dir := t.TempDir()
	c := newClock()
	s, err := create(dir, pass, testOptions(t, c), productionKDF)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(filepath.Join(dir, keyFileName))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"version": 1.0, "kdf": "argon2id", "time": 3.0, "memory_kib": 65536.0, "threads": 4.0}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("key.json %s = %v, want %v", k, raw[k], v)
		}
	}
	for _, k := range []string{"salt", "nonce", "wrapped"} {
		if _, ok := raw[k].(string); !ok {
			t.Errorf("key.json %s missing", k)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, keyFileName)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key.json mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	s2, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Open with production costs: %v", err)
	}
	s2.Close()
}

func TestSecondOpenInProcess(t *testing.T) {
	s, dir, c := newStore(t)
	_, err := Open(dir, pass, testOptions(t, c))
	if !errors.Is(err, ErrAlreadyOpen) {
		t.Fatalf("second Open = %v, want ErrAlreadyOpen", err)
	}
	// The first store is unharmed.
	mustSaveMember(t, s, newMember("Coop des Îles", "Cap-aux-Meules", "11", domain.ConsumerCoop))
	s2 := reopen(t, s, dir, c)
	if s2.CountMembers() != 1 {
		t.Fatal("member lost after a refused second open")
	}
}

func TestBadgerLogsGoToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{slog.New(slog.NewTextHandler(&buf, nil))}
	l.Infof("chatter %d\n", 1)
	l.Debugf("more chatter")
	l.Warningf("disk %s\n", "slow")
	l.Errorf("broken")
	out := buf.String()
	if strings.Contains(out, "chatter") {
		t.Errorf("info/debug reached the log: %s", out)
	}
	if !strings.Contains(out, `level=WARN msg="disk slow" component=badger`) ||
		!strings.Contains(out, "level=ERROR msg=broken component=badger") {
		t.Errorf("warnings/errors missing: %s", out)
	}
}

func TestGCLoopRunsAndStops(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	opt := testOptions(t, c)
	opt.GCInterval = time.Millisecond
	s, err := Create(dir, pass, opt)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.gcRuns.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("value-log GC never ran")
		}
		time.Sleep(time.Millisecond)
	}
	// Close waits for the loop to return before closing Badger; with the
	// race detector on, a loop still running would be reported here.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
