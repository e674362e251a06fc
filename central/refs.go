package central

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// normalizeWrite returns the values of a mutation in stored form, field by
// field, before they are merged: two spellings of one value (NFC and NFD,
// "G4R 1A1" and "g4r1a1", "INFO@…" and "info@…") are then one write and not
// a conflict, and a conflict keeps the losing value as it would have been
// stored. A value of the wrong shape is left as sent, for validation to
// refuse after the merge.
func normalizeWrite(kind domain.Kind, fields map[string]json.RawMessage) map[string]json.RawMessage {
	var v interface{ Normalize() }
	switch kind {
	case domain.KindMember:
		v = &domain.Member{}
	case domain.KindVisit:
		v = &domain.Visit{}
	case domain.KindFollowUp:
		v = &domain.FollowUp{}
	default:
		return fields
	}
	if decodeFields(fields, v) != nil {
		return fields
	}
	v.Normalize()
	stored := toFields(v)
	out := make(map[string]json.RawMessage, len(fields))
	for name, raw := range fields {
		if n, ok := stored[name]; ok {
			raw = n
		}
		out[name] = raw
	}
	return out
}

// serviceField names, per kind, the field that refers to services of the
// catalog.
var serviceField = map[domain.Kind]string{
	domain.KindMember:   "services",
	domain.KindVisit:    "services_discussed",
	domain.KindFollowUp: "service_id",
}

// checkServiceRefs refuses a write that names a service the catalog does
// not hold (or no longer holds). Only ids the write adds are checked: a
// service retired from the catalog stays on the records that had it.
func checkServiceRefs(tx Tx, m protocol.Mutation, cur Record, n normalized) (*protocol.Rejection, error) {
	field, ok := serviceField[m.Kind]
	if !ok {
		return nil, nil
	}
	raw, ok := m.Fields[field]
	if !ok {
		return nil, nil
	}
	had := serviceIDs(cur.Fields[field])
	for _, id := range serviceIDs(raw) {
		if slices.Contains(had, id) {
			continue
		}
		svc, err := tx.Record(domain.KindService, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("read service: %w", err)
		}
		if err != nil || svc.Deleted {
			return reject(m, protocol.RejectInvalid, fmt.Sprintf("the catalog has no service %q", truncateID(id)),
				domain.FieldError{Field: field, Code: domain.CodeService}), nil
		}
	}
	return nil, nil
}

// serviceIDs reads a list of service ids or a single one.
func serviceIDs(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// checkVisitRef refuses a follow-up whose visit is not a live visit of its
// own member. A visit that does not exist, one of another member and one
// outside the writer's regions get the same answer.
func checkVisitRef(tx Tx, m protocol.Mutation, cur Record, n normalized) (*protocol.Rejection, error) {
	if m.Kind != domain.KindFollowUp {
		return nil, nil
	}
	_, visitSent := m.Fields["visit_id"]
	_, memberSent := m.Fields["member_id"]
	var visitID string
	if json.Unmarshal(n.fields["visit_id"], &visitID) != nil || visitID == "" || !visitSent && !memberSent {
		return nil, nil
	}
	if protocol.SameJSON(n.fields["visit_id"], cur.Fields["visit_id"]) && protocol.SameJSON(n.fields["member_id"], cur.Fields["member_id"]) {
		return nil, nil // unchanged
	}
	v, err := tx.Record(domain.KindVisit, visitID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read visit: %w", err)
	}
	var of string
	if err == nil {
		_ = json.Unmarshal(v.Fields["member_id"], &of)
	}
	if err != nil || v.Deleted || of != n.memberID {
		return reject(m, protocol.RejectInvalid, "no such visit of this member",
			domain.FieldError{Field: "visit_id", Code: domain.CodeBadID}), nil
	}
	return nil, nil
}

func truncateID(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
