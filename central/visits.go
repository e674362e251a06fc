package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// The central office's corrections of visits: `terrain-central visits edit`
// and `visits delete`, and the web console after them. Both go through
// applyMutation with the office's authority, so they follow the merge rule a
// coordinator's device follows: a field the author changed on a device that
// has not synced yet becomes a conflict record, never a silent loss.

// ErrUnknownVisit is returned for a visit id the server does not hold.
var ErrUnknownVisit = errors.New("no visit with this id")

// ErrVisitDeleted is returned when correcting a visit that was deleted.
var ErrVisitDeleted = errors.New("this visit was deleted")

// RefusedError is a correction the rules refused (a value that does not
// validate, a member that does not exist): nothing was written. Its
// Rejection carries the field-level reasons, as a device's quarantine does.
type RefusedError struct {
	Rejection protocol.Rejection
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused (%s): %s", e.Rejection.Code, e.Rejection.Message)
}

// Visit returns a visit that is not deleted, or ErrUnknownVisit.
func (s *Server) Visit(ctx context.Context, id string) (domain.Visit, error) {
	var v domain.Visit
	err := s.backend.View(ctx, func(tx ReadTx) error {
		r, err := tx.Record(domain.KindVisit, id)
		if errors.Is(err, ErrNotFound) || err == nil && r.Deleted {
			return ErrUnknownVisit
		} else if err != nil {
			return err
		}
		return fromFields(r.Fields, &v)
	})
	if err != nil {
		return domain.Visit{}, fmt.Errorf("visit %s: %w", id, err)
	}
	return v, nil
}

// CorrectVisit changes the given fields of a visit (JSON names of
// domain.Visit, each value that field's JSON) on behalf of the central
// office, whoever its author, and returns the visit as stored. The office
// edits the version it holds: every field is based on its current version,
// so the write is sequential here and concurrent with any device edit the
// server has not received yet. The id cannot change.
func (s *Server) CorrectVisit(ctx context.Context, id string, fields map[string]json.RawMessage) (domain.Visit, error) {
	if len(fields) == 0 {
		return s.Visit(ctx, id)
	}
	for name := range fields {
		if name == "id" || !protocol.HasField(domain.KindVisit, name) {
			return domain.Visit{}, fmt.Errorf("correct visit %s: %w", id, &RefusedError{Rejection: protocol.Rejection{
				Kind: domain.KindVisit, ID: id, Code: protocol.RejectUnknownField,
				Message: fmt.Sprintf("a visit has no field %q that can be corrected", name)}})
		}
	}
	var out domain.Visit
	err := s.backend.Update(ctx, func(tx Tx) error {
		cur, err := s.liveVisit(tx, id)
		if err != nil {
			return err
		}
		m := protocol.Mutation{Kind: domain.KindVisit, ID: id, Fields: map[string]json.RawMessage{},
			Base: map[string]uint64{}, HLC: s.clock.Now()}
		for name, v := range fields {
			if old, ok := cur.Fields[name]; ok && protocol.SameJSON(old, v) {
				continue
			}
			m.Fields[name] = v
			m.Base[name] = cur.Versions[name].Seq
		}
		if len(m.Fields) > 0 {
			rej, err := s.applyMutation(tx, centralActor(), m, s.today())
			if err != nil {
				return err
			}
			if rej != nil {
				return &RefusedError{Rejection: *rej}
			}
		}
		after, err := tx.Record(domain.KindVisit, id)
		if err != nil {
			return err
		}
		return fromFields(after.Fields, &out)
	})
	if err != nil {
		return domain.Visit{}, fmt.Errorf("correct visit %s: %w", id, err)
	}
	s.log.Info("visit corrected by the central office", "visit", id, "fields", slices.Sorted(maps.Keys(fields)))
	return out, nil
}

// DeleteVisit deletes a visit on behalf of the central office, whoever its
// author: a tombstone every device applies at its next sync. Its base is
// the version of every field the server holds, so nothing is refused as
// edited since; the tombstone keeps the last fields, as a device's delete
// does (an erasure is `members delete` or the retention purge). Follow-ups
// promised during the visit stay.
func (s *Server) DeleteVisit(ctx context.Context, id string) error {
	err := s.backend.Update(ctx, func(tx Tx) error {
		cur, err := s.liveVisit(tx, id)
		if err != nil {
			return err
		}
		m := protocol.Mutation{Kind: domain.KindVisit, ID: id, Delete: true,
			Base: make(map[string]uint64, len(cur.Versions)), HLC: s.clock.Now()}
		for name, v := range cur.Versions {
			m.Base[name] = v.Seq
		}
		rej, err := s.applyMutation(tx, centralActor(), m, s.today())
		if err != nil {
			return err
		}
		if rej != nil {
			return &RefusedError{Rejection: *rej}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete visit %s: %w", id, err)
	}
	s.log.Info("visit deleted by the central office", "visit", id)
	return nil
}

// liveVisit reads a visit for a correction.
func (s *Server) liveVisit(tx Tx, id string) (Record, error) {
	cur, err := tx.Record(domain.KindVisit, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Record{}, ErrUnknownVisit
	case err != nil:
		return Record{}, err
	case cur.Deleted:
		return Record{}, ErrVisitDeleted
	}
	return cur, nil
}
