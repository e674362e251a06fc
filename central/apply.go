package central

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// actor is who writes: a signed-in coordinator's device, or the central
// office itself (imports, the demo).
type actor struct {
	coordinatorID string
	admin         bool
	scope         regionSet
	device        string
}

func actorFor(c Coordinator, deviceID string) actor {
	return actor{
		coordinatorID: c.ID,
		admin:         c.Role == protocol.RoleAdmin,
		scope:         newRegionSet(scopeOf(c)),
		device:        deviceID,
	}
}

// centralActor writes on behalf of the central office.
func centralActor() actor {
	return actor{admin: true, scope: newRegionSet(allRegions()), device: protocol.CentralDevice}
}

func (a actor) inScope(region string) bool { return a.scope[region] }

func reject(m protocol.Mutation, code, message string, fields ...domain.FieldError) *protocol.Rejection {
	return &protocol.Rejection{Seq: m.Seq, Kind: m.Kind, ID: m.ID, Code: code, Message: message, Fields: fields}
}

// applyMutation merges one mutation into the backend inside tx. A mutation
// the rules refuse comes back as a Rejection and writes nothing; an error
// means the transaction must be abandoned.
func (s *Server) applyMutation(tx Tx, a actor, m protocol.Mutation, today domain.Date) (*protocol.Rejection, error) {
	if m.Kind == domain.KindService || m.Kind == domain.KindCoordinator {
		return reject(m, protocol.RejectReadOnly, "services and coordinators are managed by the central office"), nil
	}
	for name := range m.Fields {
		if !protocol.HasField(m.Kind, name) {
			return reject(m, protocol.RejectUnknownField, fmt.Sprintf("a %s has no field %q", m.Kind, name)), nil
		}
		if m.Kind == protocol.KindConflict && name != "resolved" {
			return reject(m, protocol.RejectReadOnly, "only the resolved flag of a conflict can change"), nil
		}
	}
	if raw, ok := m.Fields["id"]; ok && !protocol.SameJSON(raw, jsonString(m.ID)) {
		return reject(m, protocol.RejectInvalid, "the id field differs from the record id",
			domain.FieldError{Field: "id", Code: domain.CodeBadID}), nil
	}
	cur, err := tx.Record(m.Kind, m.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read %s: %w", m.Kind, err)
	}
	// An edit of a record outside the writer's regions is answered as the
	// same edit of a record that does not exist (errNoSuchRecord), up to
	// the write itself: what a coordinator learns must not depend on what
	// exists elsewhere.
	hidden := exists && !m.Delete && !a.inScope(cur.Region)
	if hidden {
		cur, exists = Record{}, false
	}
	if exists && cur.Deleted {
		if m.Delete {
			return nil, nil
		}
		return reject(m, protocol.RejectDeleted, "this record was deleted"), nil
	}
	if m.Delete {
		return s.applyDelete(tx, a, m, cur, exists)
	}
	if !exists && m.Kind == protocol.KindConflict {
		return reject(m, protocol.RejectReadOnly, "conflicts are created by the server"), nil
	}
	if exists && m.Kind == domain.KindVisit && !a.admin && visitAuthor(cur) != a.coordinatorID {
		return reject(m, protocol.RejectForbidden, "only the coordinator who recorded a visit can change it"), nil
	}

	m.Fields = normalizeWrite(m.Kind, m.Fields)
	m.HLC = hlc.Clamp(m.HLC, s.now(), s.maxSkew)
	s.clock.Observe(m.HLC)
	merged := maps.Clone(cur.Fields)
	if merged == nil {
		merged = map[string]json.RawMessage{}
	}
	var applied []string
	var conflicts []*protocol.Conflict
	for _, d := range protocol.Merge(cur.Fields, cur.Versions, m, a.device) {
		if d.Apply {
			merged[d.Field] = m.Fields[d.Field]
			applied = append(applied, d.Field)
		}
		if d.Conflict != nil {
			conflicts = append(conflicts, d.Conflict)
		}
	}
	if m.Kind == protocol.KindConflict {
		conflicts = nil // a disagreement about a resolved flag is not worth a conflict of its own
	}
	if len(applied) == 0 && len(conflicts) == 0 {
		return nil, nil // every field lost to an equal value: nothing to keep
	}
	if m.Kind != protocol.KindConflict {
		merged["id"] = jsonString(m.ID)
	}
	n, err := normalize(m.Kind, merged, today)
	if ve, ok := validationError(err); ok {
		if !exists && lacksRequired(ve, m.Fields) {
			// Not a new record but an edit of one this writer cannot see.
			return reject(m, protocol.RejectForbidden, errNoSuchRecord), nil
		}
		return reject(m, protocol.RejectInvalid, ve.Error(), ve.Fields...), nil
	} else if err != nil {
		return nil, err
	}

	rec := Record{Kind: m.Kind, ID: m.ID, Fields: n.fields, Versions: cur.Versions}
	switch m.Kind {
	case domain.KindMember:
		rec.Region = n.region
		// Checked for every write, not only creates: moving a member into a
		// region outside the scope would hand it to someone else.
		if !a.inScope(rec.Region) {
			return reject(m, protocol.RejectForbidden, fmt.Sprintf("region %s is outside your regions", rec.Region)), nil
		}
	case domain.KindVisit, domain.KindFollowUp:
		member, err := tx.Record(domain.KindMember, n.memberID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("read member: %w", err)
		}
		// A member outside the writer's regions is no more there than one
		// that never existed: the same answer for both.
		if err != nil || member.Deleted || !a.inScope(member.Region) {
			return reject(m, protocol.RejectUnknownMember, "no such member in your regions",
				domain.FieldError{Field: "member_id", Code: domain.CodeBadID}), nil
		}
		if m.Kind == domain.KindVisit && !a.admin && n.coordinatorID != a.coordinatorID {
			return reject(m, protocol.RejectForbidden, "a visit is recorded under its own coordinator's id",
				domain.FieldError{Field: "coordinator_id", Code: domain.CodeBadID}), nil
		}
		rec.Region, rec.Parent = member.Region, member.ID
		if rej, err := checkVisitRef(tx, m, cur, n); rej != nil || err != nil {
			return rej, err
		}
	case protocol.KindConflict:
		rec.Region, rec.Parent = cur.Region, cur.Parent
	}
	if rej, err := checkServiceRefs(tx, m, cur, n); rej != nil || err != nil {
		return rej, err
	}
	if hidden {
		return reject(m, protocol.RejectForbidden, errNoSuchRecord), nil
	}
	for _, c := range conflicts {
		c.MemberID = n.memberID
	}
	stamp := protocol.FieldVersion{HLC: m.HLC, Device: a.device}
	return nil, s.writeRecord(tx, cur, exists, rec, applied, stamp, conflicts)
}

// errNoSuchRecord answers an edit of a record that is outside the writer's
// regions or does not exist: the same words for both.
const errNoSuchRecord = "no such record in your regions"

// lacksRequired reports whether validation failed for a required field that
// the mutation does not carry: the write edits a record rather than making
// one.
func lacksRequired(ve *domain.ValidationError, sent map[string]json.RawMessage) bool {
	for _, f := range ve.Fields {
		if _, ok := sent[f.Field]; !ok && f.Code == domain.CodeRequired {
			return true
		}
	}
	return false
}

func (s *Server) applyDelete(tx Tx, a actor, m protocol.Mutation, cur Record, exists bool) (*protocol.Rejection, error) {
	if !exists {
		return nil, nil // made and deleted before the server saw it, or already gone
	}
	switch {
	case m.Kind == protocol.KindConflict:
		return reject(m, protocol.RejectReadOnly, "conflicts are resolved, not deleted"), nil
	case !a.inScope(cur.Region):
		return reject(m, protocol.RejectForbidden, "this record is outside your regions"), nil
	case m.Kind == domain.KindMember && !a.admin:
		return reject(m, protocol.RejectForbidden, "only the central office deletes members"), nil
	case m.Kind == domain.KindVisit && !a.admin && visitAuthor(cur) != a.coordinatorID:
		return reject(m, protocol.RejectForbidden, "only the coordinator who recorded a visit can delete it"), nil
	}
	if changed := editedSince(cur, m, a.device); len(changed) > 0 {
		return reject(m, protocol.RejectEditedSince, fmt.Sprintf(
			"another device changed %s after the version you deleted; the record is kept, delete it again if you still mean to",
			strings.Join(changed, ", "))), nil
	}
	if m.Kind == domain.KindMember {
		// The central office deleting a member from its own device erases
		// it as DeleteMember does: nothing about it may stay behind.
		_, err := s.eraseMember(tx, cur)
		return nil, err
	}
	seq, err := tx.NextSeq()
	if err != nil {
		return nil, err
	}
	cur.Deleted = true
	cur.Seq = seq
	return nil, tx.PutRecord(cur)
}

// editedSince returns, in name order, the fields of cur that a device other
// than the deleting one wrote after the version the delete m was based on (a
// field missing from m.Base was never seen). Deleting over them would throw
// away an edit its author expects to keep. The id never changes, so devices
// leave it out of a delete's base.
func editedSince(cur Record, m protocol.Mutation, device string) []string {
	var out []string
	for name, v := range cur.Versions {
		if name != "id" && v.Seq > m.Base[name] && v.Device != device {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// writeRecord stores a new version of rec: the fields in applied get the
// stamp of this write, a member that changed region takes its visits,
// follow-ups and conflicts along (leaving exits behind for the devices of
// the old region), and new conflicts are stored next to the record.
func (s *Server) writeRecord(tx Tx, cur Record, exists bool, rec Record, applied []string, stamp protocol.FieldVersion, conflicts []*protocol.Conflict) error {
	seq, err := tx.NextSeq()
	if err != nil {
		return err
	}
	rec.Seq = seq
	rec.Versions = maps.Clone(rec.Versions)
	if rec.Versions == nil {
		rec.Versions = map[string]protocol.FieldVersion{}
	}
	for _, f := range applied {
		rec.Versions[f] = protocol.FieldVersion{HLC: stamp.HLC, Seq: seq, Device: stamp.Device}
	}
	moved := exists && cur.Region != rec.Region
	if moved {
		if err := s.exit(tx, cur); err != nil {
			return err
		}
	}
	if err := tx.PutRecord(rec); err != nil {
		return fmt.Errorf("write %s: %w", rec.Kind, err)
	}
	if moved && rec.Kind == domain.KindMember {
		if err := s.moveChildren(tx, rec.ID, rec.Region); err != nil {
			return err
		}
	}
	for _, c := range conflicts {
		if err := s.putConflict(tx, c, rec.Region); err != nil {
			return err
		}
	}
	return nil
}

// exit records that rec leaves its current region.
func (s *Server) exit(tx Tx, rec Record) error {
	seq, err := tx.NextSeq()
	if err != nil {
		return err
	}
	return tx.PutExit(Exit{Seq: seq, Region: rec.Region, Kind: rec.Kind, ID: rec.ID})
}

// moveChildren puts a member's visits, follow-ups and conflicts in its new
// region, so that they go where the member goes.
func (s *Server) moveChildren(tx Tx, memberID, region string) error {
	children, err := tx.Children(memberID)
	if err != nil {
		return fmt.Errorf("children of member: %w", err)
	}
	for _, c := range children {
		if c.Region == region {
			continue
		}
		if err := s.exit(tx, c); err != nil {
			return err
		}
		if c.Seq, err = tx.NextSeq(); err != nil {
			return err
		}
		c.Region = region
		if err := tx.PutRecord(c); err != nil {
			return fmt.Errorf("move %s: %w", c.Kind, err)
		}
	}
	return nil
}

// putConflict stores a conflict unless the same one is already known (a
// conflict found again keeps its resolved flag).
func (s *Server) putConflict(tx Tx, c *protocol.Conflict, region string) error {
	if _, err := tx.Record(protocol.KindConflict, c.ID); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	seq, err := tx.NextSeq()
	if err != nil {
		return err
	}
	return tx.PutRecord(Record{
		Kind:   protocol.KindConflict,
		ID:     c.ID,
		Region: region,
		Parent: c.MemberID,
		Seq:    seq,
		Fields: protocol.ConflictFields(*c),
	})
}

// putCentral writes a record owned by the central office (a service, a
// coordinator's public card): the changed fields take a new stamp.
func (s *Server) putCentral(tx Tx, kind domain.Kind, id, region string, fields map[string]json.RawMessage) error {
	cur, err := tx.Record(kind, id)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	var changed []string
	for name, v := range fields {
		if old, ok := cur.Fields[name]; !ok || !protocol.SameJSON(old, v) {
			changed = append(changed, name)
		}
	}
	if exists && !cur.Deleted && len(changed) == 0 && cur.Region == region {
		return nil
	}
	rec := Record{Kind: kind, ID: id, Region: region, Fields: fields, Versions: cur.Versions}
	stamp := protocol.FieldVersion{HLC: s.clock.Now(), Device: protocol.CentralDevice}
	return s.writeRecord(tx, cur, exists && !cur.Deleted, rec, changed, stamp, nil)
}

func visitAuthor(r Record) string {
	var id string
	if err := json.Unmarshal(r.Fields["coordinator_id"], &id); err != nil {
		return ""
	}
	return id
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
