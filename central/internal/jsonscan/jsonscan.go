// Package jsonscan decodes the JSON the central service stores for each
// record (its fields and their versions) without reflection. Decoding them
// with encoding/json was half of the server's time in a first sync, which
// reads every record once. Each function checks its input with json.Valid,
// reads the shapes our own encoders write, and hands anything else to
// encoding/json: the result is always what json.Unmarshal gives.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// Fields decodes a JSON object of raw values, as json.Unmarshal into a
// map[string]json.RawMessage does. The values share one copy of b.
func Fields(b []byte) (map[string]json.RawMessage, error) {
	if json.Valid(b) {
		s := Scanner{b: bytes.Clone(b)}
		if m, ok := s.Fields(); ok && s.End() {
			return m, nil
		}
	}
	var m map[string]json.RawMessage
	err := json.Unmarshal(b, &m)
	return m, err
}

// Versions decodes a JSON object of field versions, as json.Unmarshal into
// a map[string]protocol.FieldVersion does.
func Versions(b []byte) (map[string]protocol.FieldVersion, error) {
	if json.Valid(b) {
		s := Scanner{b: b}
		if m, ok := s.Versions(); ok && s.End() {
			return m, nil
		}
	}
	var m map[string]protocol.FieldVersion
	err := json.Unmarshal(b, &m)
	return m, err
}

// ValidFields is Fields for input known to be valid JSON: a PostgreSQL
// json column, which the database checked when it was written.
func ValidFields(b []byte) (map[string]json.RawMessage, error) {
	s := Scanner{b: bytes.Clone(b)}
	if m, ok := s.Fields(); ok && s.End() {
		return m, nil
	}
	return Fields(b)
}

// ValidVersions is Versions for input known to be valid JSON.
func ValidVersions(b []byte) (map[string]protocol.FieldVersion, error) {
	s := Scanner{b: b}
	if m, ok := s.Versions(); ok && s.End() {
		return m, nil
	}
	return Versions(b)
}

// Scanner reads valid JSON (the caller checks it with json.Valid) from the
// start. Its methods return ok false, having read an unknown amount, for
// what they do not read exactly as encoding/json would: the caller then
// decodes the whole input with encoding/json.
type Scanner struct {
	b []byte
	i int
}

// New returns a scanner over b, which must be valid JSON and which the
// values it returns may share.
func New(b []byte) *Scanner { return &Scanner{b: b} }

func (s *Scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// End reports whether only white space is left.
func (s *Scanner) End() bool {
	s.ws()
	return s.i == len(s.b)
}

// Null reads a null if that is what comes next.
func (s *Scanner) Null() bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// Object reads an object, calling fn with each key; fn reads the value.
func (s *Scanner) Object(fn func(key string) bool) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		key, ok := s.String()
		if !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !fn(key) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// String reads a string without escapes in valid UTF-8: encoding/json
// would unescape or replace bytes in the others.
func (s *Scanner) String() (string, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	end := bytes.IndexByte(s.b[s.i+1:], '"')
	if end < 0 {
		return "", false
	}
	raw := s.b[s.i+1 : s.i+1+end]
	if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
		return "", false
	}
	s.i += end + 2
	return string(raw), true
}

// Uint reads a number that is an unsigned integer.
func (s *Scanner) Uint() (uint64, bool) {
	s.ws()
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	n, err := strconv.ParseUint(string(s.b[start:s.i]), 10, 64)
	if err != nil || s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	return n, true
}

// Bool reads true or false.
func (s *Scanner) Bool() (bool, bool) {
	s.ws()
	rest := s.b[s.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		s.i += 4
		return true, true
	case bytes.HasPrefix(rest, []byte("false")):
		s.i += 5
		return false, true
	}
	return false, false
}

// Raw reads any value and returns its bytes.
func (s *Scanner) Raw() json.RawMessage {
	s.ws()
	start := s.i
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '"':
		s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				break
			}
		}
	default:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.b[start:s.i:s.i]
			}
			s.i++
		}
	}
	return s.b[start:s.i:s.i]
}

// skipString moves past the string that starts at s.i.
func (s *Scanner) skipString() {
	s.i++
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return
		}
		s.i++
	}
}

// Fields reads an object of raw values, or null (a nil map).
func (s *Scanner) Fields() (map[string]json.RawMessage, bool) {
	if s.Null() {
		return nil, true
	}
	m := map[string]json.RawMessage{}
	ok := s.Object(func(key string) bool {
		m[key] = s.Raw()
		return true
	})
	return m, ok
}

// Versions reads an object of field versions, or null (a nil map).
func (s *Scanner) Versions() (map[string]protocol.FieldVersion, bool) {
	if s.Null() {
		return nil, true
	}
	m := map[string]protocol.FieldVersion{}
	ok := s.Object(func(name string) bool {
		var v protocol.FieldVersion
		ok := s.Object(func(key string) bool {
			var ok bool
			switch key {
			case "hlc":
				var n uint64
				n, ok = s.Uint()
				v.HLC = hlc.Timestamp(n)
			case "seq":
				v.Seq, ok = s.Uint()
			case "device":
				v.Device, ok = s.String()
			}
			return ok
		})
		m[name] = v
		return ok
	})
	return m, ok
}
