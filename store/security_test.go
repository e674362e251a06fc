package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"leconsortium.coop/terrain/domain"
)

// TestNoPlaintextOnDisk saves distinctive personal text (names, e-mail
// addresses, a phone number, notes) and a real device token, then looks for
// it in every file of the profile: while open, with an encrypted backup
// written into the profile's directory, after Close, and after compactions
// and value-log garbage collection have rewritten the files. key.json is
// scanned like the rest.
//
// The control half proves the scan looks for what is really stored: the
// same text is present, as saved, in the unencrypted stream Badger
// produces, and the scan finds it in that stream written to a file.
func TestNoPlaintextOnDisk(t *testing.T) {
	s, dir, c := newStore(t)
	token := realToken(t)
	secrets := map[string]string{
		"member name":           "Zygomatique Coopérative Kapuskasing",
		"member e-mail":         "zygomatique.direction@coop-kapuskasing.org",
		"contact e-mail":        "ornella.quetzalcoatl@coop-kapuskasing.org",
		"contact name":          "Ornella Quetzalcoatl",
		"phone":                 "819 555-0187",
		"member note":           "Ornithorynque — note interne",
		"visit note":            "Xylophage confidentiel",
		"follow-up description": "Wakefield-Brébeuf échéancier",
		"coordinator e-mail":    "lea.tremblay-zanzibar@consortium.example",
		"device token":          token,
		"passphrase":            string(pass),
	}
	m := newMember(secrets["member name"], "Kapuskasing", "07", domain.SolidarityCoop)
	m.Email = secrets["member e-mail"]
	m.ContactEmail = secrets["contact e-mail"]
	m.ContactName = secrets["contact name"]
	m.Phone = secrets["phone"]
	m.Notes = secrets["member note"]
	mustSaveMember(t, s, m)
	v := newVisit(m.ID, c.Today())
	v.Notes = secrets["visit note"]
	v.Needs = strings.Repeat(secrets["visit note"]+" ", 300) // over 4 KiB: goes to the value log
	mustSaveVisit(t, s, v)
	f := newFollowUp(m.ID, "legal", c.Today().AddDays(3))
	f.Description = secrets["follow-up description"]
	mustSaveFollowUp(t, s, f)
	me := domain.Coordinator{ID: domain.NewID(), Name: "Léa Tremblay", Email: secrets["coordinator e-mail"], Regions: []string{"07"}}
	if err := s.SaveSession(Session{Server: "https://central.example.org", Token: token}, me); err != nil {
		t.Fatal(err)
	}
	// Also as Import writes them (the first sync's members).
	m2 := newMember(secrets["member name"]+" bis", "Kapuskasing", "07", domain.WorkerCoop)
	m2.Email = secrets["member e-mail"]
	if err := s.Import([]domain.Member{m2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.Session(); err != nil || sess.Token != token {
		t.Fatalf("session = %+v, %v: the token is not stored as the engine stores it", sess, err)
	}

	// Control: Badger's own (unencrypted) stream holds each text as saved,
	// and the scan finds it there.
	var plain bytes.Buffer
	if _, err := s.db.Backup(&plain, 0); err != nil {
		t.Fatal(err)
	}
	for what, sec := range secrets {
		if what != "passphrase" && !bytes.Contains(plain.Bytes(), []byte(sec)) {
			t.Errorf("control: the %s %q is not in the database as saved; the scan would look for the wrong text", what, sec)
		}
	}
	control := t.TempDir()
	if err := os.WriteFile(filepath.Join(control, "plain.stream"), plain.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if found, _ := scanForSecrets(t, control, secrets); len(found) != len(secrets)-1 {
		t.Errorf("control: in the unencrypted stream the scan found only %q", found)
	}

	assertNoSecrets(t, dir, secrets, "while open")

	// A backup kept beside the profile is scanned with it.
	bf, err := os.Create(filepath.Join(dir, "sauvegarde.terrain"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(bf); err != nil {
		t.Fatal(err)
	}
	if err := bf.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, dir, secrets, "after backup")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, dir, secrets, "after Close")

	// Each close flushes the memtable into a new level-0 table and each
	// open starts a new value-log file. Overwritten long values and a
	// trimmed outbox leave garbage, so that compaction (Flatten) moves the
	// tables down and value-log GC has old files to rewrite.
	for i := range 4 {
		s = openTestStore(t, dir, c)
		v.Needs = strings.Repeat(secrets["visit note"]+" ", 300+i)
		mustSaveVisit(t, s, v)
		if err := s.TrimOutbox(uint64(100)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s = openTestStore(t, dir, c)
	if err := s.db.Flatten(1); err != nil {
		t.Fatalf("flatten: %v", err)
	}
	compacted := false
	for _, l := range s.db.Levels() {
		compacted = compacted || l.Level > 0 && l.NumTables > 0
	}
	if !compacted {
		t.Errorf("no table below level 0 after Flatten: the scan below would not see compacted tables (%+v)", s.db.Levels())
	}
	logs := func() []string {
		l, err := filepath.Glob(filepath.Join(dir, dbDirName, "*.vlog"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	before := logs()
	s.collectGarbage()
	if after := logs(); len(after) >= len(before) {
		t.Errorf("value-log GC rewrote nothing (%d files before, %d after): the scan below would not see rewritten logs", len(before), len(after))
	}
	assertNoSecrets(t, dir, secrets, "after compaction and value-log GC")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, dir, secrets, "after the last Close")
}

func openTestStore(t *testing.T, dir string, c *testClock) *Store {
	t.Helper()
	s, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// realToken is a token as the central service issues them: 32 random bytes,
// base64url.
func realToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// assertNoSecrets fails the test for every secret (or word of one) found in
// a file of the profile in dir, and unless key.json and the database's value
// log were among the files scanned.
func assertNoSecrets(t *testing.T, dir string, secrets map[string]string, when string) {
	t.Helper()
	hits, files := scanForSecrets(t, dir, secrets)
	for _, hit := range hits {
		t.Errorf("%s: %s", when, hit)
	}
	if !files[keyFileName] || !files[".vlog"] || !files[".sst"] && !files[".mem"] {
		t.Fatalf("%s: the scan of %s missed key.json or the database (%v)", when, dir, files)
	}
}

// scanForSecrets returns "file contains what word" for each hit, and the
// names and extensions of the files read. Every word of a secret of eight
// bytes or more is looked for on its own, without regard to case (a field
// may be split across blocks, or kept folded in an index).
func scanForSecrets(t *testing.T, dir string, secrets map[string]string) (hits []string, files map[string]bool) {
	t.Helper()
	files = map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[d.Name()], files[filepath.Ext(path)] = true, true
		lower := bytes.ToLower(b)
		for what, sec := range secrets {
			words := strings.FieldsFunc(sec, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' })
			for _, w := range append([]string{sec}, words...) {
				if len(w) >= 8 && bytes.Contains(lower, bytes.ToLower([]byte(w))) {
					hits = append(hits, fmt.Sprintf("%s contains the %s (%q)", filepath.Base(path), what, w))
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits, files
}
