package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

const (
	password   = "correct horse battery staple"
	passphrase = "une phrase de passe"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// centralServer is the real central service with Ana and three members of
// her region.
func centralServer(t *testing.T) (*central.Server, *httptest.Server) {
	t.Helper()
	b, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	srv, err := central.New(context.Background(), b, central.Options{Logger: quiet(), Argon2: central.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddCoordinator(context.Background(), central.NewCoordinator{Name: "Ana Tremblay",
		Email: "ana@example.org", Regions: []string{"09"}, Password: []byte(password)}); err != nil {
		t.Fatal(err)
	}
	var ms []domain.Member
	for _, name := range []string{"Coopérative du Fjord", "Mutuelle de Sept-Îles", "Coop Côte-Nord"} {
		ms = append(ms, domain.Member{ID: domain.NewID(), Name: name, LegalForm: domain.ConsumerCoop, Region: "09",
			Municipality: "Sept-Îles", Status: domain.MemberActive})
	}
	if err := srv.Import(context.Background(), ms, nil, nil); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	return srv, web
}

// run runs one command line in lang and returns its status and outputs.
func run(t *testing.T, lang, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string {
			return map[string]string{"TERRAIN_PASSPHRASE": passphrase, "TERRAIN_LANG": lang}[k]
		},
		DefaultProfile: func() string { t.Fatal("the default profile was used"); return "" },
		Store:          store.Options{Logger: quiet(), GCInterval: -1},
		Engine:         engine.Options{Client: client.Config{RetryWait: time.Millisecond, RetryMaxWait: 10 * time.Millisecond}},
	}
	code := Run(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	_, web := centralServer(t)
	dir := filepath.Join(t.TempDir(), "profil")
	p := "--profile=" + dir

	code, out, errOut := run(t, "fr", password+"\n", p, "signin", "--server", web.URL, "--email", "ana@example.org", "--password-stdin")
	if code != 0 || !strings.Contains(out, "Connecté en tant que Ana Tremblay (ana@example.org)") || !strings.Contains(out, "Nouveau profil") {
		t.Fatalf("signin: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "fr", "", "sync", p)
	if code != 0 || !strings.Contains(out, "Synchronisation terminée.") || !strings.Contains(out, "modifications reçues") {
		t.Fatalf("sync: %d\n%s\n%s", code, out, errOut)
	}

	// A visit recorded in the app is sent by the next sync.
	st, err := store.Open(dir, []byte(passphrase), store.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hits, _ := st.SearchMembers(store.MemberQuery{Text: "fjord"})
	me, _ := st.Me()
	v := domain.Visit{ID: domain.NewID(), MemberID: hits[0].ID, CoordinatorID: me.ID, Date: domain.DateOf(time.Now()),
		DurationMinutes: 30, Mode: domain.Phone, Notes: "Suivi « RH », ça va"}
	if err := st.SaveVisit(v); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = run(t, "en", "", p, "status")
	for _, want := range []string{"Server: online", "Members on this computer: 3", "Changes not yet sent: 1", "Account: Ana Tremblay"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "en", "", p, "sync")
	if code != 0 || !strings.Contains(out, "1 change sent") || !strings.Contains(out, "Changes not yet sent: 0") {
		t.Errorf("sync of a visit: %d\n%s", code, out)
	}

	csv := filepath.Join(t.TempDir(), "visites.csv")
	code, out, errOut = run(t, "fr", "", p, "export", "visits", "--out", csv)
	if code != 0 || !strings.Contains(out, "1 ligne écrite") {
		t.Fatalf("export: %d\n%s\n%s", code, out, errOut)
	}
	data, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.HasPrefix(text, "\ufeff") || !strings.Contains(text, "Suivi « RH », ça va") ||
		!strings.Contains(text, "Coopérative du Fjord") || !strings.Contains(text, "Ana Tremblay") {
		t.Errorf("visits CSV:\n%s", text)
	}
	code, out, _ = run(t, "en", "", p, "export", "members", "--out", csv)
	if code != 0 || !strings.Contains(out, "3 rows written") {
		t.Errorf("members export: %d\n%s", code, out)
	}

	// Signing out keeps the unsent changes, and says so.
	st, err = store.Open(dir, []byte(passphrase), store.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	v.Notes = "Modifiée hors ligne"
	if err := st.SaveVisit(v); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = run(t, "en", "", p, "signout")
	if code != 0 || !strings.Contains(out, "Signed out.") || !strings.Contains(out, "1 change not yet sent stays") {
		t.Errorf("signout: %d\n%s", code, out)
	}
	code, _, errOut = run(t, "en", "", p, "sync")
	if code != 1 || !strings.Contains(errOut, "You are not signed in") {
		t.Errorf("sync signed out: %d\n%s", code, errOut)
	}
	code, out, _ = run(t, "fr", "", p, "status")
	if code != 0 || !strings.Contains(out, "Compte\u00a0: non connecté") || !strings.Contains(out, "Modifications non envoyées\u00a0: 1") {
		t.Errorf("status signed out: %d\n%s", code, out)
	}
}

func TestFailures(t *testing.T) {
	_, web := centralServer(t)
	dir := filepath.Join(t.TempDir(), "p")
	p := "--profile=" + dir
	if code, _, errOut := run(t, "en", "", p, "sync"); code != 1 || !strings.Contains(errOut, "no Terrain profile in "+dir) {
		t.Errorf("no profile: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "en", "bad password\n", p, "signin", "--server", web.URL, "--email", "ana@example.org", "--password-stdin"); code != 1 || !strings.Contains(errOut, "Wrong email or password") {
		t.Errorf("bad password: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "en", password+"\n", p, "signin", "--server", "http://central.example.org", "--email", "ana@example.org", "--password-stdin"); code != 1 || !strings.Contains(errOut, "would not be encrypted") {
		t.Errorf("plain http: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "en", "", p, "signin", "--server", web.URL, "--email", "ana@example.org"); code != 1 || !strings.Contains(errOut, "--password-stdin") {
		t.Errorf("password on the command line: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "en", "", p, "sync", "--bogus"); code != 2 || !strings.Contains(errOut, "Invalid command line") || !strings.Contains(errOut, "terrain signout") {
		t.Errorf("bad flag: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "en", "", p, "export", "--out", "x.csv"); code != 1 || !strings.Contains(errOut, "Export what?") {
		t.Errorf("export without a kind: %d %s", code, errOut)
	}
	if code, out, _ := run(t, "fr", "", "help"); code != 0 || !strings.Contains(out, "TERRAIN_PASSPHRASE") {
		t.Errorf("help: %d %s", code, out)
	}

	// The server goes away: sync fails with a reason and a non-zero status.
	if code, _, errOut := run(t, "en", password+"\n", p, "signin", "--server", web.URL, "--email", "ana@example.org", "--password-stdin"); code != 0 {
		t.Fatalf("signin: %d %s", code, errOut)
	}
	web.Close()
	code, _, errOut := run(t, "en", "", p, "sync", "--timeout", "20s")
	if code != 1 || !strings.Contains(errOut, "Sync failed. The central service cannot be reached") {
		t.Errorf("sync offline: %d %s", code, errOut)
	}
	if code, out, _ := run(t, "en", "", p, "status"); code != 0 || !strings.Contains(out, "Server: unreachable") || !strings.Contains(out, "Last sync: never") {
		t.Errorf("status offline: %d %s", code, out)
	}
}

func TestIsCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--demo"}, false},
		{[]string{"--profile", "/tmp/x"}, false},
		{[]string{"sync"}, true},
		{[]string{"--profile", "sync"}, false},
		{[]string{"--profile", "/tmp/x", "--lang", "en", "export", "visits"}, true},
		{[]string{"-lang=en", "status"}, true},
		{[]string{"photo.png"}, false},
	} {
		if got := IsCommand(c.args); got != c.want {
			t.Errorf("IsCommand(%q) = %v", c.args, got)
		}
	}
}
