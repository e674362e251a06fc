package store

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"leconsortium.coop/terrain/domain"
)

// A first sync decodes and encodes 100,000 records; encoding/json spends
// most of that time validating and reflecting. recordCodec does the same for
// the plain fields the domain structs have (text, lists of text, integers,
// and types with their own JSON methods, called as encoding/json calls
// them), from the pulled fields straight into the struct and back, with
// exactly encoding/json's result. Whatever it does not handle (a key that
// is not a field's exact name, a value of an unexpected type, an error) is
// left to encoding/json, for the record or the value. The codec of a struct
// whose fields it cannot all handle is nil: encoding/json does it all.

type codecKind int

const (
	codecString  codecKind = iota // a string kind
	codecStrings                  // []string
	codecInt                      // a signed integer kind
	codecMethods                  // json.Marshaler and json.Unmarshaler
	codecDate                     // domain.Date, whose methods are known
)

type codecField struct {
	name  string
	index int
	kind  codecKind
}

type recordCodec struct {
	typ    reflect.Type
	fields []codecField // in struct order, as encoding/json writes them
	byName map[string]int
	id     int // index of the "id" field
}

var recordCodecs = map[domain.Kind]*recordCodec{
	domain.KindMember:   newRecordCodec(reflect.TypeFor[domain.Member]()),
	domain.KindVisit:    newRecordCodec(reflect.TypeFor[domain.Visit]()),
	domain.KindFollowUp: newRecordCodec(reflect.TypeFor[domain.FollowUp]()),
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	stringType      = reflect.TypeFor[string]()
	// domain.Date writes its String as a JSON string and reads one with
	// ParseDate; doing so directly spares a json.Marshal and a
	// json.Unmarshal per date. TestRecordCodecMatchesJSON holds it to
	// its methods.
	dateType = reflect.TypeFor[domain.Date]()
)

// newRecordCodec returns the codec of struct type t, nil when a field is
// beyond it: a tag with options, an embedded or unexported field, a name
// that needs escaping or that differs from another only in case, a type
// with text methods or of another kind.
func newRecordCodec(t reflect.Type) *recordCodec {
	c := &recordCodec{typ: t, byName: map[string]int{}, id: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("json")
		if f.Anonymous || !f.IsExported() || !plainName(name) {
			return nil
		}
		for other := range c.byName {
			if strings.EqualFold(other, name) {
				return nil
			}
		}
		var kind codecKind
		switch {
		case f.Type == dateType:
			kind = codecDate
		case reflect.PointerTo(f.Type).Implements(jsonUnmarshaler) && f.Type.Implements(jsonMarshaler):
			kind = codecMethods
		case hasMethods(f.Type):
			return nil
		case f.Type.Kind() == reflect.String:
			kind = codecString
		case f.Type.Kind() == reflect.Slice && f.Type.Elem() == stringType:
			kind = codecStrings
		case f.Type.Kind() >= reflect.Int && f.Type.Kind() <= reflect.Int64:
			kind = codecInt
		default:
			return nil
		}
		if name == "id" {
			if kind != codecString {
				return nil
			}
			c.id = len(c.fields)
		}
		c.byName[name] = len(c.fields)
		c.fields = append(c.fields, codecField{name: name, index: i, kind: kind})
	}
	if c.id < 0 {
		return nil
	}
	return c
}

// plainName reports whether a tag is a bare name that JSON writes as it is.
func plainName(name string) bool {
	if name == "" || name == "-" {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}

// hasMethods reports whether encoding/json would call methods of t (or of
// *t) rather than look at its kind.
func hasMethods(t reflect.Type) bool {
	for _, m := range []reflect.Type{jsonMarshaler, jsonUnmarshaler, textMarshaler, textUnmarshaler} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

// decode returns a new value of the codec's type from fields, with the id
// field set to id (a checked id), as json.Unmarshal would from the object
// rawObject writes; false leaves it to json.Unmarshal.
func (c *recordCodec) decode(fields map[string]json.RawMessage, id string) (any, bool) {
	ptr := reflect.New(c.typ)
	v := ptr.Elem()
	for name, raw := range fields {
		if name == "id" {
			continue
		}
		i, ok := c.byName[name]
		if !ok {
			return nil, false
		}
		if !c.fields[i].decode(v.Field(c.fields[i].index), raw) {
			return nil, false
		}
	}
	v.Field(c.fields[c.id].index).SetString(id)
	return ptr.Interface(), true
}

func (f *codecField) decode(v reflect.Value, raw json.RawMessage) bool {
	if len(raw) == 0 {
		raw = json.RawMessage("null") // as rawObject writes it
	}
	switch f.kind {
	case codecString:
		if s, ok := plainString(raw); ok {
			v.SetString(s)
			return true
		}
		if string(raw) == "null" {
			return true
		}
	case codecStrings:
		if list, ok := plainStrings(raw); ok {
			v.Set(reflect.ValueOf(list))
			return true
		}
	case codecInt:
		if n, ok := plainInt(raw); ok && !v.OverflowInt(n) {
			v.SetInt(n)
			return true
		}
	case codecDate:
		if s, ok := plainString(raw); ok {
			d, err := domain.ParseDate(s)
			if err != nil {
				return false
			}
			*v.Addr().Interface().(*domain.Date) = d
			return true
		}
		if string(raw) == "null" {
			return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
		}
	case codecMethods:
		// encoding/json hands the literal, null included, to the method.
		if _, ok := plainString(raw); ok || string(raw) == "null" {
			return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
		}
	}
	// Anything else, encoding/json decodes alone; an error sends the
	// whole record to it, for the error it gives there.
	return json.Unmarshal(raw, v.Addr().Interface()) == nil
}

// plainString is the text of a JSON string without escapes, control
// characters or invalid UTF-8: the bytes between its quotes.
func plainString(raw []byte) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	inner := raw[1 : n-1]
	for _, ch := range inner {
		if ch < 0x20 || ch == '"' || ch == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// plainStrings decodes an array of plain strings written without spaces.
func plainStrings(raw []byte) ([]string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '[' || raw[n-1] != ']' {
		return nil, false
	}
	list := []string{}
	rest := raw[1 : n-1]
	for len(rest) > 0 {
		if rest[0] != '"' {
			return nil, false
		}
		end := 1
		for end < len(rest) && rest[end] != '"' {
			end++
		}
		s, ok := plainString(rest[:min(end+1, len(rest))])
		if !ok {
			return nil, false
		}
		list = append(list, s)
		rest = rest[end+1:]
		if len(rest) > 0 {
			if rest[0] != ',' || len(rest) == 1 {
				return nil, false
			}
			rest = rest[1:]
		}
	}
	return list, true
}

// plainInt decodes an integer written as JSON writes one.
func plainInt(raw []byte) (int64, bool) {
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// encode appends value (a pointer to the codec's type) as json.Marshal
// writes it; false leaves it to json.Marshal.
func (c *recordCodec) encode(b []byte, value any) ([]byte, bool) {
	v := reflect.ValueOf(value)
	if v.Type() != reflect.PointerTo(c.typ) || v.IsNil() {
		return b, false
	}
	v = v.Elem()
	b = append(b, '{')
	for i, f := range c.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		fv := v.Field(f.index)
		switch f.kind {
		case codecString:
			b = appendString(b, fv.String())
		case codecStrings:
			if fv.IsNil() {
				b = append(b, "null"...)
				break
			}
			b = append(b, '[')
			for j := range fv.Len() {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, fv.Index(j).String())
			}
			b = append(b, ']')
		case codecInt:
			b = strconv.AppendInt(b, fv.Int(), 10)
		case codecDate:
			b = appendString(b, fv.Addr().Interface().(*domain.Date).String())
		case codecMethods:
			out, err := fv.Addr().Interface().(json.Marshaler).MarshalJSON()
			if err != nil {
				return b, false
			}
			// encoding/json compacts and escapes what the method wrote;
			// null and plain ASCII strings come out as they are.
			if s, ok := plainString(out); !(ok && htmlSafeASCII(s) || string(out) == "null") {
				return b, false
			}
			b = append(b, out...)
		}
	}
	return append(b, '}'), true
}

// appendString writes s as encoding/json does, which escapes <, > and &,
// U+2028 and U+2029 and replaces invalid UTF-8; json.Marshal does it for
// text that needs any of that.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch == '"' || ch == '\\' || ch == '<' || ch == '>' || ch == '&' || ch >= utf8.RuneSelf {
			if !htmlSafeUnicode(s) {
				q, _ := json.Marshal(s)
				return append(b, q...)
			}
			break
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// htmlSafeUnicode reports whether encoding/json writes s unchanged between
// quotes: valid UTF-8 without control characters, quotes, backslashes, <,
// >, &, U+2028 or U+2029.
func htmlSafeUnicode(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x20, r == '"', r == '\\', r == '<', r == '>', r == '&',
			r == '\u2028', r == '\u2029', r == utf8.RuneError:
			return false
		}
	}
	return true
}

func htmlSafeASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == '<' || s[i] == '>' || s[i] == '&' {
			return false
		}
	}
	return true
}
