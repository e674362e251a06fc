package contract

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// rawDumper is what a backend's test files give it so that the suite can
// see every byte it stores (badgerdb: every key and value and the files of
// its directory; postgres: every row of its schema as text). It is not part
// of central.Backend: production code never needs it.
type rawDumper interface {
	RawDump(ctx context.Context) ([]byte, error)
}

func rawDump(t *testing.T, e *env) []byte {
	t.Helper()
	rd, ok := e.backend.(rawDumper)
	if !ok {
		t.Fatalf("%T has no RawDump(ctx) ([]byte, error) method: give it one in the backend's _test.go files "+
			"(see central/badgerdb/export_test.go), or this suite cannot check what it stores", e.backend)
	}
	b, err := rd.RawDump(e.ctx)
	if err != nil {
		t.Fatalf("raw dump: %v", err)
	}
	return b
}

// secretForms returns the ways a secret could be written by a careless
// backend: as typed, its bytes in hex and in base64, and for a device token
// (base64url of 32 random bytes) those bytes raw, in hex and in base64.
func secretForms(s string) map[string][]byte {
	forms := map[string][]byte{
		"as typed":    []byte(s),
		"hex":         []byte(hex.EncodeToString([]byte(s))),
		"base64":      []byte(base64.RawStdEncoding.EncodeToString([]byte(s))), // unpadded: found in padded too
		"base64url":   []byte(base64.RawURLEncoding.EncodeToString([]byte(s))),
		"upper-case":  []byte(strings.ToUpper(s)),
		"JSON string": []byte(strings.Trim(jsonOf(s), `"`)),
	}
	if raw, err := base64.RawURLEncoding.DecodeString(s); err == nil && len(raw) == 32 {
		forms["decoded bytes"] = raw
		forms["decoded bytes in hex"] = []byte(hex.EncodeToString(raw))
		forms["decoded bytes in base64"] = []byte(base64.RawStdEncoding.EncodeToString(raw))
	}
	return forms
}

// testSecretsStoredHashed: after coordinators are created, devices sign in
// (one signs out again), a sign-in fails and a password is changed, neither
// a password (right, wrong, old or new) nor a device token appears in any
// form in what the backend stores. The control half checks that the dump
// holds the data, the Argon2id hashes and the live token's SHA-256, so an
// empty or partial dump cannot pass.
func testSecretsStoredHashed(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	e.coordinator("central@example.org")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative Zéphyrine de Natashquan")
	a.sync(a.create(kMember, m))
	noRejections(t, a)
	admin := e.device("central@example.org")
	admin.sync()

	wrong := "Mauvais mot de passe Ursidé-42"
	if status, pe, _ := e.signIn("ana@example.org", wrong, domain.NewID()); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", status, pe.Code)
	}
	if status, _, _ := e.raw(http.MethodDelete, "/v1/session", a.token, "", nil, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: %d", status)
	}
	newPass := "Nouveau mot de passe Quiscale-2025"
	if err := e.srv.SetPassword(e.ctx, "ana@example.org", []byte(newPass)); err != nil {
		t.Fatal(err)
	}
	status, pe, sr := e.signIn("ana@example.org", newPass, domain.NewID())
	if status != http.StatusOK {
		t.Fatalf("sign in with the new password: %d %s", status, pe.Code)
	}
	live := []string{sr.Token, admin.token}
	for _, tok := range live {
		if status, _, _ := e.raw(http.MethodGet, "/v1/catalog", tok, "", nil, nil); status != http.StatusOK {
			t.Fatalf("a live token is refused: %d", status)
		}
	}

	dump := rawDump(t, e)
	lower := bytes.ToLower(dump)
	for what, want := range map[string]string{"a member's name": m.Name, "a coordinator's e-mail": "ana@example.org",
		"an Argon2id password hash": "$argon2id$v=19$"} {
		if !bytes.Contains(dump, []byte(want)) {
			t.Errorf("control: the raw dump lacks %s (%q): it does not show what the backend stores", what, want)
		}
	}
	for i, tok := range live {
		h := sha256.Sum256([]byte(tok))
		if !bytes.Contains(dump, h[:]) && !bytes.Contains(lower, []byte(hex.EncodeToString(h[:]))) {
			t.Errorf("control: the SHA-256 of live token %d is not in the raw dump: it misses the device index", i)
		}
	}
	secrets := map[string]string{
		"first password": password, "new password": newPass, "wrong password": wrong,
		"live token": sr.Token, "admin's token": admin.token, "signed-out token": a.token,
	}
	for what, secret := range secrets {
		for form, b := range secretForms(secret) {
			if bytes.Contains(dump, b) || strings.Contains(form, "hex") && bytes.Contains(lower, b) {
				t.Errorf("the backend stores the %s (%s)", what, form)
			}
		}
	}
}

// Callers of the authorization matrix.
const (
	callerNone = iota
	callerMalformed
	callerRevoked
	callerOther
	callerAdmin
	callerOwner
	nCallers
)

var callerNames = [nCallers]string{"no token", "malformed token", "revoked token", "other coordinator", "admin", "owner"}

type caller struct {
	token  string
	device string
}

// route is one row of the authorization matrix.
type route struct {
	method, path string
	// documented marks the operations of openapi.yaml; the other rows are
	// probes (wrong methods, unknown paths) and HEAD.
	documented bool
	body       func(i int, c caller) []byte
	want       [nCallers]int
}

func every(status int) [nCallers]int {
	var w [nCallers]int
	for i := range w {
		w[i] = status
	}
	return w
}

// authenticated is the row of a route that needs a valid token.
func authenticated(ok int) [nCallers]int {
	u := http.StatusUnauthorized
	return [nCallers]int{u, u, u, ok, ok, ok}
}

// testAuthorizationMatrix calls every route of the handler, and probes
// around them, as each kind of caller, and compares each status with the
// table; then it follows the sync of a coordinator of another region to
// its end, backfill included, and checks that no page holds anything of
// region A, that their writes to it are refused, and that the admin and
// the owner receive it all.
func testAuthorizationMatrix(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, func(o *central.Options) { o.PageLimit = 3 })
	ana := e.coordinator("ana@example.org", "09") // region A
	ben := e.coordinator("ben@example.org", "03") // another region
	e.coordinator("central@example.org")          // admin

	// Region A: a member with everything personal, its visit and
	// follow-up, members imported by the central office, and a conflict.
	owner := e.device("ana@example.org")
	mA := member("09", "Coopérative Ondatra de Havre-Saint-Pierre")
	mA.Email, mA.Phone, mA.ContactName = "direction@ondatra-coop.example", "418 555-0177", "Rosalie Vandermeulen"
	mA.ContactEmail, mA.Notes = "rosalie.vandermeulen@ondatra-coop.example", "Tension au conseil d'administration"
	vA := visit(mA, ana.ID, e.today())
	vA.Notes = "Discussion confidentielle sur la relève"
	fA := followUp(mA, e.today())
	fA.Description = "Vérifier le dossier de prêt Ondatra"
	owner.sync(owner.create(kMember, mA), owner.create(kVisit, vA), owner.create(kFollowUp, fA))
	noRejections(t, owner)
	imported := e.seedRegion("09", 4, ana.ID)
	admin := e.device("central@example.org")
	admin.sync()
	adminEdit := admin.edit(kMember, mA.ID, map[string]any{"contact_role": "Présidente sortante Albatros"})
	ownerEdit := owner.edit(kMember, mA.ID, map[string]any{"contact_role": "Trésorière Cormoran"})
	admin.sync(adminEdit)
	owner.sync(ownerEdit)
	noRejections(t, owner)
	conflicts := e.conflicts(mA.ID)
	if len(conflicts) == 0 {
		t.Fatal("setup: no conflict in region A")
	}

	// What no one outside region A may see: text and ids.
	secretsA := []string{mA.Name, mA.Email, mA.Phone, mA.ContactName, mA.ContactEmail, mA.Notes, vA.Notes, fA.Description,
		"Albatros", "Cormoran", mA.ID, vA.ID, fA.ID}
	for _, m := range imported {
		secretsA = append(secretsA, m.Name, m.ID)
	}
	idsA := map[string]bool{mA.ID: true, vA.ID: true, fA.ID: true}
	for _, c := range conflicts {
		secretsA = append(secretsA, c.ID)
		idsA[c.ID] = true
	}
	for _, kind := range []domain.Kind{kMember, kVisit, kFollowUp} {
		for id, r := range e.records(kind) {
			if r.Region == "09" {
				idsA[id] = true
				secretsA = append(secretsA, id)
			}
		}
	}
	leaks := func(body []byte) []string {
		var out []string
		for _, s := range secretsA {
			if bytes.Contains(body, []byte(s)) {
				out = append(out, s)
			}
		}
		return out
	}

	// Regions 03 and 05 hold records for the other coordinator, whose
	// device syncs for the first time below, page by page.
	mB, m05 := member("03", "Coopérative Béluga de Québec"), member("05", "Mutuelle Harfang de Sherbrooke")
	if err := e.srv.Import(e.ctx, []domain.Member{mB, m05}, []domain.Visit{visit(mB, ben.ID, e.today())}, nil); err != nil {
		t.Fatal(err)
	}

	// The matrix: a device of each caller kind of its own.
	revoked := e.device("ana@example.org")
	if err := e.srv.RevokeDevice(e.ctx, revoked.id); err != nil {
		t.Fatal(err)
	}
	callers := [nCallers]caller{
		callerNone:      {device: domain.NewID()},
		callerMalformed: {token: "not-a-token", device: domain.NewID()},
		callerRevoked:   {token: revoked.token, device: revoked.id},
	}
	for i, email := range map[int]string{callerOther: "ben@example.org", callerAdmin: "central@example.org", callerOwner: "ana@example.org"} {
		d := e.device(email)
		callers[i] = caller{token: d.token, device: d.id}
	}
	syncBody := func(_ int, c caller) []byte {
		b, _ := json.Marshal(protocol.SyncRequest{ClientID: c.device, SchemaVersion: protocol.SchemaVersion, Mutations: []protocol.Mutation{}})
		return b
	}
	signInBody := func(i int, c caller) []byte {
		// Unknown e-mails, one per caller: the token in the header must
		// not turn a failed sign-in into a success.
		b, _ := json.Marshal(protocol.SessionRequest{Email: fmt.Sprintf("nobody%d@example.org", i), Password: "wrong password", ClientID: c.device})
		return b
	}
	nf, na := every(http.StatusNotFound), every(http.StatusMethodNotAllowed)
	routes := []route{
		{method: "GET", path: "/healthz", documented: true, want: every(http.StatusOK)},
		{method: "HEAD", path: "/healthz", want: every(http.StatusOK)},
		{method: "POST", path: "/healthz", want: na},
		{method: "DELETE", path: "/healthz", want: na},
		{method: "POST", path: "/v1/session", documented: true, body: signInBody, want: every(http.StatusUnauthorized)},
		{method: "GET", path: "/v1/session", want: na},
		{method: "PUT", path: "/v1/session", want: na},
		{method: "POST", path: "/v1/sync", documented: true, body: syncBody, want: authenticated(http.StatusOK)},
		{method: "GET", path: "/v1/sync", want: na},
		{method: "PUT", path: "/v1/sync", body: syncBody, want: na},
		{method: "DELETE", path: "/v1/sync", want: na},
		{method: "GET", path: "/v1/catalog", documented: true, want: authenticated(http.StatusOK)},
		{method: "POST", path: "/v1/catalog", want: na},
		{method: "GET", path: "/", want: nf},
		{method: "GET", path: "/v1", want: nf},
		{method: "GET", path: "/v1/", want: nf},
		{method: "GET", path: "/v1/members", want: nf},
		{method: "GET", path: "/v1/members/" + mA.ID, want: nf},
		{method: "GET", path: "/v1/visits", want: nf},
		{method: "GET", path: "/v1/coordinators", want: nf},
		{method: "GET", path: "/v1/devices", want: nf},
		{method: "GET", path: "/v1/export", want: nf},
		{method: "POST", path: "/v1/sync/all", body: syncBody, want: nf},
		{method: "GET", path: "/v1/session/current", want: nf},
		{method: "GET", path: "/v1/catalog/hr", want: nf},
		{method: "POST", path: "/v2/sync", body: syncBody, want: nf},
		{method: "GET", path: "/admin", want: nf},
		{method: "GET", path: "/metrics", want: nf},
		{method: "GET", path: "/debug/pprof/", want: nf},
		{method: "GET", path: "/openapi.yaml", want: nf},
		// Last: signing out revokes the callers' tokens.
		{method: "DELETE", path: "/v1/session", documented: true, want: authenticated(http.StatusNoContent)},
	}
	checkDocumented(t, routes)

	var table strings.Builder
	fmt.Fprintf(&table, "%-30s", "")
	for _, n := range callerNames {
		fmt.Fprintf(&table, " %-17s", n)
	}
	for _, r := range routes {
		fmt.Fprintf(&table, "\n%-30s", r.method+" "+r.path)
		for i, c := range callers {
			var body []byte
			ct := ""
			if r.body != nil {
				body, ct = r.body(i, c), "application/json"
			}
			status, pe, data, err := e.do(r.method, r.path, c.token, ct, body, nil)
			if err != nil {
				t.Errorf("%s %s as %s: %v", r.method, r.path, callerNames[i], err)
				fmt.Fprintf(&table, " %-17s", "error")
				continue
			}
			mark := ""
			if status != r.want[i] {
				mark = "!"
				t.Errorf("%s %s as %s: %d %s, want %d", r.method, r.path, callerNames[i], status, pe.Code, r.want[i])
			}
			fmt.Fprintf(&table, " %-17s", fmt.Sprint(status, mark))
			if i != callerOwner && i != callerAdmin {
				if l := leaks(data); len(l) > 0 {
					t.Errorf("%s %s as %s: the answer holds region A's %q", r.method, r.path, callerNames[i], l)
				}
			}
			if r.method == "POST" && r.path == "/v1/sync" && status == http.StatusOK {
				var resp protocol.SyncResponse
				if err := protocol.DecodeStrict(data, &resp); err != nil || len(resp.Changes) == 0 {
					t.Errorf("sync as %s: %v, %d changes: an empty page proves nothing", callerNames[i], err, len(resp.Changes))
				}
			}
		}
	}
	t.Logf("authorization matrix (status per caller; ! marks a difference from the table):\n%s", table.String())
	for i := callerOther; i <= callerOwner; i++ {
		if status, _, _ := e.raw(http.MethodGet, "/v1/catalog", callers[i].token, "", nil, nil); status != http.StatusUnauthorized {
			t.Errorf("%s's token still works after DELETE /v1/session: %d", callerNames[i], status)
		}
	}

	// The other coordinator's sync, page by page, to the end; then again
	// after gaining region 05 (a backfill from the start of the feed).
	checkPage := func(raw []byte, resp protocol.SyncResponse) {
		t.Helper()
		if l := leaks(raw); len(l) > 0 {
			t.Errorf("a sync page of the other coordinator holds region A's %q", l)
		}
		for _, ch := range resp.Changes {
			region, memberID := str(ch.Fields["region"]), str(ch.Fields["member_id"])
			if idsA[ch.ID] || idsA[memberID] || ch.Kind == kMember && region == "09" {
				t.Errorf("the other coordinator received %s %s (member %s, region %q)", ch.Kind, ch.ID, memberID, region)
			}
		}
	}
	other := e.device("ben@example.org")
	pages := other.syncPages(checkPage)
	if !other.has(kMember, mB.ID) || pages < 2 {
		t.Errorf("control: the other coordinator's sync took %d pages and holds its own member: %v", pages, other.has(kMember, mB.ID))
	}
	// A first sync is a backfill; later ones read the feed after the
	// cursor, another path: new writes in region A and in region 03 meet it.
	vA2 := visit(mA, ana.ID, e.today())
	vA2.Notes = "Nouvelle note Pélican"
	owner.sync(owner.edit(kMember, mA.ID, map[string]any{"notes": "Note révisée Pélican"}), owner.create(kVisit, vA2))
	noRejections(t, owner)
	mA2, mB2 := member("09", "Coopérative Macareux de Natashquan"), member("03", "Coopérative Fou de Bassan")
	if err := e.srv.Import(e.ctx, []domain.Member{mA2, mB2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	secretsA = append(secretsA, "Pélican", vA2.ID, mA2.Name, mA2.ID)
	idsA[vA2.ID], idsA[mA2.ID] = true, true
	other.syncPages(checkPage)
	if !other.has(kMember, mB2.ID) {
		t.Error("control: the other coordinator's next sync did not deliver the new member of region 03")
	}
	if _, err := e.srv.SetRegions(e.ctx, "ben@example.org", []string{"03", "05"}); err != nil {
		t.Fatal(err)
	}
	other.syncPages(checkPage)
	if !other.has(kMember, m05.ID) {
		t.Error("control: the backfill of region 05 did not deliver its member")
	}
	other.assertMirrors()

	// Writes to region A are refused and change nothing.
	before := e.dumpData()
	other.sync(
		other.edit(kMember, mA.ID, map[string]any{"name": "Piraté"}),
		other.create(kVisit, visit(mA, ben.ID, e.today())),
		other.edit(kFollowUp, fA.ID, map[string]any{"status": "done"}),
		other.remove(kVisit, vA.ID),
	)
	if len(other.lastRej) != 4 {
		t.Errorf("rejections = %s, want 4", jsonOf(other.lastRej))
	}
	for i, r := range other.lastRej {
		// The new visit of a member outside the scope is answered as one
		// of a member that does not exist.
		want := protocol.RejectForbidden
		if i == 1 {
			want = protocol.RejectUnknownMember
		}
		if r.Code != want {
			t.Errorf("rejection %+v, want %s", r, want)
		}
	}
	if after := e.dumpData(); after != before {
		t.Errorf("writes to region A by another coordinator changed the data:\n%s", diffLines(before, after))
	}

	// The admin sees every region; the owner all of region A.
	admin2 := e.device("central@example.org")
	admin2.sync()
	admin2.assertMirrors()
	for _, k := range []string{key(kMember, mA.ID), key(kVisit, vA.ID), key(kFollowUp, fA.ID), key(protocol.KindConflict, conflicts[0].ID),
		key(kMember, mB.ID), key(kMember, m05.ID)} {
		if _, ok := admin2.replica[k]; !ok {
			t.Errorf("the admin did not receive %s", k)
		}
	}
	owner2 := e.device("ana@example.org")
	owner2.sync()
	owner2.assertMirrors()
	if !owner2.has(kVisit, vA.ID) || !owner2.has(protocol.KindConflict, conflicts[0].ID) {
		t.Error("the owner did not receive region A's visit and conflict")
	}
}

// syncPages is sync with each page's raw body handed to check before it is
// applied. It returns the number of pages.
func (d *device) syncPages(check func(raw []byte, resp protocol.SyncResponse)) int {
	d.e.t.Helper()
	var bf *protocol.Backfill
	for i := 1; ; i++ {
		if i > 10000 {
			d.e.t.Fatal("sync does not end")
		}
		body, err := json.Marshal(d.request(nil, bf))
		if err != nil {
			d.e.t.Fatal(err)
		}
		status, pe, data := d.e.raw(http.MethodPost, "/v1/sync", d.token, "application/json", body, map[string]string{"Accept-Encoding": "gzip"})
		if status != http.StatusOK {
			d.e.t.Fatalf("sync: %d %s", status, pe.Code)
		}
		var resp protocol.SyncResponse
		if err := protocol.DecodeStrict(data, &resp); err != nil {
			d.e.t.Fatal(err)
		}
		check(data, resp)
		d.apply(resp)
		bf = resp.Backfill
		if !resp.HasMore {
			return i
		}
	}
}

// checkDocumented fails unless the documented rows of the matrix are
// exactly the operations of openapi.yaml: a route added to the handler and
// to its documentation must be added to the matrix.
func checkDocumented(t *testing.T, routes []route) {
	t.Helper()
	doc := openAPI(t)
	var ops []string
	path := ""
	inPaths := false
	pathRe, opRe := regexp.MustCompile(`^  (/\S*):\s*$`), regexp.MustCompile(`^    (get|put|post|delete|patch|head|options|trace):\s*$`)
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "paths:":
			inPaths = true
		case inPaths && l != "" && !strings.HasPrefix(l, " "):
			inPaths = false
		case !inPaths:
		case pathRe.MatchString(l):
			path = pathRe.FindStringSubmatch(l)[1]
		case opRe.MatchString(l):
			ops = append(ops, strings.ToUpper(opRe.FindStringSubmatch(l)[1])+" "+path)
		}
	}
	var rows []string
	for _, r := range routes {
		if r.documented {
			rows = append(rows, r.method+" "+r.path)
		}
	}
	slices.Sort(ops)
	slices.Sort(rows)
	if len(ops) == 0 || !slices.Equal(ops, rows) {
		t.Errorf("openapi.yaml documents %q; the matrix's documented rows are %q", ops, rows)
	}
}

// openAPI reads central/openapi.yaml, found from this source file (or from
// a backend's package directory when the paths were trimmed).
func openAPI(t *testing.T) []byte {
	t.Helper()
	candidates := []string{filepath.Join("..", "openapi.yaml")}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append([]string{filepath.Join(filepath.Dir(file), "..", "openapi.yaml")}, candidates...)
	}
	for _, c := range candidates {
		if b, err := os.ReadFile(c); err == nil {
			return b
		}
	}
	t.Fatalf("openapi.yaml not found in %v", candidates)
	return nil
}

// lockedBuffer collects log output written by the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogsHoldNoSecrets runs sign-ins (good, wrong password, unknown
// e-mail, throttled), syncs that push and pull personal data (one with a
// rejected mutation, one malformed), a sign-out and a call with the
// revoked token, with the server logging at debug level, and checks that
// the logs hold no token, password, e-mail address, member text or client
// IP address. A failed sign-in is logged there with the device id the
// client sent and the error code only; the account it tried goes to the
// audit log (Options.AuditLog), for incident review, and nothing else of
// it: no password, no address.
func testLogsHoldNoSecrets(t *testing.T, open func(*testing.T) central.Backend) {
	logs, audit := &lockedBuffer{}, &lockedBuffer{}
	e := newEnv(t, open, func(o *central.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.AuditLog = slog.New(slog.NewTextHandler(audit, nil))
	})
	ana := e.coordinator("ana.secretaire@example.org", "09")
	a := e.device("ana.secretaire@example.org")
	m := member("09", "Coopérative Ondatra de Natashquan")
	m.Email, m.Phone, m.ContactName = "direction@ondatra-coop.example", "418 555-0177", "Rosalie Vandermeulen"
	m.ContactEmail, m.Notes = "rosalie.vandermeulen@ondatra-coop.example", "Tension au conseil d'administration"
	v := visit(m, ana.ID, e.today())
	v.Notes = "Discussion confidentielle sur la relève"
	f := followUp(m, e.today())
	f.Description = "Vérifier le dossier de prêt Ondatra"
	bad := member("09", "Coopérative Invalide Vandermeulen")
	bad.PostalCode = "Rosalie-pas-un-code"
	a.sync(a.create(kMember, m), a.create(kVisit, v), a.create(kFollowUp, f), a.create(kMember, bad))
	if len(a.lastRej) != 1 {
		t.Fatalf("rejections = %s, want the invalid member's", jsonOf(a.lastRej))
	}
	b := e.device("ana.secretaire@example.org")
	b.sync()
	if !b.has(kVisit, v.ID) {
		t.Fatal("the second device did not receive the visit")
	}
	malformed := []byte(`{"client_id":"` + a.id + `","mutations":[{"fields":{"name":"` + m.Name + `"`)
	if status, _, _ := e.raw(http.MethodPost, "/v1/sync", a.token, "application/json", malformed, nil); status != http.StatusBadRequest {
		t.Errorf("malformed sync: %d", status)
	}
	wrong := "Mauvais mot de passe Ursidé-42"
	for range 6 { // the sixth is throttled
		e.signIn("ana.secretaire@example.org", wrong, domain.NewID())
	}
	unknown := "inconnu.zorglub@example.org"
	e.signIn(unknown, wrong, domain.NewID())
	if status, _, _ := e.raw(http.MethodDelete, "/v1/session", b.token, "", nil, nil); status != http.StatusNoContent {
		t.Errorf("sign out: %d", status)
	}
	if status, _, _ := e.raw(http.MethodGet, "/v1/catalog", b.token, "", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("signed-out token: %d", status)
	}
	e.web.Close() // waits for the handlers, whose access-log lines come last

	out := logs.String()
	for _, want := range []string{"path=/v1/sync", "status=200", "status=204", "status=400", "status=401", "status=429", "msg=\"signed in\"", "device=" + a.id} {
		if !strings.Contains(out, want) {
			t.Errorf("control: the logs lack %q; they are not the access log the test expects:\n%s", want, out)
		}
	}
	secrets := map[string]string{
		"token": a.token, "second token": b.token, "password": password, "wrong password": wrong,
		"coordinator's e-mail": "ana.secretaire@example.org", "unknown e-mail": unknown,
		"member name": m.Name, "member e-mail": m.Email, "phone": m.Phone, "contact name": m.ContactName,
		"contact e-mail": m.ContactEmail, "member note": m.Notes, "visit note": v.Notes, "follow-up": f.Description,
		"rejected member's name": bad.Name, "rejected postal code": bad.PostalCode,
		"bearer header": "Bearer", "client address": "127.0.0.1",
	}
	for what, s := range secrets {
		for i, w := range append([]string{s}, strings.Fields(s)...) {
			if (i == 0 || len(w) >= 8) && strings.Contains(out, w) { // the whole secret, or a long word of it
				t.Errorf("the logs hold the %s (%q)", what, w)
				break
			}
		}
	}

	// The audit log names the accounts tried, with why they failed.
	trail := audit.String()
	for _, want := range []string{
		"account=ana.secretaire@example.org reason=bad_credentials",
		"account=ana.secretaire@example.org reason=too_many_attempts",
		"account=" + unknown + " reason=bad_credentials",
	} {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, trail)
		}
	}
	for what, s := range map[string]string{"password": password, "wrong password": wrong, "client address": "127.0.0.1", "token": a.token} {
		if strings.Contains(trail, s) {
			t.Errorf("the audit log holds the %s", what)
		}
	}
}
