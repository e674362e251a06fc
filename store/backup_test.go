package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
)

func TestBackupRestore(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coopérative de santé de Havre-Saint-Pierre", "Havre-Saint-Pierre", "09", domain.SolidarityCoop, "hr"))
	v := mustSaveVisit(t, s, newVisit(m.ID, c.Today()))
	f := mustSaveFollowUp(t, s, newFollowUp(m.ID, "hr", c.Today().AddDays(7)))
	if err := s.SetSetting("language", "fr"); err != nil {
		t.Fatal(err)
	}
	// The server acknowledged the member; the visit and follow-up are
	// still to send when the backup is taken.
	if err := s.TrimOutbox(1); err != nil {
		t.Fatal(err)
	}
	me := domain.Coordinator{ID: domain.NewID(), Name: "Léa Tremblay", Email: "lea@example.org", Regions: []string{"09"}}
	if err := s.SaveSession(Session{Server: "https://central.example.org", Token: "secret-device-token"}, me); err != nil {
		t.Fatal(err)
	}
	pending := outbox(t, s)
	var backup bytes.Buffer
	if err := s.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	// Later changes are not in the backup; the backup keeps the passphrase
	// of its day.
	later := mustSaveMember(t, s, newMember("Coop ajoutée après", "Sept-Îles", "09", domain.WorkerCoop))
	if err := s.ChangePassphrase(pass, []byte("plus tard")); err != nil {
		t.Fatal(err)
	}
	device := s.DeviceID()

	into := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(bytes.NewReader(backup.Bytes()), into, []byte("plus tard"), testOptions(t, c)); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Restore with today's passphrase = %v, want ErrWrongPassphrase", err)
	}
	if !emptyOrMissing(into) {
		t.Fatal("failed restore left files behind")
	}
	r, err := Restore(bytes.NewReader(backup.Bytes()), into, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	defer r.Close()
	// A restored profile is a new device: the server would otherwise skip
	// its new mutations as ones it had applied after the backup was made.
	if r.DeviceID() == device || domain.CheckID(r.DeviceID()) != nil {
		t.Errorf("restored device id %q, want a new id (old %s)", r.DeviceID(), device)
	}
	if sess, err := r.Session(); err != nil || sess.Token != "" || sess.Server != "https://central.example.org" {
		t.Errorf("restored session = %+v, %v; want the server kept and the token wiped", sess, err)
	}
	if got, err := r.Member(m.ID); err != nil || got.Name != m.Name {
		t.Errorf("restored member = %+v, %v", got, err)
	}
	if _, err := r.Member(later.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("member saved after the backup is in it: %v", err)
	}
	if hist, _ := r.VisitsOfMember(m.ID, 0); len(hist) != 1 || hist[0].ID != v.ID {
		t.Errorf("restored history = %v", hist)
	}
	if fus, _ := r.FollowUps(FollowUpFilter{MemberID: m.ID}); len(fus) != 1 || fus[0].ID != f.ID {
		t.Errorf("restored follow-ups = %v", fus)
	}
	if lang, _, _ := r.Setting("language"); lang != "fr" {
		t.Errorf("restored language = %q", lang)
	}
	got := outbox(t, r)
	if len(pending) != 2 || len(got) != 2 || !slices.EqualFunc(got, pending, func(a, b Mutation) bool { return a.ID == b.ID && a.Kind == b.Kind }) ||
		got[0].Seq != 1 || got[1].Seq != 2 {
		t.Errorf("restored outbox = %v, want %v renumbered from 1", got, pending)
	}
	next := mustSaveVisit(t, r, newVisit(m.ID, c.Today().AddDays(-1)))
	if all := outbox(t, r); len(all) != 3 || all[2].Seq != 3 || all[2].ID != next.ID {
		t.Errorf("after restore, a new save is numbered %v; want 3", all)
	}
	if res, _ := r.SearchMembers(MemberQuery{Text: "havre"}); len(res) != 1 || res[0].LastVisit != c.Today() {
		t.Errorf("restored index = %+v", res)
	}
	// New changes carry on the numbering.
	mustSaveVisit(t, r, newVisit(m.ID, c.Today().AddDays(-1)))
	if got := outbox(t, r); got[len(got)-1].Seq != 4 {
		t.Errorf("next seq after restore = %d", got[len(got)-1].Seq)
	}

	if _, err := Restore(bytes.NewReader(backup.Bytes()), into, pass, testOptions(t, c)); !errors.Is(err, ErrProfileExists) {
		t.Fatalf("Restore into a used dir = %v, want ErrProfileExists", err)
	}
}

func TestRestoreRejectsDamagedBackups(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coop de la Haute-Côte-Nord", "Les Escoumins", "09", domain.WorkerCoop))
	for range 20 {
		v := newVisit(m.ID, c.Today())
		v.Notes = strings.Repeat("Un compte rendu assez long pour remplir plusieurs blocs. ", 150)
		mustSaveVisit(t, s, v)
	}
	var backup bytes.Buffer
	if err := s.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	full := backup.Bytes()
	if len(full) < 2*chunkSize {
		t.Fatalf("backup of %d bytes: too small to cut between chunks", len(full))
	}
	flip := func(i int) []byte {
		b := bytes.Clone(full)
		b[i] ^= 0x40
		return b
	}
	damaged := map[string][]byte{
		"not a backup":        []byte("hello"),
		"empty":               nil,
		"truncated mid-chunk": full[:len(full)-100],
		"last chunk dropped":  full[:lastChunkStart(t, full)],
		"header altered":      flip(len(backupMagic) + 6),
		"byte flipped early":  flip(firstChunkStart(t, full) + 100),
		"byte flipped late":   flip(len(full) - 30),
		"trailing garbage":    append(bytes.Clone(full), 0, 1, 2),
	}
	for name, b := range damaged {
		dir := filepath.Join(t.TempDir(), "r")
		_, err := Restore(bytes.NewReader(b), dir, pass, testOptions(t, c))
		if !errors.Is(err, ErrBadBackup) {
			t.Errorf("%s: Restore = %v, want ErrBadBackup", name, err)
		}
		if !emptyOrMissing(dir) {
			t.Errorf("%s: files left in %s", name, dir)
		}
	}
}

func firstChunkStart(t *testing.T, b []byte) int {
	t.Helper()
	_, hb, err := readBackupHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return len(backupMagic) + 4 + len(hb)
}

// lastChunkStart walks the chunk framing to where the final chunk begins.
func lastChunkStart(t *testing.T, b []byte) int {
	t.Helper()
	off := firstChunkStart(t, b)
	for {
		final := b[off] == 1
		size := int(b[off+1])<<24 | int(b[off+2])<<16 | int(b[off+3])<<8 | int(b[off+4])
		if final {
			return off
		}
		off += 5 + size
	}
}
