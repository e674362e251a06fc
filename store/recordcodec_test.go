package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"leconsortium.coop/terrain/domain"
)

// codecSamples are one record of each kind, as pulled.
func codecSamples(t testing.TB) []Change {
	g := newFixtureGen(7)
	m := g.member(1)
	v := g.visit(m.ID, g.id(fxEpoch))
	f := g.followUp(v)
	return []Change{
		changeOf(t, domain.KindMember, m.ID, &m, 10, "central"),
		changeOf(t, domain.KindVisit, v.ID, &v, 11, "central"),
		changeOf(t, domain.KindFollowUp, f.ID, &f, 12, "central"),
	}
}

// trickyRaws are values a field may carry on the wire, for any field.
var trickyRaws = []string{
	`"plain"`, `"é à ç Œ"`, `"a\"b"`, `"line\nbreak"`, `"tab\there"`, `"<b>&amp;</b>"`,
	"\"\u2028 \u2029\"", `"\u2028"`, `"\ud800"`, "\"\xff\xfe\"", `"\u00e9"`, "\"\x01\"", `"a\\b"`,
	`null`, ``, `""`, `12`, `-3`, `0`, `-0`, `01`, `1.5`, `1e3`, `99999999999999999999`, `true`, `{}`,
	`[]`, `["a","b"]`, `[ "a" ]`, `["a",]`, `["a\"b"]`, `[null]`, `["a",1]`, `[""]`, `["b","a","b"]`,
	`"2024-02-30"`, `"2024-01-02"`, `"2024-1-2"`, ` "x"`, `"x" `, `"unterminated`,
}

// trickyTexts are texts a normalised value may hold.
var trickyTexts = []string{"", "plain", "é à ç", `a"b`, "a\\b", "<script>&", "a<b", "a>b", "a&b", "é<", "\u2028\u2029", "\x7f\x01\n\t",
	"\xff bad", "\ufffd", "😀 emoji", "\u00a0nbsp"}

func TestRecordCodecsCoverTheDomain(t *testing.T) {
	for kind, c := range recordCodecs {
		if c == nil {
			t.Errorf("%s: no codec: every pulled %s goes through encoding/json", kind, kind)
			continue
		}
		if n := c.typ.NumField(); len(c.fields) != n {
			t.Errorf("%s: codec has %d fields, the struct %d", kind, len(c.fields), n)
		}
	}
}

// TestRecordCodecMatchesJSON decodes each sample with every field replaced
// by each tricky value, and encodes what that gives: whenever the codec
// answers, it must answer what encoding/json does.
func TestRecordCodecMatchesJSON(t *testing.T) {
	for _, c := range codecSamples(t) {
		codec := recordCodecs[c.Kind]
		if _, ok := codec.decode(c.Fields, c.ID); !ok {
			t.Fatalf("%s: the codec does not decode a plain record", c.Kind)
		}
		for _, f := range codec.fields {
			for _, raw := range trickyRaws {
				fields := map[string]json.RawMessage{}
				for k, v := range c.Fields {
					fields[k] = v
				}
				fields[f.name] = json.RawMessage(raw)
				want, werr := decodeValue(c.Kind, appendObject(nil, fields, c.ID))
				got, ok := codec.decode(fields, c.ID)
				if ok && werr != nil {
					t.Errorf("%s.%s = %#q: codec decoded, encoding/json: %v", c.Kind, f.name, raw, werr)
				}
				if ok && werr == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("%s.%s = %#q: codec %+v, encoding/json %+v", c.Kind, f.name, raw, got, want)
				}
				if werr == nil {
					checkEncode(t, codec, want)
					normalize(want)
					checkEncode(t, codec, want)
				}
			}
		}
		for _, name := range []string{"unknown", "NAME", "Notes", "iD"} {
			fields := map[string]json.RawMessage{name: json.RawMessage(`"x"`)}
			if _, ok := codec.decode(fields, c.ID); ok {
				t.Errorf("%s: the codec decoded key %q, which only encoding/json can match", c.Kind, name)
			}
		}
	}
}

// TestRecordCodecEncodesTexts puts each tricky text in every text field.
func TestRecordCodecEncodesTexts(t *testing.T) {
	for _, c := range codecSamples(t) {
		codec := recordCodecs[c.Kind]
		for _, f := range codec.fields {
			for _, text := range trickyTexts {
				value, _ := codec.decode(c.Fields, c.ID)
				fv := reflect.ValueOf(value).Elem().Field(f.index)
				switch f.kind {
				case codecString:
					fv.SetString(text)
				case codecStrings:
					fv.Set(reflect.ValueOf([]string{text, "x", text}))
				default:
					continue
				}
				checkEncode(t, codec, value)
			}
		}
	}
}

func checkEncode(t *testing.T, codec *recordCodec, value any) {
	t.Helper()
	want, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := codec.encode(nil, value); ok && !bytes.Equal(got, want) {
		t.Errorf("codec encoded\n%s\nencoding/json\n%s", got, want)
	}
}

// withField returns fields with name set to raw, leaving fields as they are.
func withField(fields map[string]json.RawMessage, name, raw string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		out[k] = v
	}
	out[name] = json.RawMessage(raw)
	return out
}

// FuzzRecordCodec decodes a member whose name and services carry the
// fuzzer's bytes: the codec must agree with encoding/json.
func FuzzRecordCodec(f *testing.F) {
	for _, raw := range trickyRaws {
		f.Add(raw, `["hr"]`, `45`)
	}
	samples := codecSamples(f)
	f.Fuzz(func(t *testing.T, name, services, minutes string) {
		for _, c := range samples[:2] {
			codec := recordCodecs[c.Kind]
			fields := withField(withField(c.Fields, "name", name), "services", services)
			fields = withField(withField(fields, "duration_minutes", minutes), "notes", name)
			want, werr := decodeValue(c.Kind, appendObject(nil, fields, c.ID))
			got, ok := codec.decode(fields, c.ID)
			if ok && (werr != nil || !reflect.DeepEqual(got, want)) {
				t.Fatalf("%s: codec %+v, encoding/json %+v (%v)", c.Kind, got, want, werr)
			}
			if werr == nil {
				checkEncode(t, codec, want)
			}
		}
	})
}

// TestEncodeSummary holds encodeSummary to json.Marshal.
func TestEncodeSummary(t *testing.T) {
	g := newFixtureGen(3)
	var sums []*memberSummary
	for i := range 20 {
		m := g.member(i)
		sums = append(sums, summaryOf(&m, i*10000))
	}
	for _, text := range trickyTexts {
		sums = append(sums, &memberSummary{Name: text, Municipality: text, Region: text, LegalForm: domain.LegalForm(text),
			Status: domain.MemberStatus(text), Services: []string{text}, NEQ: text, ContactName: text, LastVisit: -1})
	}
	sums = append(sums, &memberSummary{}, &memberSummary{Services: []string{}})
	for _, sum := range sums {
		want, err := json.Marshal(sum)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeSummary(sum); !bytes.Equal(got, want) {
			t.Errorf("encodeSummary\n%s\njson.Marshal\n%s", got, want)
		}
	}
}

// A follow-up written before completion was recorded has no done_on nor
// done_by: the codec reads it, with both empty.
func TestRecordCodecReadsFollowUpsWithoutCompletion(t *testing.T) {
	f := newFixtureGen(7).followUp(domain.Visit{ID: "0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7d",
		MemberID: "0190a8c5-3f2e-7b7a-9c1d-2e3f4a5b6c7e", Date: domain.NewDate(2020, 1, 1)})
	f.Status, f.DoneOn, f.DoneBy = domain.FollowUpDone, domain.NewDate(2020, 2, 1), "Luc"
	c := changeOf(t, domain.KindFollowUp, f.ID, &f, 12, "central")
	delete(c.Fields, "done_on")
	delete(c.Fields, "done_by")
	got, ok := recordCodecs[domain.KindFollowUp].decode(c.Fields, c.ID)
	if !ok {
		t.Fatal("the codec does not read a follow-up without done_on and done_by")
	}
	old := got.(*domain.FollowUp)
	if !old.DoneOn.IsZero() || old.DoneBy != "" || old.Status != domain.FollowUpDone || old.Description != f.Description {
		t.Errorf("decoded %+v", old)
	}
}
