package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// The status bar against the real sync engine and the real central
// service (its handler over the embedded backend, behind httptest): a
// first run that signs in, the first sync with its progress, a local
// change pushed, then the server gone.
func TestStatusBarWithRealEngine(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	backend, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	// Small pages, so that the first sync takes several and shows progress.
	srv, err := central.New(ctx, backend, central.Options{Logger: quiet, Argon2: central.TestArgon2, PageLimit: 40})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	const email, password = "coordo@example.org", "un mot de passe de test"
	if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: "Coordo Côte-Nord", Email: email,
		Regions: []string{"09"}, Password: []byte(password)}); err != nil {
		t.Fatal(err)
	}
	var members []domain.Member
	for i := range 300 {
		members = append(members, domain.Member{ID: domain.NewID(), Name: fmt.Sprintf("Coopérative du Golfe %03d", i),
			LegalForm: domain.WorkerCoop, Region: "09", Municipality: "Sept-Îles", Status: domain.MemberActive,
			MemberSince: domain.NewDate(2015, 3, 1)})
	}
	if err := srv.Import(ctx, members, nil, nil); err != nil {
		t.Fatal(err)
	}

	a := test.NewTempApp(t)
	w := a.NewWindow("")
	w.Resize(testSize)
	u := New(a, w, Config{
		Profile: filepath.Join(t.TempDir(), "profile"), Lang: "fr", Passphrase: testPassphrase,
		Server: web.URL, Email: email, Password: password,
		NewSyncer: func(st *store.Store) (Syncer, error) {
			return engine.New(st, engine.Options{Logger: quiet, PushDelay: 10 * time.Millisecond,
				Client: client.Config{Retries: -1, AttemptTimeout: 5 * time.Second}}), nil
		},
		SyncMessageID: engine.MessageID,
	})
	u.post = uiq.post
	t.Cleanup(func() { u.Close() })
	u.Start()

	// Run the posted UI work one function at a time, looking at the bar
	// after each: every state the engine published passes through it.
	sawProgress := false
	settle := func(done func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			for uiq.step() {
				if u.main != nil {
					s := u.main.status
					if s.progress.Visible() && s.progress.Max > 0 && s.progress.Value > 0 && s.progress.Value < s.progress.Max &&
						s.action.Disabled() && s.progressText() != "" {
						sawProgress = true
					}
				}
			}
			if u.main != nil && done() {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatal("the sync did not settle within 60 s")
	}
	s := func() *statusBar { return u.main.status }
	settle(func() bool {
		return len(u.members.rows) == 300 && !u.syncState.Syncing && !u.syncState.LastSuccess.IsZero()
	})
	if !sawProgress {
		t.Error("the first sync never showed its progress")
	}
	if s().online.Text != tr("fr", "status.online") || s().last.Text != tr("fr", "status.last_sync", map[string]any{"Ago": tr("fr", "ago.just_now")}) ||
		s().pending.Text != tr("fr", "status.pending_none") || s().errText.Visible() {
		t.Errorf("after the first sync: %q · %q · %q · %q", s().online.Text, s().pending.Text, s().last.Text, s().errText.Text)
	}

	// A change made here shows as pending, then goes.
	m, _ := u.st.Member(members[0].ID)
	m.Phone = "418 555-0142"
	if err := u.st.SaveMember(m); err != nil {
		t.Fatal(err)
	}
	u.main.localChange()
	if s().pending.Text != u.loc.N("status.pending", 1) {
		t.Errorf("pending after a save: %q", s().pending.Text)
	}
	test.Tap(s().action)
	settle(func() bool { return s().pending.Text == tr("fr", "status.pending_none") && !u.syncState.Syncing })

	// The server goes away: from here, that is being offline, said
	// calmly (issue 13), and never dressed as success.
	last := u.syncState.LastSuccess
	web.CloseClientConnections()
	web.Close()
	test.Tap(s().action)
	settle(func() bool { return u.syncState.LastError != nil && !u.syncState.Syncing })
	want := tr("fr", "status.offline_calm")
	if !s().errText.Visible() || s().errText.Text != want {
		t.Errorf("failure shown as %q, want %q", s().errText.Text, want)
	}
	if s().online.Text != tr("fr", "status.offline") {
		t.Errorf("after the failure: %q", s().online.Text)
	}
	if !u.syncState.LastSuccess.Equal(last) {
		t.Error("a failed sync moved the last success")
	}
}
