package contract

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// testTextRefusedCleanly: text PostgreSQL cannot hold (U+0000) and text
// that forges what a table or a log shows never reaches a backend raw, and
// both backends answer alike.
func testTextRefusedCleanly(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	session := func(email, deviceName string) (int, protocol.Error, string) {
		id := domain.NewID()
		body := jsonBody(t, protocol.SessionRequest{Email: email, Password: password, ClientID: id, DeviceName: deviceName})
		status, pe, _ := e.raw(http.MethodPost, "/v1/session", "", "application/json", body, nil)
		return status, pe, id
	}
	for _, email := range []string{"ana@example.org\x00", "ana\x00@example.org", "ana@example.org\u202e", "ana@example.org\n"} {
		before := e.dump()
		if status, pe, _ := session(email, "Portable"); status != http.StatusBadRequest || pe.Code != protocol.CodeBadRequest {
			t.Errorf("sign-in e-mail %q: %d %q (%s), want 400 %s", email, status, pe.Code, pe.Message, protocol.CodeBadRequest)
		}
		if after := e.dump(); after != before {
			t.Errorf("sign-in e-mail %q changed the backend:\n%s", email, diffLines(before, after))
		}
	}
	// A device name is cleaned, not refused: ANSI escapes, line breaks and
	// U+0000 leave it before it is stored.
	status, pe, id := session("ana@example.org", "Portable\x00 d'Ana\x1b[2J\n2025-06-16 fake row\u202e")
	if status != http.StatusOK {
		t.Fatalf("sign-in with an odd device name: %d %s", status, pe.Message)
	}
	if got, want := e.deviceState(id).Name, "Portable d'Ana[2J 2025-06-16 fake row"; got != want {
		t.Errorf("device name stored as %q, want %q", got, want)
	}

	// U+0000 in a field name or a field value: a rejection, or a value
	// cleaned, never a 500 (PostgreSQL text cannot hold it).
	a0 := e.device("ana@example.org")
	m0 := member("09", "Coopérative U+0000")
	a0.sync(a0.create(kMember, m0))
	bad := a0.edit(kMember, m0.ID, map[string]any{"notes": "avant\x00après"})
	bad.Fields["no\x00tes"] = jsonRaw(t, "x")
	a0.sync(bad)
	if len(a0.lastRej) != 1 || a0.lastRej[0].Code != protocol.RejectUnknownField {
		t.Errorf("field name with U+0000: rejections %+v, want one %s", a0.lastRej, protocol.RejectUnknownField)
	}
	a0.sync(a0.edit(kMember, m0.ID, map[string]any{"notes": "avant\x00après"}))
	noRejections(t, a0)
	if r, _ := e.record(kMember, m0.ID); str(r.Fields["notes"]) != "avantaprès" {
		t.Errorf("notes with U+0000 stored as %q", str(r.Fields["notes"]))
	}

	// Member names and other single-line fields: controls, bidi overrides,
	// zero-width characters and non-characters are stripped on the way in;
	// notes keep their lines and tabs.
	a := e.device("ana@example.org")
	m := member("09", "Coopérative")
	mut := a.create(kMember, m)
	mut.Fields["name"] = jsonRaw(t, "\u202eCoopérative\u200b \x00La\u009b Ruche\ufdd0\nFausse ligne")
	mut.Fields["contact_name"] = jsonRaw(t, "Josée\tCôté\x1b[31m")
	mut.Fields["notes"] = jsonRaw(t, "Ligne 1\n\tLigne 2\x00\u2066")
	a.sync(mut)
	noRejections(t, a)
	r, _ := e.record(kMember, m.ID)
	for field, want := range map[string]string{
		"name":         "Coopérative La Ruche Fausse ligne",
		"contact_name": "Josée Côté[31m",
		"notes":        "Ligne 1\n\tLigne 2",
	} {
		if got := str(r.Fields[field]); got != want {
			t.Errorf("stored %s = %q, want %q", field, got, want)
		}
		if got := a.field(kMember, m.ID, field); got != str(r.Fields[field]) {
			t.Errorf("device holds %s = %q, the server %q", field, got, str(r.Fields[field]))
		}
	}
}

// testReferencesChecked: a service id must be in the catalog, and a
// follow-up's visit must be a visit of the same member.
func testReferencesChecked(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	bob := e.coordinator("bob@example.org", "06")
	a, b := e.device("ana@example.org"), e.device("bob@example.org")
	m, other := member("09", "Coopérative de Sept-Îles"), member("09", "Coopérative de Port-Cartier")
	mine := visit(m, ana.ID, e.today())
	a.sync(a.create(kMember, m), a.create(kMember, other), a.create(kVisit, mine))
	far := member("06", "Coopérative de Laval")
	farVisit := visit(far, bob.ID, e.today())
	otherVisit := visit(other, ana.ID, e.today())
	b.sync(b.create(kMember, far), b.create(kVisit, farVisit))
	a.sync(a.create(kVisit, otherVisit))
	noRejections(t, a)
	noRejections(t, b)

	refused := func(name string, mut protocol.Mutation, field, code string) protocol.Rejection {
		t.Helper()
		before := e.dumpData()
		a.sync(mut)
		if len(a.lastRej) != 1 || a.lastRej[0].Code != protocol.RejectInvalid || !reflect.DeepEqual(a.lastRej[0].Fields, []domain.FieldError{{Field: field, Code: code}}) {
			t.Errorf("%s: rejections %+v, want one %s on %s", name, a.lastRej, protocol.RejectInvalid, field)
			return protocol.Rejection{}
		}
		if after := e.dumpData(); after != before {
			t.Errorf("%s changed the data:\n%s", name, diffLines(before, after))
		}
		rj := a.lastRej[0]
		rj.Seq, rj.ID = 0, ""
		return rj
	}
	v := visit(m, ana.ID, e.today())
	v.ServicesDiscussed = []string{"hr", "nope"}
	refused("visit with an unknown service", a.create(kVisit, v), "services_discussed", domain.CodeService)
	fu := followUp(m, e.today())
	fu.ServiceID = "nope"
	refused("follow-up with an unknown service", a.create(kFollowUp, fu), "service_id", domain.CodeService)
	refused("member with an unknown service", a.edit(kMember, m.ID, map[string]any{"services": []string{"hr", "nope"}}), "services", domain.CodeService)

	var answers []protocol.Rejection
	for name, visitID := range map[string]string{
		"another region's visit": farVisit.ID,
		"a visit that never was": domain.NewID(),
		"another member's visit": otherVisit.ID,
	} {
		fu := followUp(m, e.today())
		fu.VisitID = visitID
		answers = append(answers, refused("follow-up pointing at "+name, a.create(kFollowUp, fu), "visit_id", domain.CodeBadID))
	}
	for _, rj := range answers[1:] {
		if !reflect.DeepEqual(rj, answers[0]) {
			t.Errorf("answers differ: %+v and %+v", answers[0], rj)
		}
	}
	// The visit of its own member is accepted.
	fu = followUp(m, e.today())
	fu.VisitID = mine.ID
	a.sync(a.create(kFollowUp, fu))
	noRejections(t, a)
}

// testOutOfScopeLooksAbsent: an edit naming another region's record is
// answered exactly as the same edit naming a record that does not exist.
func testOutOfScopeLooksAbsent(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("bob@example.org", "06")
	a, b := e.device("ana@example.org"), e.device("bob@example.org")
	far := member("06", "Coopérative de Laval")
	b.sync(b.create(kMember, far))
	a.sync()

	answer := func(mut protocol.Mutation) protocol.Rejection {
		t.Helper()
		before := e.dumpData()
		a.sync(mut)
		if after := e.dumpData(); after != before {
			t.Errorf("refused edit changed the data:\n%s", diffLines(before, after))
		}
		if len(a.lastRej) != 1 {
			t.Fatalf("rejections %+v, want one", a.lastRej)
		}
		rj := a.lastRej[0]
		rj.Seq, rj.ID = 0, ""
		return rj
	}
	pairs := []struct {
		name           string
		exists, absent func() protocol.Mutation
	}{
		{"visit of a member", func() protocol.Mutation {
			return a.create(kVisit, visit(far, ana.ID, e.today()))
		}, func() protocol.Mutation {
			return a.create(kVisit, visit(member("06", "x"), ana.ID, e.today()))
		}},
		{"follow-up of a member", func() protocol.Mutation {
			return a.create(kFollowUp, followUp(far, e.today()))
		}, func() protocol.Mutation {
			return a.create(kFollowUp, followUp(member("06", "x"), e.today()))
		}},
		{"edit of a member by id", func() protocol.Mutation {
			return a.edit(kMember, far.ID, map[string]any{"notes": "vu"})
		}, func() protocol.Mutation {
			return a.edit(kMember, domain.NewID(), map[string]any{"notes": "vu"})
		}},
	}
	for _, p := range pairs {
		got, want := answer(p.exists()), answer(p.absent())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: existing record answered %+v, absent one %+v", p.name, got, want)
		}
		if strings.Contains(got.Message, "06") {
			t.Errorf("%s: answer names the region: %q", p.name, got.Message)
		}
	}
}

// testEqualAfterNormalisation: two devices writing the same value in two
// spellings make no conflict, and a conflict keeps values as stored.
func testEqualAfterNormalisation(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a, b := e.device("ana@example.org"), e.device("ana@example.org")
	m := member("09", "Coopérative")
	a.sync(a.create(kMember, m))
	b.sync()
	const nfc, nfd = "Coopérative de l'Île", "Coope\u0301rative de l'I\u0302le"
	a.sync(a.edit(kMember, m.ID, map[string]any{"name": nfc, "postal_code": "G4R 1A1", "email": "info@laruche.org"}))
	b.sync(b.edit(kMember, m.ID, map[string]any{"name": nfd, "postal_code": "g4r1a1", "email": "INFO@LaRuche.org"}))
	a.sync()
	noRejections(t, a)
	noRejections(t, b)
	if cs := e.conflicts(m.ID); len(cs) != 0 {
		t.Errorf("%d conflicts between spellings of one value: %s", len(cs), jsonOf(cs))
	}
	for _, d := range []*device{a, b} {
		if got := d.field(kMember, m.ID, "name"); got != nfc {
			t.Errorf("device %s: name = %q, want NFC %q", d.id[:8], got, nfc)
		}
	}

	// A real conflict keeps both values in stored (NFC) form.
	a.sync(a.edit(kMember, m.ID, map[string]any{"contact_name": "Josée Côté"}))
	b.sync(b.edit(kMember, m.ID, map[string]any{"contact_name": "Jose\u0301e Tremblay"}))
	cs := e.conflicts(m.ID)
	if len(cs) != 1 {
		t.Fatalf("%d conflicts, want 1: %s", len(cs), jsonOf(cs))
	}
	for _, side := range []protocol.ConflictSide{cs[0].Winner, cs[0].Loser} {
		var s string
		_ = json.Unmarshal(side.Value, &s)
		if s != "Josée Côté" && s != "Josée Tremblay" {
			t.Errorf("conflict keeps %q, not the stored form", s)
		}
	}
}

func jsonRaw(t *testing.T, v any) json.RawMessage {
	t.Helper()
	return json.RawMessage(jsonBody(t, v))
}
