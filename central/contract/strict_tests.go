package contract

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// testStrictKeys: keys are matched exactly and never twice, where
// encoding/json alone would take "Cursor" for "cursor" and keep the last of
// two equal keys. Each refusal is a 400 that changes nothing.
func testStrictKeys(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Sept-Îles")
	a.sync(a.create(kMember, m))
	head := e.head()

	mut := `{"seq":` + strconv.FormatUint(a.nextSeq+1, 10) + `,"kind":"member","id":"` + m.ID + `","hlc":` +
		strconv.FormatUint(uint64(a.clock.Now()), 10) + `,"fields":{"notes":"Note"}}`
	envelope := func(cursorPart, mutation string) []byte {
		return []byte(`{"client_id":"` + a.id + `","schema_version":1,` + cursorPart + `,"epoch":"` + a.epoch +
			`","mutations":[` + mutation + `]}`)
	}
	cursor := `"cursor":` + strconv.FormatUint(head, 10)
	session := func(body string) []byte {
		return []byte(strings.ReplaceAll(body, "ID", domain.NewID()))
	}
	const jsonType = "application/json"
	cases := []struct {
		name, path, token string
		body              []byte
		code              string
	}{
		{"Cursor", "/v1/sync", a.token, envelope(`"Cursor":`+strconv.FormatUint(head, 10), mut), protocol.CodeUnknownField},
		{"Client_Id", "/v1/sync", a.token, bytes.Replace(envelope(cursor, mut), []byte(`"client_id"`), []byte(`"Client_Id"`), 1), protocol.CodeUnknownField},
		{"DELETE", "/v1/sync", a.token, envelope(cursor, strings.Replace(mut, `"fields":{"notes":"Note"}`, `"DELETE":true`, 1)), protocol.CodeUnknownField},
		{"cursor and CURSOR", "/v1/sync", a.token, envelope(cursor+`,"CURSOR":`+strconv.FormatUint(head+1000, 10), mut), protocol.CodeUnknownField},
		{"cursor twice", "/v1/sync", a.token, envelope(cursor+`,"cursor":`+strconv.FormatUint(head+1000, 10), mut), protocol.CodeDuplicateKey},
		{"kind twice", "/v1/sync", a.token, envelope(cursor, strings.Replace(mut, `"kind":"member"`, `"kind":"visit","kind":"member"`, 1)), protocol.CodeDuplicateKey},
		{"field twice", "/v1/sync", a.token, envelope(cursor, strings.Replace(mut, `"notes":"Note"`, `"notes":"Note","notes":"Autre"`, 1)), protocol.CodeDuplicateKey},
		{"session: Email and PASSWORD", "/v1/session", "", session(`{"Email":"ana@example.org","PASSWORD":"` + password + `","client_id":"ID"}`), protocol.CodeUnknownField},
		{"session: password twice", "/v1/session", "", session(`{"email":"ana@example.org","password":"x","password":"` + password + `","client_id":"ID"}`), protocol.CodeDuplicateKey},
	}
	for _, tc := range cases {
		before := e.dump()
		status, pe, _ := e.raw(http.MethodPost, tc.path, tc.token, jsonType, tc.body, nil)
		if status != http.StatusBadRequest || pe.Code != tc.code {
			t.Errorf("%s: got %d %q (%s), want 400 %q", tc.name, status, pe.Code, pe.Message, tc.code)
		}
		if after := e.dump(); after != before {
			t.Errorf("%s changed the backend:\n%s", tc.name, diffLines(before, after))
		}
	}
	// The same body with exact keys applies.
	if status, pe, _ := e.raw(http.MethodPost, "/v1/sync", a.token, jsonType, envelope(cursor, mut), nil); status != http.StatusOK {
		t.Fatalf("exact keys: %d %s", status, pe.Message)
	}
}

// testSeqBounds: mutation numbers stop at protocol.MaxSeq on both backends
// alike. Past it the request is refused whole with seq_out_of_range, so no
// device is acknowledged a number it cannot follow, and no backend rounds
// it to one it can store.
func testSeqBounds(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Sept-Îles")
	a.sync(a.create(kMember, m))

	// Sent as a refetch (epoch ""), which the server does not check for a
	// gap in the numbers: that is how a device jumps to any number.
	a.epoch = ""
	for _, seq := range []uint64{protocol.MaxSeq + 1, 1 << 63, 1<<64 - 1} {
		for _, note := range []string{"un", "deux", "trois"} {
			mut := a.edit(kMember, m.ID, map[string]any{"notes": note})
			mut.Seq = seq
			before := e.dump()
			status, pe, _ := a.post(a.request([]protocol.Mutation{mut}, nil))
			if status != http.StatusBadRequest || pe.Code != protocol.CodeSeqOutOfRange {
				t.Errorf("seq %d: %d %q (%s), want 400 %s", seq, status, pe.Code, pe.Message, protocol.CodeSeqOutOfRange)
			}
			if after := e.dump(); after != before {
				t.Errorf("seq %d changed the backend:\n%s", seq, diffLines(before, after))
			}
		}
	}
	// The largest number is stored exactly: sent again with other notes,
	// it is a retry and changes nothing.
	for i, note := range []string{"un", "deux", "trois"} {
		mut := a.edit(kMember, m.ID, map[string]any{"notes": note})
		mut.Seq = protocol.MaxSeq
		a.epoch = ""
		status, pe, resp := a.post(a.request([]protocol.Mutation{mut}, nil))
		if status != http.StatusOK || resp.AckedThrough != protocol.MaxSeq {
			t.Fatalf("seq MaxSeq, try %d: %d %s acked %d", i, status, pe.Message, resp.AckedThrough)
		}
		a.apply(resp)
	}
	if r, _ := e.record(kMember, m.ID); str(r.Fields["notes"]) != "un" {
		t.Errorf("notes = %q after three sends of one seq, want the first", str(r.Fields["notes"]))
	}
	if d := e.deviceState(a.id); d.LastSeq != protocol.MaxSeq {
		t.Errorf("last seq %d, want %d", d.LastSeq, uint64(protocol.MaxSeq))
	}
}

// testCursorAhead: a cursor past the head, from a device without an epoch,
// is never answered with a silent empty feed: it gets 409 epoch_changed,
// after which the app refetches from 0 and receives everything.
func testCursorAhead(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	var ids []string
	var muts []protocol.Mutation
	for i := range 5 {
		m := member("09", "Coopérative "+strconv.Itoa(i))
		ids = append(ids, m.ID)
		muts = append(muts, a.create(kMember, m))
	}
	a.sync(muts...)
	head := e.head()

	b := e.device("ana@example.org")
	for _, cursor := range []uint64{head + 1, head + 1000, protocol.MaxSeq} {
		b.cursor = cursor
		status, pe, _ := b.post(b.request(nil, nil))
		if status != http.StatusConflict || pe.Code != protocol.CodeEpochChanged {
			t.Errorf("new device, cursor %d past head %d: %d %q (%s), want 409 %s", cursor, head, status, pe.Code, pe.Message, protocol.CodeEpochChanged)
		}
	}
	// With a push the answer is the same, and the push is not applied (the
	// app sends it again after the refetch).
	b.cursor = head + 1000
	push := b.edit(kMember, ids[0], map[string]any{"notes": "poussée"})
	before := e.dumpData()
	if status, pe, _ := b.post(b.request([]protocol.Mutation{push}, nil)); status != http.StatusConflict || pe.Code != protocol.CodeEpochChanged {
		t.Errorf("new device pushing with cursor past head: %d %q, want 409 %s", status, pe.Code, protocol.CodeEpochChanged)
	}
	if after := e.dumpData(); after != before {
		t.Errorf("refused push changed the data:\n%s", diffLines(before, after))
	}
	b.cursor = 0
	b.sync(push)
	for _, id := range ids {
		if !b.has(kMember, id) {
			t.Errorf("after the refetch the device lacks member %s", id)
		}
	}
}

// jsonBody marshals v for a raw request.
func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
