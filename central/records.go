package central

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// normalized is a record value after merge, normalisation and validation.
type normalized struct {
	fields map[string]json.RawMessage
	// region and memberID are where the record belongs: the member's own
	// region and id for a member, its member's for a visit or follow-up.
	region   string
	memberID string
	// coordinatorID is set for visits: only that coordinator writes them.
	coordinatorID string
}

// normalize decodes merged fields into the domain type of kind, normalises
// and validates it against today, and returns its fields re-encoded. A value
// that does not decode or validate yields a *domain.ValidationError naming
// the fields at fault.
func normalize(kind domain.Kind, fields map[string]json.RawMessage, today domain.Date) (normalized, error) {
	switch kind {
	case domain.KindMember:
		var m domain.Member
		if err := decodeFields(fields, &m); err != nil {
			return normalized{}, err
		}
		m.Normalize()
		if err := m.Validate(today); err != nil {
			return normalized{}, err
		}
		return normalized{fields: toFields(m), region: m.Region, memberID: m.ID}, nil
	case domain.KindVisit:
		var v domain.Visit
		if err := decodeFields(fields, &v); err != nil {
			return normalized{}, err
		}
		v.Normalize()
		if err := v.Validate(today); err != nil {
			return normalized{}, err
		}
		return normalized{fields: toFields(v), memberID: v.MemberID, coordinatorID: v.CoordinatorID}, nil
	case domain.KindFollowUp:
		var f domain.FollowUp
		if err := decodeFields(fields, &f); err != nil {
			return normalized{}, err
		}
		f.Normalize()
		if err := f.Validate(today); err != nil {
			return normalized{}, err
		}
		return normalized{fields: toFields(f), memberID: f.MemberID}, nil
	case protocol.KindConflict:
		var c protocol.Conflict
		if err := decodeFields(fields, &c); err != nil {
			return normalized{}, err
		}
		return normalized{fields: protocol.ConflictFields(c), memberID: c.MemberID}, nil
	}
	return normalized{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "kind", Code: domain.CodeRequired}}}
}

// decodeFields fills dst (a pointer to a domain struct) from a field map.
// When the whole does not decode, each field is tried alone so the error
// names every field whose JSON has the wrong shape.
func decodeFields(fields map[string]json.RawMessage, dst any) error {
	whole, err := json.Marshal(fields)
	if err != nil {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "fields", Code: domain.CodeBadText}}}
	}
	if json.Unmarshal(whole, dst) == nil {
		return nil
	}
	var bad []domain.FieldError
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		one, _ := json.Marshal(map[string]json.RawMessage{name: fields[name]})
		if err := json.Unmarshal(one, dst); err != nil {
			bad = append(bad, domain.FieldError{Field: name, Code: badValueCode(name)})
		}
	}
	if len(bad) == 0 {
		bad = []domain.FieldError{{Field: "fields", Code: domain.CodeBadText}}
	}
	return &domain.ValidationError{Fields: bad}
}

// badValueCode picks the validation message for a value of the wrong JSON
// shape: dates say "not a valid date", the rest "unreadable text".
func badValueCode(field string) string {
	switch field {
	case "date", "due", "next_visit", "member_since", "done_on":
		return domain.CodeDateRange
	case "duration_minutes":
		return domain.CodeDuration
	}
	return domain.CodeBadText
}

// toFields encodes a domain value as a field map keyed by JSON name.
func toFields(v any) map[string]json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("central: marshal record: " + err.Error()) // domain structs always marshal
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		panic("central: unmarshal record: " + err.Error())
	}
	return m
}

// fromFields decodes a stored record into its domain type.
func fromFields(fields map[string]json.RawMessage, dst any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// validationError extracts the field errors of err, if it is a validation
// failure.
func validationError(err error) (*domain.ValidationError, bool) {
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return ve, true
	}
	return nil, false
}

// regionSet is a small set of region codes.
type regionSet map[string]bool

func newRegionSet(codes ...[]string) regionSet {
	s := regionSet{}
	for _, list := range codes {
		for _, c := range list {
			s[c] = true
		}
	}
	return s
}

func (s regionSet) sorted() []string {
	out := make([]string, 0, len(s))
	for c := range s {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// allRegions returns the 17 region codes: the scope of an admin.
func allRegions() []string {
	var out []string
	for _, r := range domain.Regions() {
		out = append(out, r.Code)
	}
	return out
}

// scopeOf returns the regions whose records a coordinator receives and may
// write.
func scopeOf(c Coordinator) []string {
	if c.Role == protocol.RoleAdmin {
		return allRegions()
	}
	return domain.SortedRegionCodes(c.Regions)
}
