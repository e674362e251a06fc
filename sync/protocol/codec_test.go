package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
)

const (
	clientID = "01900000-0000-7000-8000-00000000000a"
	memberID = "01900000-0000-7000-8000-00000000000b"
)

func validRequest() SyncRequest {
	return SyncRequest{
		ClientID: clientID, SchemaVersion: SchemaVersion, Cursor: 41, Epoch: "e1",
		AppVersion: "0.2.0-3-gabc1234",
		Mutations: []Mutation{
			{Seq: 1, Kind: domain.KindMember, ID: memberID, HLC: 7,
				Fields: map[string]json.RawMessage{"name": raw(`"Coopérative"`)}, Base: map[string]uint64{"name": 40}},
			// A delete names the version of every field it was made on, so
			// the server can tell a delete that raced an edit.
			{Seq: 3, Kind: domain.KindVisit, ID: memberID, Delete: true, HLC: 8,
				Base: map[string]uint64{"notes": 12, "date": 0}},
		},
	}
}

func TestDecodeRequestRoundTrip(t *testing.T) {
	want := validRequest()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	good, _ := json.Marshal(validRequest())
	edit := func(fn func(*SyncRequest)) []byte {
		r := validRequest()
		fn(&r)
		b, _ := json.Marshal(r)
		return b
	}
	tests := []struct {
		name string
		body []byte
		code string
	}{
		{"malformed", []byte(`{"client_id":`), CodeMalformed},
		{"trailing value", append(append([]byte{}, good...), []byte(` {}`)...), CodeMalformed},
		{"array", []byte(`[]`), CodeMalformed},
		{"unknown field", []byte(`{"client_id":"` + clientID + `","schema_version":1,"extra":1}`), CodeUnknownField},
		{"invalid UTF-8", bytes.Replace(good, []byte("Coopérative"), []byte("Coop\xe9rative"), 1), CodeInvalidUTF8},
		{"old schema", edit(func(r *SyncRequest) { r.SchemaVersion = 0 }), CodeUnsupportedSchema},
		{"bad client id", edit(func(r *SyncRequest) { r.ClientID = "ABC" }), CodeBadRequest},
		{"long epoch", edit(func(r *SyncRequest) { r.Epoch = strings.Repeat("e", 300) }), CodeBadRequest},
		{"long app version", edit(func(r *SyncRequest) { r.AppVersion = strings.Repeat("1", 65) }), CodeBadRequest},
		{"app version with a control code", edit(func(r *SyncRequest) { r.AppVersion = "1.0\x1b[31m" }), CodeBadRequest},
		{"seq zero", edit(func(r *SyncRequest) { r.Mutations[0].Seq = 0 }), CodeBadRequest},
		{"seq not increasing", edit(func(r *SyncRequest) { r.Mutations[1].Seq = 1 }), CodeBadRequest},
		{"seq 2^53", edit(func(r *SyncRequest) { r.Mutations[1].Seq = MaxSeq + 1 }), CodeSeqOutOfRange},
		{"seq 2^63", edit(func(r *SyncRequest) { r.Mutations[1].Seq = 1 << 63 }), CodeSeqOutOfRange},
		{"seq 2^64-1", edit(func(r *SyncRequest) { r.Mutations[1].Seq = 1<<64 - 1 }), CodeSeqOutOfRange},
		{"base past 2^53", edit(func(r *SyncRequest) { r.Mutations[0].Base["name"] = 1 << 63 }), CodeSeqOutOfRange},
		{"backfill past 2^53", edit(func(r *SyncRequest) { r.Backfill = &Backfill{Through: 1 << 60, After: 1} }), CodeSeqOutOfRange},
		{"unknown kind", edit(func(r *SyncRequest) { r.Mutations[0].Kind = "invoice" }), CodeBadRequest},
		{"upper-case id", edit(func(r *SyncRequest) { r.Mutations[0].ID = strings.ToUpper(memberID) }), CodeBadRequest},
		{"delete with fields", edit(func(r *SyncRequest) { r.Mutations[1].Fields = r.Mutations[0].Fields }), CodeBadRequest},
		{"edit without fields", edit(func(r *SyncRequest) { r.Mutations[0].Fields = nil; r.Mutations[0].Base = nil }), CodeBadRequest},
		{"base of an unchanged field", edit(func(r *SyncRequest) { r.Mutations[0].Base["phone"] = 1 }), CodeBadRequest},
		{"delete base with an empty name", edit(func(r *SyncRequest) { r.Mutations[1].Base[""] = 1 }), CodeBadRequest},
		{"delete base with a huge name", edit(func(r *SyncRequest) { r.Mutations[1].Base[strings.Repeat("n", MaxNameBytes+1)] = 1 }), CodeBadRequest},
		{"empty field name", edit(func(r *SyncRequest) { r.Mutations[0].Fields[""] = raw(`1`) }), CodeBadRequest},
		{"huge field", edit(func(r *SyncRequest) {
			r.Mutations[0].Fields["notes"] = raw(`"` + strings.Repeat("x", MaxFieldBytes) + `"`)
		}), CodeFieldTooLarge},
		// encoding/json matches keys without regard to case and keeps the
		// last of two equal keys: both are refused.
		{"key in another case", bytes.Replace(good, []byte(`"cursor"`), []byte(`"Cursor"`), 1), CodeUnknownField},
		{"delete in capitals", bytes.Replace(good, []byte(`"delete"`), []byte(`"DELETE"`), 1), CodeUnknownField},
		{"client_id mixed case", bytes.Replace(good, []byte(`"client_id"`), []byte(`"Client_Id"`), 1), CodeUnknownField},
		{"kelvin sign", bytes.Replace(good, []byte(`"kind"`), []byte(`"Kind"`), 1), CodeUnknownField},
		{"cursor twice in two cases", bytes.Replace(good, []byte(`"cursor":41`), []byte(`"cursor":41,"CURSOR":1041`), 1), CodeUnknownField},
		{"cursor twice", bytes.Replace(good, []byte(`"cursor":41`), []byte(`"cursor":41,"cursor":1041`), 1), CodeDuplicateKey},
		{"escaped duplicate", bytes.Replace(good, []byte(`"cursor":41`), []byte(`"cursor":41,"\u0063ursor":1041`), 1), CodeDuplicateKey},
		{"kind twice", bytes.Replace(good, []byte(`"kind":"member"`), []byte(`"kind":"member","kind":"visit"`), 1), CodeDuplicateKey},
		{"field named twice", bytes.Replace(good, []byte(`"name":"Coopérative"`), []byte(`"name":"Coopérative","name":"Autre"`), 1), CodeDuplicateKey},
		{"duplicate inside a field value", bytes.Replace(good, []byte(`"name":"Coopérative"`), []byte(`"name":{"a":1,"a":2}`), 1), CodeDuplicateKey},
		{"too many mutations", edit(func(r *SyncRequest) {
			r.Mutations = nil
			for i := 1; i <= MaxMutations+1; i++ {
				r.Mutations = append(r.Mutations, Mutation{Seq: uint64(i), Kind: domain.KindVisit, ID: memberID, Delete: true})
			}
		}), CodeTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.body)
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != tc.code || de.Message == "" {
				t.Errorf("DecodeRequest: %v, want code %s", err, tc.code)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	plain := []byte(`{"a":"Île"}`)
	got, err := ReadBody(bytes.NewReader(plain), false, 100)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("plain: %q, %v", got, err)
	}
	zipped, err := EncodeBody(map[string]string{"a": "Île"}, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err = ReadBody(bytes.NewReader(zipped), true, 100)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("gzip: %q, %v", got, err)
	}
	var de *DecodeError
	if _, err := ReadBody(bytes.NewReader(plain), false, 5); !errors.As(err, &de) || de.Code != CodeTooLarge || !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	_ = zw.Close()
	if _, err := ReadBody(&buf, true, 1000); !errors.As(err, &de) || de.Code != CodeTooLarge {
		t.Errorf("gzip bomb: %v", err)
	}
	if _, err := ReadBody(bytes.NewReader(plain), true, 100); !errors.As(err, &de) || de.Code != CodeMalformed {
		t.Errorf("not gzip: %v", err)
	}
	if _, err := ReadBody(bytes.NewReader(zipped[:len(zipped)-4]), true, 100); !errors.As(err, &de) || de.Code != CodeMalformed {
		t.Errorf("truncated gzip: %v", err)
	}
	if _, err := ReadBody(bytes.NewReader(nil), true, 100); !errors.As(err, &de) || de.Code != CodeMalformed {
		t.Errorf("empty body announced as gzip: %v", err)
	}
	failing := io.MultiReader(bytes.NewReader(plain), errReader{})
	if _, err := ReadBody(failing, false, 100); err == nil || errors.As(err, &de) {
		t.Errorf("transport error reported as %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeRequestLargestSeq(t *testing.T) {
	r := validRequest()
	r.Mutations[1].Seq = MaxSeq
	b, _ := json.Marshal(r)
	if _, err := DecodeRequest(b); err != nil {
		t.Errorf("seq %d: %v", uint64(MaxSeq), err)
	}
}

func TestDecodeRequestKeysExact(t *testing.T) {
	// A field map's keys are names the server checks itself: another case
	// there is not an alias of a struct field, so it decodes as sent.
	b := []byte(`{"client_id":"` + clientID + `","schema_version":1,"mutations":[{"seq":1,"kind":"member","id":"` + memberID + `","fields":{"Notes":"x"},"hlc":1}]}`)
	req, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := req.Mutations[0].Fields["Notes"]; !ok {
		t.Errorf("fields = %v", req.Mutations[0].Fields)
	}
}

func TestDecodeSession(t *testing.T) {
	ok := `{"email":"ana@example.org","password":"secret","client_id":"` + clientID + `"}`
	if r, err := DecodeSession([]byte(ok)); err != nil || r.Email != "ana@example.org" {
		t.Errorf("valid session: %+v, %v", r, err)
	}
	for _, body := range []string{
		`{"email":"","password":"x","client_id":"` + clientID + `"}`,
		`{"email":"a@b.c","password":"x","client_id":"nope"}`,
		`{"email":"a@b.c","password":"` + strings.Repeat("p", 300) + `","client_id":"` + clientID + `"}`,
		`{"email":"a@b.c","password":"x","client_id":"` + clientID + `","admin":true}`,
	} {
		if _, err := DecodeSession([]byte(body)); err == nil {
			t.Errorf("DecodeSession accepted %s", body)
		}
	}
}

func TestEncodeBodyIsJSON(t *testing.T) {
	b, err := EncodeBody(SyncResponse{Epoch: "e", Cursor: 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	var back SyncResponse
	if err := DecodeStrict(b, &back); err != nil || back.Cursor != 3 {
		t.Errorf("EncodeBody output does not decode strictly: %s, %v", b, err)
	}
}

// TestDecodeLenient: the session answer and error bodies come from a server
// that may be newer (unknown keys pass) but never from one whose keys are
// ambiguous.
func TestDecodeLenient(t *testing.T) {
	var sr SessionResponse
	if err := DecodeLenient([]byte(`{"token":"a","epoch":"e1","motd":"hello","coordinator":{"id":"c","name":"Ana","x":1}}`), &sr); err != nil || sr.Token != "a" {
		t.Errorf("newer answer: %v %+v", err, sr)
	}
	for _, body := range []string{
		`{"token":"a","Token":"b"}`,
		`{"token":"a","token":"b"}`,
		`{"token":"a","coordinator":{"ROLE":"admin"}}`,
		`{"token":"a"} {}`,
	} {
		var sr SessionResponse
		var de *DecodeError
		if err := DecodeLenient([]byte(body), &sr); !errors.As(err, &de) {
			t.Errorf("%s: %v, want a *DecodeError", body, err)
		}
	}
}

// TestDecodeStrictEmbedded: the fields of an embedded struct are known by
// their own names, as encoding/json promotes them.
func TestDecodeStrictEmbedded(t *testing.T) {
	type inner struct {
		A int `json:"a"`
	}
	type outer struct {
		inner
		B int `json:"b"`
	}
	var v outer
	if err := DecodeStrict([]byte(`{"a":1,"b":2}`), &v); err != nil || v.A != 1 || v.B != 2 {
		t.Errorf("embedded: %v %+v", err, v)
	}
	var de *DecodeError
	if err := DecodeStrict([]byte(`{"A":1,"b":2}`), &v); !errors.As(err, &de) || de.Code != CodeUnknownField {
		t.Errorf("embedded field in another case: %v", err)
	}
}
