package contract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func testBadInput(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, func(o *central.Options) {
		o.MaxBodyBytes = 256 << 10
		o.MaxDecodedBytes = 512 << 10
	})
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Sept-Îles")
	a.sync(a.create(kMember, m))
	other := e.device("ana@example.org")
	gone := e.device("ana@example.org")
	if status, _, _ := e.raw(http.MethodDelete, "/v1/session", gone.token, "", nil, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: %d", status)
	}

	// body builds a request from a valid one, changed by edit.
	body := func(edit func(req map[string]any, mut map[string]any)) []byte {
		mut := map[string]any{
			"seq": a.nextSeq + 1, "kind": "member", "id": m.ID, "hlc": uint64(a.clock.Now()),
			"fields": map[string]any{"notes": "Note valide"},
		}
		req := map[string]any{
			"client_id": a.id, "schema_version": protocol.SchemaVersion, "cursor": a.cursor, "epoch": a.epoch,
			"mutations": []any{mut},
		}
		if edit != nil {
			edit(req, mut)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	valid := body(nil)
	huge := func(n int) func(map[string]any, map[string]any) {
		return func(_ map[string]any, mut map[string]any) {
			mut["fields"] = map[string]any{"notes": strings.Repeat("é", n/2)}
		}
	}
	const jsonType = "application/json"
	cases := []struct {
		name, method, path, token, ctype string
		body                             []byte
		header                           map[string]string
		status                           int
		code                             string
	}{
		{"malformed JSON", "POST", "/v1/sync", a.token, jsonType, []byte(`{"client_id": "`), nil, 400, protocol.CodeMalformed},
		{"not an object", "POST", "/v1/sync", a.token, jsonType, []byte(`[1, 2]`), nil, 400, protocol.CodeMalformed},
		{"two values", "POST", "/v1/sync", a.token, jsonType, append(append([]byte{}, valid...), valid...), nil, 400, protocol.CodeMalformed},
		{"empty body", "POST", "/v1/sync", a.token, jsonType, nil, nil, 400, protocol.CodeMalformed},
		{"wrong type of value", "POST", "/v1/sync", a.token, jsonType, body(func(r, _ map[string]any) { r["cursor"] = "abc" }), nil, 400, protocol.CodeMalformed},
		{"text content type", "POST", "/v1/sync", a.token, "text/plain", valid, nil, 415, protocol.CodeUnsupportedMedia},
		{"form content type", "POST", "/v1/sync", a.token, "application/x-www-form-urlencoded", valid, nil, 415, protocol.CodeUnsupportedMedia},
		{"no content type", "POST", "/v1/sync", a.token, "", valid, nil, 415, protocol.CodeUnsupportedMedia},
		{"latin-1 charset", "POST", "/v1/sync", a.token, "application/json; charset=iso-8859-1", valid, nil, 415, protocol.CodeUnsupportedMedia},
		{"brotli body", "POST", "/v1/sync", a.token, jsonType, valid, map[string]string{"Content-Encoding": "br"}, 415, protocol.CodeUnsupportedMedia},
		{"gzip header on a plain body", "POST", "/v1/sync", a.token, jsonType, valid, map[string]string{"Content-Encoding": "gzip"}, 400, protocol.CodeMalformed},
		{"oversized body", "POST", "/v1/sync", a.token, jsonType, body(huge(300 << 10)), nil, 413, protocol.CodeTooLarge},
		{"gzip bomb", "POST", "/v1/sync", a.token, jsonType, gz(append(append([]byte{}, valid...), bytes.Repeat([]byte(" "), 600<<10)...)),
			map[string]string{"Content-Encoding": "gzip"}, 413, protocol.CodeTooLarge},
		{"unknown field", "POST", "/v1/sync", a.token, jsonType, body(func(r, _ map[string]any) { r["admin"] = true }), nil, 400, protocol.CodeUnknownField},
		{"unknown mutation field", "POST", "/v1/sync", a.token, jsonType, body(func(_, m map[string]any) { m["force"] = true }), nil, 400, protocol.CodeUnknownField},
		{"huge string", "POST", "/v1/sync", a.token, jsonType, body(huge(100 << 10)), nil, 400, protocol.CodeFieldTooLarge},
		{"invalid UTF-8", "POST", "/v1/sync", a.token, jsonType, bytes.Replace(valid, []byte("Note valide"), []byte("Note \xff\xfe valide"), 1), nil, 400, protocol.CodeInvalidUTF8},
		{"schema from the future", "POST", "/v1/sync", a.token, jsonType, body(func(r, _ map[string]any) { r["schema_version"] = 99 }), nil, 400, protocol.CodeUnsupportedSchema},
		{"client id not a UUID", "POST", "/v1/sync", a.token, jsonType, body(func(r, _ map[string]any) { r["client_id"] = "laptop" }), nil, 400, protocol.CodeBadRequest},
		{"mutation seq zero", "POST", "/v1/sync", a.token, jsonType, body(func(_, m map[string]any) { m["seq"] = 0 }), nil, 400, protocol.CodeBadRequest},
		{"unknown kind", "POST", "/v1/sync", a.token, jsonType, body(func(_, m map[string]any) { m["kind"] = "invoice" }), nil, 400, protocol.CodeBadRequest},
		{"edit without fields", "POST", "/v1/sync", a.token, jsonType, body(func(_, m map[string]any) { delete(m, "fields") }), nil, 400, protocol.CodeBadRequest},
		{"another device's client id", "POST", "/v1/sync", a.token, jsonType, body(func(r, _ map[string]any) { r["client_id"] = other.id }), nil, 403, protocol.CodeForbidden},
		{"stale epoch", "POST", "/v1/sync", a.token, jsonType, body(func(r, _ map[string]any) { r["epoch"] = "restored-elsewhere" }), nil, 409, protocol.CodeEpochChanged},
		{"no token", "POST", "/v1/sync", "", jsonType, valid, nil, 401, protocol.CodeUnauthorized},
		{"malformed token", "POST", "/v1/sync", "abc", jsonType, valid, nil, 401, protocol.CodeUnauthorized},
		{"unknown token", "POST", "/v1/sync", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", jsonType, valid, nil, 401, protocol.CodeUnauthorized},
		{"revoked token", "POST", "/v1/sync", gone.token, jsonType, body(func(r, _ map[string]any) { r["client_id"] = gone.id }), nil, 401, protocol.CodeUnauthorized},
		{"wrong method", "GET", "/v1/sync", a.token, "", nil, nil, 405, protocol.CodeMethodNotAllowed},
		{"unknown path", "GET", "/v1/members", a.token, "", nil, nil, 404, protocol.CodeNotFound},
		{"session: malformed JSON", "POST", "/v1/session", "", jsonType, []byte(`{"email":`), nil, 400, protocol.CodeMalformed},
		{"session: unknown field", "POST", "/v1/session", "", jsonType,
			[]byte(`{"email":"ana@example.org","password":"x","client_id":"` + domain.NewID() + `","role":"admin"}`), nil, 400, protocol.CodeUnknownField},
		{"session: text content type", "POST", "/v1/session", "", "text/plain", []byte(`{}`), nil, 415, protocol.CodeUnsupportedMedia},
		{"session: wrong password", "POST", "/v1/session", "", jsonType,
			[]byte(`{"email":"ana@example.org","password":"not the password","client_id":"` + domain.NewID() + `"}`), nil, 401, protocol.CodeBadCredentials},
	}
	for _, tc := range cases {
		before := e.dump()
		status, pe, _ := e.raw(tc.method, tc.path, tc.token, tc.ctype, tc.body, tc.header)
		if status != tc.status || pe.Code != tc.code {
			t.Errorf("%s: got %d %q (%s), want %d %q", tc.name, status, pe.Code, pe.Message, tc.status, tc.code)
		}
		if after := e.dump(); after != before {
			t.Errorf("%s changed the backend:\n%s", tc.name, diffLines(before, after))
		}
	}

	// The mutation every refused request carried was not consumed: sent
	// properly, it applies.
	status, pe, data := e.raw(http.MethodPost, "/v1/sync", a.token, jsonType, valid, nil)
	if status != http.StatusOK {
		t.Fatalf("valid request after the bad ones: %d %s", status, pe.Message)
	}
	var resp protocol.SyncResponse
	if err := protocol.DecodeStrict(data, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.AckedThrough != a.nextSeq+1 || len(resp.Rejected) != 0 {
		t.Errorf("valid request: %+v", resp)
	}
	if r, _ := e.record(kMember, m.ID); str(r.Fields["notes"]) != "Note valide" {
		t.Errorf("notes = %q", str(r.Fields["notes"]))
	}
}

// dumpData is dump without devices: what a refused write must not touch.
func (e *env) dumpData() string {
	var keep []string
	for _, l := range strings.Split(e.dump(), "\n") {
		if !strings.HasPrefix(l, "device ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func testOtherCoordinator(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	ben := e.coordinator("ben@example.org", "03")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Port-Cartier")
	v, f := visit(m, ana.ID, e.today()), followUp(m, e.today())
	a.sync(a.create(kMember, m), a.create(kVisit, v), a.create(kFollowUp, f))
	b := e.device("ben@example.org")
	b.sync()
	for k := range b.replica {
		if strings.HasPrefix(k, "member/") || strings.HasPrefix(k, "visit/") || strings.HasPrefix(k, "followup/") {
			t.Errorf("ben's device received %s from another region", k)
		}
	}
	before := e.dumpData()
	b.sync(
		b.edit(kMember, m.ID, map[string]any{"name": "Piraté"}),
		b.remove(kVisit, v.ID),
		b.edit(kVisit, v.ID, map[string]any{"notes": "Piraté"}),
		b.edit(kFollowUp, f.ID, map[string]any{"status": "done"}),
		b.create(kVisit, visit(m, ben.ID, e.today())),
		b.create(kFollowUp, followUp(m, e.today())),
	)
	if len(b.lastRej) != 6 {
		t.Fatalf("rejections = %s, want 6", jsonOf(b.lastRej))
	}
	for i, r := range b.lastRej {
		// New visits and follow-ups of a member outside the scope are
		// answered as for a member that does not exist.
		want := protocol.RejectForbidden
		if i >= 4 {
			want = protocol.RejectUnknownMember
		}
		if r.Code != want {
			t.Errorf("rejection %+v, want %s", r, want)
		}
	}
	if after := e.dumpData(); after != before {
		t.Errorf("another coordinator's writes changed the data:\n%s", diffLines(before, after))
	}
}

func testDisabledRevoked(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Fermont")
	a.sync(a.create(kMember, m))

	if err := e.srv.DisableCoordinator(e.ctx, "ANA@example.org"); err != nil {
		t.Fatal(err)
	}
	before := e.dump()
	refused := a.edit(kMember, m.ID, map[string]any{"notes": "x"})
	// Disabling revoked the device's token: it is told to sign in again,
	// and the sign-in says the account is disabled.
	if status, pe, _ := a.post(a.request([]protocol.Mutation{refused}, nil)); status != http.StatusUnauthorized || pe.Code != protocol.CodeUnauthorized {
		t.Errorf("disabled coordinator's sync: %d %s", status, pe.Code)
	}
	if status, pe, _ := e.signIn("ana@example.org", password, domain.NewID()); status != http.StatusForbidden || pe.Code != protocol.CodeDisabled {
		t.Errorf("disabled coordinator's sign-in: %d %s", status, pe.Code)
	}
	if after := e.dump(); after != before {
		t.Errorf("a disabled coordinator changed the backend:\n%s", diffLines(before, after))
	}
	if err := e.srv.EnableCoordinator(e.ctx, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	// Enabling revives no token: the device signs in again, and the
	// refused mutation, still in its outbox, goes first.
	if status, pe, sr := e.signIn("ana@example.org", password, a.id); status != http.StatusOK {
		t.Fatalf("sign in after enable: %d %s", status, pe.Message)
	} else {
		a.token = sr.Token
	}
	a.sync(refused, a.edit(kMember, m.ID, map[string]any{"notes": "De retour"}))
	noRejections(t, a)

	if err := e.srv.RevokeDevice(e.ctx, a.id); err != nil {
		t.Fatal(err)
	}
	if status, pe, _ := a.post(a.request(nil, nil)); status != http.StatusUnauthorized || pe.Code != protocol.CodeUnauthorized {
		t.Errorf("revoked device: %d %s", status, pe.Code)
	}
	status, pe, sr := e.signIn("ana@example.org", password, a.id)
	if status != http.StatusOK {
		t.Fatalf("sign in again: %d %s", status, pe.Message)
	}
	a.token = sr.Token
	resps := a.sync(a.edit(kMember, m.ID, map[string]any{"notes": "Après reconnexion"}))
	noRejections(t, a)
	if len(resps) != 1 || len(resps[0].Changes) != 1 {
		t.Errorf("after signing in again the device should only get its own edit back: %+v", resps)
	}

	if status, _, _ := e.raw(http.MethodDelete, "/v1/session", a.token, "", nil, nil); status != http.StatusNoContent {
		t.Errorf("sign out: %d", status)
	}
	if status, _, _ := a.post(a.request(nil, nil)); status != http.StatusUnauthorized {
		t.Errorf("signed-out device: %d", status)
	}
	// The same device cannot be taken over by another coordinator.
	e.coordinator("ben@example.org", "03")
	if status, pe, _ := e.signIn("ben@example.org", password, a.id); status != http.StatusForbidden {
		t.Errorf("another coordinator on a's device: %d %s", status, pe.Code)
	}
}

func testThrottle(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	id := domain.NewID()
	for i := 0; i < 5; i++ {
		if status, pe, _ := e.signIn("ana@example.org", "wrong password", id); status != http.StatusUnauthorized || pe.Code != protocol.CodeBadCredentials {
			t.Fatalf("wrong password %d: %d %s", i+1, status, pe.Code)
		}
	}
	body, _ := json.Marshal(protocol.SessionRequest{Email: "ana@example.org", Password: password, ClientID: id})
	req, _ := http.NewRequest(http.MethodPost, e.web.URL+"/v1/session", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.web.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("sign-in after 5 failures: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e.clock.Advance(2 * time.Second)
	if status, pe, _ := e.signIn("ana@example.org", password, id); status != http.StatusOK {
		t.Errorf("sign-in once the delay has passed: %d %s", status, pe.Code)
	}
	if status, pe, _ := e.signIn("ana@example.org", "wrong again", id); status != http.StatusUnauthorized {
		t.Errorf("a success resets the count; got %d %s", status, pe.Code)
	}
	_, wrong, _ := e.signIn("ana@example.org", "wrong password", domain.NewID())
	_, unknown, _ := e.signIn("nobody@example.org", "wrong password", domain.NewID())
	if unknown.Code != protocol.CodeBadCredentials || unknown.Message != wrong.Message {
		t.Errorf("unknown e-mail answered %+v; it must look like a wrong password %+v", unknown, wrong)
	}
}

func testEpoch(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	a.sync()
	if a.epoch == "" || a.epoch != e.srv.Epoch() {
		t.Fatalf("epoch %q, server %q", a.epoch, e.srv.Epoch())
	}
	a.epoch = "another-epoch"
	if status, pe, _ := a.post(a.request(nil, nil)); status != http.StatusConflict || pe.Code != protocol.CodeEpochChanged {
		t.Errorf("stale epoch: %d %s", status, pe.Code)
	}
	a.epoch, a.cursor = "", 0
	a.replica = map[string]record{}
	a.sync()
	if a.epoch != e.srv.Epoch() {
		t.Errorf("epoch after refetch = %q", a.epoch)
	}
	a.assertMirrors()

	// After a restore the office rotates the epoch: devices refetch.
	old := e.srv.Epoch()
	next, err := e.srv.RotateEpoch(e.ctx)
	if err != nil || next == "" || next == old || e.srv.Epoch() != next {
		t.Fatalf("rotate epoch: %q -> %q (server %q), %v", old, next, e.srv.Epoch(), err)
	}
	if status, pe, _ := a.post(a.request(nil, nil)); status != http.StatusConflict || pe.Code != protocol.CodeEpochChanged {
		t.Errorf("epoch before the rotation: %d %s", status, pe.Code)
	}
	again, err := central.New(e.ctx, e.backend, central.Options{Logger: slog.New(slog.DiscardHandler), Argon2: central.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	if again.Epoch() != next {
		t.Errorf("a server started on the rotated data has epoch %q, want %q", again.Epoch(), next)
	}
	a.epoch, a.cursor = "", 0
	a.replica = map[string]record{}
	a.sync()
	if a.epoch != next {
		t.Errorf("epoch after the second refetch = %q, want %q", a.epoch, next)
	}
	a.assertMirrors()
}

func testImport(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	g1, g2 := member("09", "Bonne un"), member("10", "Bonne deux")
	bad := member("99", "Région inconnue")
	err := e.srv.Import(e.ctx, []domain.Member{g1, bad, g2}, nil, nil)
	var ie *central.ImportError
	if !errors.As(err, &ie) || len(ie.Rejections) != 1 || ie.Rejections[0].ID != bad.ID {
		t.Fatalf("import with a bad member: %v", err)
	}
	if n := len(e.records(kMember)); n != 0 {
		t.Fatalf("%d members stored by a refused import", n)
	}
	orphan := visit(member("09", "Absente"), domain.NewID(), e.today())
	if err := e.srv.Import(e.ctx, []domain.Member{g1}, []domain.Visit{orphan}, nil); !errors.As(err, &ie) {
		t.Fatalf("import of a visit without its member: %v", err)
	}
	if err := e.srv.Import(e.ctx, []domain.Member{g1, g2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	head := e.head()
	if err := e.srv.Import(e.ctx, []domain.Member{g1, g2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if h := e.head(); h != head {
		t.Errorf("re-importing the same members moved the head from %d to %d", head, h)
	}
	before, _ := e.record(kMember, g1.ID)
	g1.Phone = "418 555-0100"
	if err := e.srv.Import(e.ctx, []domain.Member{g1}, nil, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := e.record(kMember, g1.ID)
	for name, v := range after.Versions {
		if changed := v != before.Versions[name]; changed != (name == "phone") {
			t.Errorf("field %s: version %+v -> %+v", name, before.Versions[name], v)
		}
	}
	var got []string
	if err := e.srv.ExportMembers(e.ctx, func(m domain.Member) error {
		got = append(got, m.Name)
		return nil
	}); err != nil || len(got) != 2 {
		t.Errorf("export: %v, %v", got, err)
	}
}

func testHealthCatalog(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	if status, _, data := e.raw(http.MethodGet, "/healthz", "", "", nil, nil); status != http.StatusOK || !strings.Contains(string(data), `"ok"`) {
		t.Errorf("healthz: %d %s", status, data)
	}
	if status, pe, _ := e.raw(http.MethodPost, "/healthz", "", "", nil, nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d %s", status, pe.Code)
	}
	if status, pe, _ := e.raw(http.MethodGet, "/v1/catalog", "", "", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("catalog without a token: %d %s", status, pe.Code)
	}
	a := e.device("ana@example.org")
	status, _, data := e.raw(http.MethodGet, "/v1/catalog", a.token, "", nil, nil)
	var cat struct{ Services []domain.Service }
	if err := json.Unmarshal(data, &cat); err != nil || status != http.StatusOK {
		t.Fatalf("catalog: %d %v", status, err)
	}
	if len(cat.Services) != len(domain.DefaultServices()) || cat.Services[0].NameFR == "" {
		t.Errorf("catalog = %+v", cat.Services)
	}
}

func testReimport(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	m := member("09", "Coopérative de Baie-Trinité")
	m.Phone = "418 555-0100"
	if err := e.srv.Import(e.ctx, []domain.Member{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	a := e.device("ana@example.org")
	a.sync()
	a.sync(a.edit(kMember, m.ID, map[string]any{"phone": "418 555-0199"}))
	noRejections(t, a)

	// The office imports the same file again, where only the notes changed.
	m.Notes = "Assemblée annuelle en septembre"
	if err := e.srv.Import(e.ctx, []domain.Member{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	r, _ := e.record(kMember, m.ID)
	if got := str(r.Fields["notes"]); got != m.Notes {
		t.Errorf("notes = %q, want the import's %q", got, m.Notes)
	}
	cs := e.conflicts(m.ID)
	if len(cs) != 1 {
		t.Fatalf("%d conflicts after the re-import, want 1 (the phone): %s", len(cs), jsonOf(cs))
	}
	c := cs[0]
	phone := str(r.Fields["phone"])
	sides := map[string]protocol.ConflictSide{c.Winner.Device: c.Winner, c.Loser.Device: c.Loser}
	if c.Field != "phone" || str(sides[a.id].Value) != "418 555-0199" || str(sides[protocol.CentralDevice].Value) != "418 555-0100" ||
		str(c.Winner.Value) != phone {
		t.Errorf("conflict %s; want the coordinator's 418 555-0199 and the import's 418 555-0100, the winner being the stored %q", jsonOf(c), phone)
	}
	a.sync()
	if !a.has(protocol.KindConflict, c.ID) {
		t.Error("the coordinator's device did not receive the conflict")
	}
	a.assertMirrors()

	head := e.head()
	if err := e.srv.Import(e.ctx, []domain.Member{m}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if h := e.head(); h != head {
		t.Errorf("a third import of the same file moved the head from %d to %d", head, h)
	}
}

func testEpochLostWork(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Chute-aux-Outardes")
	a.sync(a.create(kMember, m))
	a.sync(a.edit(kMember, m.ID, map[string]any{"notes": "Un"}), a.edit(kMember, m.ID, map[string]any{"notes": "Deux"}))
	noRejections(t, a)
	pending := a.edit(kMember, m.ID, map[string]any{"notes": "Trois"})

	refused := func(what string, muts ...protocol.Mutation) {
		t.Helper()
		before := e.dump()
		if status, pe, _ := a.post(a.request(muts, nil)); status != http.StatusConflict || pe.Code != protocol.CodeEpochChanged {
			t.Errorf("%s: %d %s, want 409 %s", what, status, pe.Code, protocol.CodeEpochChanged)
		}
		if after := e.dump(); after != before {
			t.Errorf("%s changed the backend:\n%s", what, diffLines(before, after))
		}
	}
	// A cursor past the head: the server lost changes the device received.
	saved := a.cursor
	a.cursor = e.head() + 5
	refused("cursor past the head")
	refused("cursor past the head, with a mutation", pending)
	a.cursor = saved

	// The server's count of the device's mutations is behind what it
	// acknowledged: a backup older than the device's last sync was restored.
	err := e.backend.Update(e.ctx, func(tx central.Tx) error {
		d, err := tx.Device(a.id)
		if err != nil {
			return err
		}
		d.LastSeq = 1
		return tx.PutDevice(d)
	})
	if err != nil {
		t.Fatal(err)
	}
	refused("mutation after a gap", pending)

	// The device refetches (epoch "" and cursor 0) and pushes again: served.
	a.epoch, a.cursor, a.replica = "", 0, map[string]record{}
	a.sync(pending)
	noRejections(t, a)
	if got := a.field(kMember, m.ID, "notes"); got != "Trois" {
		t.Errorf("notes after the refetch = %q", got)
	}
	a.assertMirrors()
}

func testThrottleConcurrent(t *testing.T, open func(*testing.T) central.Backend) {
	// A costlier hash keeps each password check busy for a moment, so that
	// the parallel attempts overlap.
	e := newEnv(t, open, func(o *central.Options) {
		o.Argon2 = central.Argon2Params{Time: 1, MemoryKiB: 4 << 10, Threads: 1}
	})
	e.coordinator("ana@example.org", "09")
	const attempts = 20
	statuses := make([]int, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(protocol.SessionRequest{Email: "ana@example.org", Password: "wrong password", ClientID: domain.NewID()})
			status, _, _, err := e.do(http.MethodPost, "/v1/session", "", "application/json", body, nil)
			if err != nil {
				t.Error(err)
			}
			statuses[i] = status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	// Five free failures per e-mail: only five passwords may be checked,
	// however many attempts arrive at once.
	if count[http.StatusUnauthorized] != 5 || count[http.StatusTooManyRequests] != attempts-5 {
		t.Errorf("%d parallel wrong passwords answered %v; want 5 checked (401) and %d throttled (429)", attempts, count, attempts-5)
	}
}

func testThrottleAddress(t *testing.T, open func(*testing.T) central.Backend) {
	signIn := func(e *env, email, pass string) int {
		t.Helper()
		status, _, _ := e.signIn(email, pass, domain.NewID())
		return status
	}
	e := newEnv(t, open, func(o *central.Options) { o.AddrFailures = 3 })
	e.coordinator("ana@example.org", "09")
	for i := range 3 {
		if s := signIn(e, fmt.Sprintf("nobody%d@example.org", i), "wrong password"); s != http.StatusUnauthorized {
			t.Fatalf("failure %d from the address: %d", i+1, s)
		}
	}
	if s := signIn(e, "ana@example.org", password); s != http.StatusTooManyRequests {
		t.Errorf("attempt after 3 failures from one address: %d, want 429", s)
	}

	// Successes do not count against the address.
	e = newEnv(t, open, func(o *central.Options) { o.AddrFailures = 2 })
	e.coordinator("ana@example.org", "09")
	if s := signIn(e, "nobody@example.org", "wrong password"); s != http.StatusUnauthorized {
		t.Fatalf("first failure: %d", s)
	}
	for i := range 3 {
		if s := signIn(e, "ana@example.org", password); s != http.StatusOK {
			t.Fatalf("sign-in %d: %d", i+1, s)
		}
	}
	if s := signIn(e, "nobody@example.org", "wrong password"); s != http.StatusUnauthorized {
		t.Errorf("second failure after three successes: %d, want 401", s)
	}

	// Behind a proxy every request comes from one address: the limit can be
	// turned off, and the per-e-mail one still holds.
	e = newEnv(t, open, func(o *central.Options) { o.AddrFailures = -1 })
	e.coordinator("ana@example.org", "09")
	for i := range 30 {
		if s := signIn(e, fmt.Sprintf("nobody%d@example.org", i), "wrong password"); s != http.StatusUnauthorized {
			t.Fatalf("failure %d with the address limit off: %d", i+1, s)
		}
	}
	for range 5 {
		signIn(e, "ana@example.org", "wrong password")
	}
	if s := signIn(e, "ana@example.org", password); s != http.StatusTooManyRequests {
		t.Errorf("sixth attempt on one e-mail with the address limit off: %d, want 429", s)
	}
}
