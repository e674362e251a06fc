package protocol

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// AppendJSON appends c as JSON to b, as json.Marshal writes it save that
// field values go out as they are, not compacted again: they are JSON the
// server checked when it stored them. A page of a first sync encodes
// thousands of changes, and json.Marshal's reflection, sorting and
// re-validation of every value was a fifth of the server's time.
func (c *Change) AppendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, c.Seq, 10)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, string(c.Kind))
	b = append(b, `,"id":`...)
	b = appendJSONString(b, c.ID)
	if c.Delete {
		b = append(b, `,"delete":true`...)
	}
	if c.Removed {
		b = append(b, `,"removed":true`...)
	}
	if c.Erased {
		b = append(b, `,"erased":true`...)
	}
	if len(c.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		for i, name := range slices.Sorted(maps.Keys(c.Fields)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, name)
			b = append(b, ':')
			if v := c.Fields[name]; len(v) > 0 {
				b = append(b, v...)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
	}
	if len(c.Versions) > 0 {
		b = append(b, `,"versions":{`...)
		for i, name := range slices.Sorted(maps.Keys(c.Versions)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, name)
			b = append(b, ':')
			b = c.Versions[name].appendJSON(b)
		}
		b = append(b, '}')
	}
	if c.Version != nil {
		b = append(b, `,"version":`...)
		b = c.Version.appendJSON(b)
	}
	if c.Own != 0 {
		b = append(b, `,"own":`...)
		b = strconv.AppendUint(b, c.Own, 10)
	}
	return append(b, '}')
}

func (v FieldVersion) appendJSON(b []byte) []byte {
	b = append(b, `{"hlc":`...)
	b = strconv.AppendUint(b, uint64(v.HLC), 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, v.Seq, 10)
	b = append(b, `,"device":`...)
	b = appendJSONString(b, v.Device)
	return append(b, '}')
}

// appendJSONString quotes s as json.Marshal does: plain text directly, and
// anything to escape or check (quotes, backslashes, control characters,
// <, >, &, non-ASCII) through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
