package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// encoding/json matches object keys to struct fields without regard to
// case ("Cursor", "DELETE") and keeps the last of two equal keys. A body
// another program reads differently from us is an ambiguity an attacker can
// use, so checkKeys walks the JSON we accepted alongside the type it went
// into and refuses both. It runs after encoding/json has decoded data, so
// data is known to be one valid JSON value.

// keyError is what checkKeys found.
type keyError struct {
	code string // CodeDuplicateKey or CodeUnknownField
	key  string
}

// checkKeys reports the first key of data, decoded into a value of type t,
// that appears twice in its object, or that names a field of a struct
// without being exactly its JSON name. With unknownOK (a response from a
// newer server) a key that matches no field at all is let through; it is
// refused otherwise. Objects held by json.RawMessage values or decoded by
// their own UnmarshalJSON are checked for duplicates only.
func checkKeys(data []byte, t reflect.Type, unknownOK bool) *keyError {
	w := keyWalker{b: data, unknownOK: unknownOK}
	w.value(t)
	return w.err
}

type keyWalker struct {
	b         []byte
	i         int
	unknownOK bool
	err       *keyError
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// structKeys are the JSON names of a struct's fields, with the type of each.
type structKeys map[string]reflect.Type

var structKeysCache sync.Map // reflect.Type -> structKeys

func keysOf(t reflect.Type) structKeys {
	if k, ok := structKeysCache.Load(t); ok {
		return k.(structKeys)
	}
	k := structKeys{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			// encoding/json promotes the fields of an embedded struct.
			for n, typ := range keysOf(ft) {
				if _, ok := k[n]; !ok {
					k[n] = typ
				}
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		k[name] = f.Type
	}
	structKeysCache.Store(t, k)
	return k
}

// opaque reports whether values of t are decoded by something other than
// encoding/json's reflection, so that their keys mean nothing to us.
func opaque(t reflect.Type) bool {
	return t == nil || t == rawMessageType || t.Kind() == reflect.Interface ||
		t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

func (w *keyWalker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value walks one value that decodes into t (nil: anything).
func (w *keyWalker) value(t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && opaque(t) {
		t = nil
	}
	w.ws()
	if w.i >= len(w.b) || w.err != nil {
		return
	}
	switch w.b[w.i] {
	case '{':
		w.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		w.i++
		for w.err == nil {
			w.ws()
			if w.i >= len(w.b) || w.b[w.i] == ']' {
				w.i++
				return
			}
			w.value(elem)
			w.ws()
			if w.i < len(w.b) && w.b[w.i] == ',' {
				w.i++
			}
		}
	case '"':
		w.str()
	default:
		for w.i < len(w.b) && !strings.ContainsRune(",]} \t\n\r", rune(w.b[w.i])) {
			w.i++
		}
	}
}

// str skips a string and returns its raw contents (between the quotes).
func (w *keyWalker) str() []byte {
	w.i++ // opening quote
	start := w.i
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case '\\':
			w.i += 2
		case '"':
			s := w.b[start:w.i]
			w.i++
			return s
		default:
			w.i++
		}
	}
	return w.b[start:]
}

func (w *keyWalker) object(t reflect.Type) {
	var fields structKeys
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = keysOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	w.i++ // {
	var seen []string
	var seenSet map[string]struct{}
	for w.err == nil {
		w.ws()
		if w.i >= len(w.b) || w.b[w.i] == '}' {
			w.i++
			return
		}
		raw := w.str()
		key := string(raw)
		if strings.IndexByte(key, '\\') >= 0 {
			// encoding/json compares keys unescaped: "\u0063ursor" is "cursor".
			var s string
			if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) == nil {
				key = s
			}
		}
		if dup(&seen, &seenSet, key) {
			w.err = &keyError{code: CodeDuplicateKey, key: key}
			return
		}
		w.ws()
		w.i++ // :
		vt := elem
		if fields != nil {
			var ok bool
			if vt, ok = fields[key]; !ok {
				if !w.unknownOK || foldsToField(fields, key) {
					w.err = &keyError{code: CodeUnknownField, key: key}
					return
				}
			}
		}
		w.value(vt)
		w.ws()
		if w.i < len(w.b) && w.b[w.i] == ',' {
			w.i++
		}
	}
}

// dup records key and reports whether it was already there; small objects
// use a slice, big ones (a map of fields) a set.
func dup(seen *[]string, set *map[string]struct{}, key string) bool {
	if *set != nil {
		if _, ok := (*set)[key]; ok {
			return true
		}
		(*set)[key] = struct{}{}
		return false
	}
	for _, k := range *seen {
		if k == key {
			return true
		}
	}
	*seen = append(*seen, key)
	if len(*seen) > 16 {
		*set = make(map[string]struct{}, 2*len(*seen))
		for _, k := range *seen {
			(*set)[k] = struct{}{}
		}
	}
	return false
}

// foldsToField reports whether encoding/json would take key for one of the
// struct's fields although it is not exactly its name.
func foldsToField(fields structKeys, key string) bool {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}
