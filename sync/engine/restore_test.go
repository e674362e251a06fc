package engine_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
)

// backup copies the server's data as it stands.
func (w *world) backup() []byte {
	w.t.Helper()
	var b bytes.Buffer
	if err := w.backend.Backup(&b); err != nil {
		w.t.Fatal(err)
	}
	return b.Bytes()
}

// restoreBackup replaces the server's data by an older copy, in a new
// directory, and rotates the epoch as docs/reliability.md tells operators
// to: everything written since the backup is gone from the server.
func (w *world) restoreBackup(data []byte) {
	w.t.Helper()
	b, err := badgerdb.Open(w.t.TempDir(), badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { b.Close() })
	if err := b.Load(bytes.NewReader(data)); err != nil {
		w.t.Fatal(err)
	}
	srv, err := central.New(w.ctx, b, w.opt)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := srv.RotateEpoch(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	old := w.backend
	w.backend, w.srv, w.h = b, srv, srv.Handler()
	w.mu.Unlock()
	if err := old.Close(); err != nil {
		w.t.Fatal(err)
	}
}

// TestRestoreFromOlderBackupLosesNothing: the server is restored from a
// backup older than what two devices pushed and pulled since; once they
// have synced, everything they had pushed after the backup is on the server
// again (visits, member and follow-up edits, a follow-up delete), a value
// knowingly replaced on another device stays replaced, and no conflict is
// made up.
func TestRestoreFromOlderBackupLosesNothing(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	w.coordinator("bob@example.org", "09")
	ms := []domain.Member{member("Coop A", "09"), member("Coop B", "09"), member("Coop C", "09")}
	w.members(ms)
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{})
	bob := newDevice(t, w.web.URL, "bob@example.org", deviceOptions{})
	ana.sync()
	services := domain.DefaultServices()
	f0 := domain.FollowUp{ID: domain.NewID(), MemberID: ms[0].ID, ServiceID: services[0].ID,
		Description: "avant la sauvegarde", Due: domain.DateOf(time.Now()), Status: domain.FollowUpOpen}
	f1 := f0
	f1.ID, f1.Description = domain.NewID(), "à reprendre"
	for _, f := range []domain.FollowUp{f0, f1} {
		if err := ana.st.SaveFollowUp(f); err != nil {
			t.Fatal(err)
		}
	}
	ana.sync()
	bob.sync()
	old := w.backup()

	// After the backup: ana records, edits and deletes; bob replaces one
	// of ana's values having seen it, and edits on his own.
	v := ana.visit(ms[0].ID, "après la sauvegarde")
	ana.edit(ms[0].ID, func(m *domain.Member) { m.Notes = "notes d'ana" })
	ana.edit(ms[2].ID, func(m *domain.Member) { m.ContactName = "Aline" })
	if err := ana.st.DeleteFollowUp(f0.ID); err != nil {
		t.Fatal(err)
	}
	f1.Description = "reprise par ana"
	if err := ana.st.SaveFollowUp(f1); err != nil {
		t.Fatal(err)
	}
	ana.sync()
	ana.sync()
	bob.sync()
	bob.edit(ms[1].ID, func(m *domain.Member) { m.Phone = "418 555-0199" })
	bob.edit(ms[2].ID, func(m *domain.Member) { m.ContactName = "Bruno" }) // replaces Aline, seen
	bob.sync()

	w.restoreBackup(old)
	for _, d := range []*device{ana, bob, ana, bob} {
		d.sync()
	}

	want := w.serverSnapshot("09")
	if _, ok := want["visit/"+v.ID]; !ok {
		t.Errorf("the visit recorded after the backup is not on the server")
	}
	got := map[string]string{}
	if err := w.srv.ExportMembers(w.ctx, func(m domain.Member) error {
		got[m.ID] = m.Notes + "|" + m.Phone + "|" + m.ContactName
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for id, line := range map[string]string{ms[0].ID: "notes d'ana|418 555-0142|", ms[1].ID: "|418 555-0199|",
		ms[2].ID: "|418 555-0142|Bruno"} {
		if got[id] != line {
			t.Errorf("member %s on the server = %q, want %q", id, got[id], line)
		}
	}
	fs := map[string]string{}
	if err := w.srv.ExportFollowUps(w.ctx, func(f domain.FollowUp) error { fs[f.ID] = f.Description; return nil }); err != nil {
		t.Fatal(err)
	}
	if d, ok := fs[f0.ID]; ok {
		t.Errorf("the follow-up deleted after the backup is back on the server (%q)", d)
	}
	if fs[f1.ID] != "reprise par ana" {
		t.Errorf("follow-up description on the server = %q, want ana's edit", fs[f1.ID])
	}
	if cs := w.serverConflicts(); len(cs) > 0 {
		t.Errorf("the restore made %d conflicts, want none: %+v", len(cs), cs)
	}
	for name, d := range map[string]*device{"ana": ana, "bob": bob} {
		if diff := want.diff(d.snapshot()); len(diff) > 0 {
			t.Errorf("%s differs from the server:\n%s", name, strings.Join(diff, "\n"))
		}
		if n, err := d.st.PendingCount(); err != nil || n != 0 {
			t.Errorf("%s: %d changes still to send (%v)", name, n, err)
		}
	}
}
