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
