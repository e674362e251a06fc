package protocol

import (
	"slices"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// kindFields lists, per kind, the JSON names of the fields a record has on
// the wire. They come from the domain structs' JSON tags, so a field added
// to a struct is a field of the protocol.
var kindFields = map[domain.Kind][]string{
	domain.KindMember:      fieldNames(domain.Member{}),
	domain.KindVisit:       fieldNames(domain.Visit{}),
	domain.KindFollowUp:    fieldNames(domain.FollowUp{}),
	domain.KindService:     fieldNames(domain.Service{}),
	domain.KindCoordinator: fieldNames(domain.Coordinator{}),
	KindConflict:           fieldNames(Conflict{}),
}

// FieldNames returns the field names of a kind in sorted order, and false
// for an unknown kind.
func FieldNames(kind domain.Kind) ([]string, bool) {
	names, ok := kindFields[kind]
	return slices.Clone(names), ok
}

// HasField reports whether records of kind have a field called name.
func HasField(kind domain.Kind, name string) bool {
	_, found := slices.BinarySearch(kindFields[kind], name)
	return found
}

// foldsToFieldOf reports whether name is not a field of kind but would be
// taken for one by encoding/json, which matches names without regard to
// case.
func foldsToFieldOf(kind domain.Kind, name string) bool {
	if HasField(kind, name) {
		return false
	}
	for _, f := range kindFields[kind] {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}
