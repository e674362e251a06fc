package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs the command in process with cheap password hashing.
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }, argon: central.TestArgon2}
	code := c.run(context.Background(), args)
	return result{code, out.String(), errb.String()}
}

func expect(t *testing.T, r result, code int, inOutput ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range inOutput {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", s, r.stdout, r.stderr)
		}
	}
}

func TestUsageMistakes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"launch"}, `unknown command "launch"`},
		{[]string{"coordinator"}, "coordinator needs a sub-command"},
		{[]string{"coordinator", "remove"}, `unknown coordinator sub-command "remove"`},
		{[]string{"coordinator", "add", "--data", dir, "--email", "a@example.org", "--name", "A", "--regions", "09"}, "--password-stdin"},
		{[]string{"coordinator", "add", "--data", dir, "--email", "a@example.org", "--name", "A", "--regions", "09,99", "--password-stdin"}, `unknown region code "99"`},
		{[]string{"coordinator", "add", "--data", dir, "--email", "a@example.org", "--name", "A", "--password-stdin"}, "--regions is required"},
		{[]string{"coordinator", "list"}, "--data DIR"},
		{[]string{"coordinator", "list", "--data", dir, "--postgres", "postgres://x"}, "not both"},
		{[]string{"coordinator", "list", "--data", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"coordinator", "list", "--frobnicate"}, "flag provided but not defined"},
		{[]string{"members", "import", "--data", dir}, "expected one CSV file"},
		{[]string{"export", "visits", "--data", dir}, "--out FILE.csv is required"},
		{[]string{"export", "visits", "--data", dir, "--out", "x.csv", "--lang", "de"}, "--lang is fr or en"},
		{[]string{"serve", "--data", dir, "--tls-cert", "c.pem"}, "both --tls-cert and --tls-key"},
		{[]string{"serve", "--data", dir, "--addr", "0.0.0.0:0"}, "refusing to serve plain HTTP"},
		{[]string{"serve", "--data", dir, "--log-level", "loud"}, "unknown log level"},
		{[]string{"serve", "--data", dir, "--addr-failures", "many"}, "--addr-failures is a number"},
		{[]string{"serve", "--data", dir, "--addr-failures", "-1"}, "--addr-failures is a number"},
		{[]string{"serve", "--data", dir, "--memory-budget", "1"}, "--memory-budget is a number of MiB"},
		{[]string{"serve", "--data", dir, "--visit-retention-months", "7y"}, "--visit-retention-months is a number of months"},
		{[]string{"members", "show", "--data", dir}, "--id is required"},
		{[]string{"members", "delete", "--data", dir, "--id", "Coop-X"}, `--id "Coop-X" is not a member id`},
		{[]string{"visits"}, "visits needs a sub-command: delete, edit, purge"},
		{[]string{"visits", "edit", "--data", dir, "--notes", "x"}, "--id is required"},
		{[]string{"visits", "edit", "--data", dir, "--id", "0190f1f2-0000-7000-8000-000000000001"}, "nothing to change"},
		{[]string{"visits", "edit", "--data", dir, "--id", "0190f1f2-0000-7000-8000-000000000001", "--duration", "1h30"}, `--duration "1h30"`},
		{[]string{"visits", "delete", "--data", dir, "--id", "pas-un-id"}, "is not a visit id"},
		{[]string{"visits", "purge", "--data", dir, "--before", "hier"}, `--before "hier" is not a date`},
		{[]string{"visits", "purge", "--data", dir, "--before", "2999-01-01"}, "is in the future"},
		{[]string{"visits", "purge", "--data", dir, "--visit-retention-months", "0"}, "the visit retention is off"},
	} {
		r := run(t, nil, "un mot de passe assez long\n", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	expect(t, run(t, nil, "", "help"), 0, "terrain-central serve")
}

func TestCoordinators(t *testing.T) {
	env := map[string]string{"TERRAIN_CENTRAL_DATA": t.TempDir()}
	pw := "un mot de passe assez long\n"
	expect(t, run(t, env, pw, "coordinator", "add", "--email", "Ana@Example.org", "--name", "Ana Tremblay", "--regions", "10,9", "--password-stdin"),
		0, "added coordinator Ana Tremblay <ana@example.org>", "regions 09,10")
	expect(t, run(t, env, pw, "coordinator", "add", "--email", "ana@example.org", "--name", "Autre", "--regions", "03", "--password-stdin"),
		1, "a coordinator with e-mail ana@example.org already exists")
	expect(t, run(t, env, "court\n", "coordinator", "add", "--email", "ben@example.org", "--name", "Ben", "--regions", "03", "--password-stdin"),
		2, "at least 10 characters")
	expect(t, run(t, env, "", "coordinator", "add", "--email", "ben@example.org", "--name", "Ben", "--regions", "03", "--password-stdin"),
		1, "read password")
	expect(t, run(t, env, pw, "coordinator", "add", "--email", "pas-un-courriel", "--name", "Ben", "--regions", "03", "--password-stdin"),
		2, "email is not an e-mail address")
	expect(t, run(t, env, pw, "coordinator", "add", "--email", "central@example.org", "--name", "Bureau", "--admin", "--password-stdin"), 0)
	expect(t, run(t, env, "", "coordinator", "disable", "--email", "ana@example.org"), 0, "disabled ana@example.org")
	expect(t, run(t, env, "", "coordinator", "set-regions", "--email", "ana@example.org", "--regions", "11"), 0, "now covers regions 11")
	expect(t, run(t, env, "", "coordinator", "set-regions", "--email", "nobody@example.org", "--regions", "11"), 1, "no coordinator has e-mail nobody@example.org")
	r := run(t, env, "", "coordinator", "list")
	expect(t, r, 0, "ana@example.org", "Ana Tremblay", "disabled", "central@example.org", "admin", "all")
	if !strings.Contains(r.stdout, " 11 ") {
		t.Errorf("regions not updated in the list:\n%s", r.stdout)
	}
	expect(t, run(t, env, "", "coordinator", "enable", "--email", "ana@example.org"), 0)
	expect(t, run(t, env, "nouveau mot de passe\n", "coordinator", "password", "--email", "ana@example.org", "--password-stdin"), 0, "password of ana@example.org changed")
	expect(t, run(t, env, "", "device", "list"), 0, "DEVICE")
	expect(t, run(t, env, "", "device", "revoke", "--id", domain.NewID()), 1, "no device")
}

// TestDeviceListEscapes: a device name holding ANSI escapes and line breaks
// (stored by a version that did not clean it) is listed escaped: it cannot
// clear the terminal or forge a row.
func TestDeviceListEscapes(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"TERRAIN_CENTRAL_DATA": data}
	expect(t, run(t, env, "un mot de passe assez long\n", "coordinator", "add", "--email", "ana@example.org", "--name", "Ana",
		"--regions", "09", "--password-stdin"), 0)
	b, err := badgerdb.Open(data, badgerdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = b.Update(ctx, func(tx central.Tx) error {
		k, err := tx.CoordinatorByEmail("ana@example.org")
		if err != nil {
			return err
		}
		return tx.PutDevice(central.Device{ID: domain.NewID(), CoordinatorID: k.ID,
			Name: "Portable\x1b[2J\x1b[H\n" + domain.NewID() + "  ceo@example.org  fake row\u202e"})
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "", "device", "list")
	expect(t, r, 0, `Portable\x1b[2J\x1b[H\x0a`, `fake row\u202e`)
	if strings.ContainsFunc(r.stdout, func(r rune) bool { return r != '\n' && (domain.IsControl(r) || domain.Invisible(r)) }) {
		t.Errorf("device list prints a control character: %q", r.stdout)
	}
	if n := strings.Count(r.stdout, "\n"); n != 2 {
		t.Errorf("device list has %d lines, want a header and one row:\n%s", n, r.stdout)
	}
}

// TestLogsEscape: what a client controls (a request path) reaches the log
// escaped, in both formats.
func TestLogsEscape(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var errb bytes.Buffer
		c := &cli{stderr: &errb}
		log, err := c.logger("info", format)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("request", "path", "/v1/\x1b[2J\u009b31m\u202efake\nrow")
		if strings.ContainsFunc(errb.String(), func(r rune) bool { return r != '\n' && (domain.IsControl(r) || domain.Invisible(r)) }) ||
			strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%s log holds a raw control character: %q", format, errb.String())
		}
	}
}

func TestImportExport(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "membres.csv")
	csv := "\ufeffNom;Forme juridique;Région;Municipalité;Code postal;Services\r\n" +
		"Coopérative de solidarité de l'Île;coopérative de solidarité;Gaspésie–Îles-de-la-Madeleine;Îles-de-la-Madeleine;G4T 1A1;Comptabilité\r\n" +
		"Mutuelle de Sept-Îles;mutuelle;09;Sept-Îles;;\r\n"
	if err := os.WriteFile(good, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "mauvais.csv")
	if err := os.WriteFile(bad, []byte("nom;forme_juridique;région;municipalité\nA;mutual;09;X\nB;mutual;99;Y\nC;coop;09;Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	expect(t, run(t, nil, "", "members", "import", "--data", data, bad), 1,
		"nothing imported", `line 3, column "région": unknown region "99"`, `line 4, column "forme_juridique": unknown legal form "coop"`)
	expect(t, run(t, nil, "", "members", "import", filepath.Join(dir, "absent.csv"), "--data", data), 1, "absent.csv")
	expect(t, run(t, nil, "", "members", "import", good, "--data", data), 0, "imported 2 members")

	out := filepath.Join(dir, "export.csv")
	expect(t, run(t, nil, "", "export", "members", "--data", data, "--out", out), 0, "wrote 2 rows")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\ufeffIdentifiant;Nom;")) || !bytes.Contains(b, []byte(";11 - Gaspésie–Îles-de-la-Madeleine;")) || !bytes.Contains(b, []byte(";Comptabilité;")) {
		t.Errorf("members export:\n%s", b)
	}
	// The export imports back without changing anything.
	expect(t, run(t, nil, "", "members", "import", "--data", data, out), 0, "imported 2 members")
	expect(t, run(t, nil, "", "export", "visits", "--data", data, "--out", out, "--lang", "en"), 0, "wrote 0 rows")
	if b, _ := os.ReadFile(out); !bytes.HasPrefix(b, []byte("\ufeffVisit date,Member,Municipality,Region,")) {
		t.Errorf("visits export:\n%s", b)
	}
	expect(t, run(t, nil, "", "export", "followups", "--data", data, "--out", filepath.Join(dir, "no", "such", "dir.csv")), 1)
}

func TestDemo(t *testing.T) {
	data := t.TempDir()
	r := run(t, nil, "", "demo", "--data", data)
	expect(t, r, 0, "300 members", "e-mail:   "+demo.DemoEmail, "password: ")
	_, pw, _ := strings.Cut(r.stdout, "password: ")
	pw, _, _ = strings.Cut(pw, "\n")
	if len(pw) < 16 {
		t.Fatalf("demo password %q", pw)
	}
	expect(t, run(t, nil, "", "demo", "--data", data), 1, "already there")
	if r := run(t, nil, "", "export", "visits", "--data", data, "--out", "-"); r.code != 0 || strings.Count(r.stdout, "\n") < 1000 {
		t.Errorf("demo visits: exit %d, %d lines", r.code, strings.Count(r.stdout, "\n"))
	}

	// The printed password signs in on a running server.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	var out, errb bytes.Buffer
	env := map[string]string{"TERRAIN_CENTRAL_DATA": data, "TERRAIN_CENTRAL_ADDR": "127.0.0.1:0", "TERRAIN_CENTRAL_LOG_LEVEL": "warn"}
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] },
		argon: central.TestArgon2, ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, []string{"serve"}) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
	if r := run(t, nil, "", "coordinator", "list", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "in use by another process") {
		t.Errorf("admin command on a served directory: exit %d, %s", r.code, r.stderr)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	body, _ := json.Marshal(protocol.SessionRequest{Email: demo.DemoEmail, Password: pw, ClientID: domain.NewID()})
	resp, err = http.Post(base+"/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var sr protocol.SessionResponse
	err = json.NewDecoder(resp.Body).Decode(&sr)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || sr.Token == "" || !strings.Contains(strings.Join(sr.Coordinator.Regions, ","), "09") {
		t.Fatalf("demo sign-in: %d %+v %v", resp.StatusCode, sr, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after shutdown: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "listening on http://127.0.0.1:") {
		t.Errorf("serve output: %s", out.String())
	}
}

func TestEpochRotate(t *testing.T) {
	data := t.TempDir()
	expect(t, run(t, nil, "", "epoch"), exitUsage, "epoch needs a sub-command: rotate")
	expect(t, run(t, nil, "", "epoch", "rotate"), exitUsage, "--data DIR")
	epochOf := func() string {
		t.Helper()
		var epoch string
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, argon: central.TestArgon2}
		err := c.withServer(context.Background(), storeFlags{data: &data, postgres: new(string)}, func(srv *central.Server) error {
			epoch = srv.Epoch()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return epoch
	}
	first := epochOf()
	r := run(t, nil, "", "epoch", "rotate", "--data", data)
	expect(t, r, exitOK, "epoch "+first+" replaced by ")
	second := epochOf()
	if second == first || !strings.Contains(r.stdout, second) {
		t.Errorf("epoch after rotate: %q (was %q); output %q", second, first, r.stdout)
	}
	expect(t, run(t, map[string]string{"TERRAIN_CENTRAL_DATA": data}, "", "epoch", "rotate"), exitOK, "replaced by")
	if third := epochOf(); third == second {
		t.Errorf("a second rotation kept epoch %q", third)
	}
}

func TestPrivacyCommands(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"TERRAIN_CENTRAL_DATA": data}
	m := domain.Member{ID: domain.NewID(), Name: "Coopérative de Natashquan", LegalForm: domain.WorkerCoop,
		Region: "09", Municipality: "Natashquan", Status: domain.MemberActive}
	other := m
	other.ID, other.Name = domain.NewID(), "Mutuelle de Havre-Saint-Pierre"
	coordinator := domain.NewID()
	day := today()
	v := domain.Visit{ID: domain.NewID(), MemberID: m.ID, CoordinatorID: coordinator, Date: day,
		DurationMinutes: 60, Mode: domain.OnSite, Notes: "Rencontre avec la directrice"}
	f := domain.FollowUp{ID: domain.NewID(), MemberID: m.ID, ServiceID: "legal", Description: "Envoyer le modèle",
		Due: day.AddDays(14), Status: domain.FollowUpOpen}
	old := v
	old.ID, old.MemberID, old.Date = domain.NewID(), other.ID, day.AddDays(-8*366)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, argon: central.TestArgon2}
	err := c.withServer(context.Background(), storeFlags{data: &data, postgres: new(string)}, func(srv *central.Server) error {
		return srv.Import(context.Background(), []domain.Member{m, other}, []domain.Visit{v, old}, []domain.FollowUp{f})
	})
	if err != nil {
		t.Fatal(err)
	}

	r := run(t, env, "", "members", "show", "--id", m.ID)
	expect(t, r, exitOK)
	var d central.Dossier
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("dossier is not JSON: %v\n%s", err, r.stdout)
	}
	if d.Member.ID != m.ID || !strings.Contains(string(d.Member.Fields["name"]), m.Name) || len(d.Visits) != 1 ||
		d.Visits[0].ID != v.ID || len(d.FollowUps) != 1 || d.Member.Versions["name"].By != "central office" {
		t.Errorf("dossier:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, other.ID) || strings.Contains(r.stdout, old.ID) {
		t.Error("the dossier names another member's records")
	}
	out := filepath.Join(t.TempDir(), "dossier.json")
	expect(t, run(t, env, "", "members", "show", "--id", m.ID, "--out", out), exitOK, "wrote the dossier of member "+m.ID, "1 visits")
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("dossier file: %v, %v; want mode 0600", st, err)
	}
	expect(t, run(t, env, "", "members", "show", "--id", domain.NewID()), exitError, "no member has id")

	expect(t, run(t, env, "", "members", "delete", "--id", m.ID), exitOK,
		"deleted member "+m.ID+" (Coopérative de Natashquan, region 09) with 1 visits, 1 follow-ups and 0 conflict records")
	r = run(t, env, "", "members", "show", "--id", m.ID)
	expect(t, r, exitOK, `"deleted": true`)
	if strings.Contains(r.stdout, "Natashquan") || strings.Contains(r.stdout, v.ID) {
		t.Errorf("the deleted member's dossier still holds its data:\n%s", r.stdout)
	}
	expect(t, run(t, env, "", "members", "delete", "--id", m.ID), exitOK, "(already deleted) with 0 visits")
	expect(t, run(t, env, "", "members", "delete", "--id", domain.NewID()), exitError, "no member has id")

	expect(t, run(t, env, "", "visits", "purge"), exitOK,
		"erased 1 visits, 0 follow-ups and 0 conflict records dated before "+central.RetentionCutoff(day, 84).String())
	expect(t, run(t, env, "", "visits", "purge", "--visit-retention-months", "120"), exitOK, "erased 0 visits")
	r = run(t, env, "", "export", "visits", "--out", "-")
	if r.code != exitOK || strings.Contains(r.stdout, old.ID) || strings.Contains(r.stdout, v.ID) {
		t.Errorf("visits left after the purge and the deletion:\n%s", r.stdout)
	}
}

func TestVisitCorrections(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"TERRAIN_CENTRAL_DATA": data}
	m := domain.Member{ID: domain.NewID(), Name: "Coopérative de Baie-Johan-Beetz", LegalForm: domain.WorkerCoop,
		Region: "09", Municipality: "Baie-Johan-Beetz", Status: domain.MemberActive}
	v := domain.Visit{ID: domain.NewID(), MemberID: m.ID, CoordinatorID: domain.NewID(), Date: today(),
		DurationMinutes: 60, Mode: domain.OnSite, Notes: "Rencontre avec la directirce"}
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, argon: central.TestArgon2}
	err := c.withServer(context.Background(), storeFlags{data: &data, postgres: new(string)}, func(srv *central.Server) error {
		return srv.Import(context.Background(), []domain.Member{m}, []domain.Visit{v}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, run(t, env, "", "visits", "edit", "--id", v.ID, "--notes", "Rencontre avec la directrice",
		"--services", "legal, hr", "--duration", "75"), exitOK, "corrected visit "+v.ID,
		`"notes": "Rencontre avec la directrice"`, `"duration_minutes": 75`, `"hr",`, `"coordinator_id": "`+v.CoordinatorID)
	expect(t, run(t, env, "", "visits", "edit", "--id", v.ID, "--mode", "fax"), exitError, "not changed: mode (validation.mode)")
	expect(t, run(t, env, "", "visits", "edit", "--id", domain.NewID(), "--notes", "x"), exitError, "no visit has id")
	r := run(t, env, "", "export", "visits", "--out", "-", "--lang", "en")
	if !strings.Contains(r.stdout, "Rencontre avec la directrice") || strings.Contains(r.stdout, "directirce") {
		t.Errorf("export after the correction:\n%s", r.stdout)
	}
	expect(t, run(t, env, "", "visits", "delete", "--id", v.ID), exitOK, "deleted visit "+v.ID)
	expect(t, run(t, env, "", "visits", "delete", "--id", v.ID), exitError, "was deleted")
	if r := run(t, env, "", "export", "visits", "--out", "-"); strings.Contains(r.stdout, v.ID) {
		t.Errorf("the deleted visit is still exported:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		expect(t, run(t, nil, "", arg), exitOK, "terrain-central ")
	}
	data := t.TempDir()
	env := map[string]string{"TERRAIN_CENTRAL_DATA": data}
	expect(t, run(t, env, "", "device", "list"), exitOK, "APP VERSION")
}
