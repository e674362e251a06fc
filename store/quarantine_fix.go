package store

import (
	"encoding/json"
	"fmt"
	"maps"

	"leconsortium.coop/terrain/domain"
)

// FixQuarantined corrects a refused mutation and sends it again: fields
// replaces some of its values (JSON, by field name). The record, with every
// value the mutation carries, must then pass the domain's validation as a
// save would: otherwise the *domain.ValidationError comes back (wrapped)
// and nothing changes. On success the corrected values are on the record
// and queued as a new mutation, as ResendQuarantined does.
func (s *Store) FixQuarantined(seq uint64, fields map[string]json.RawMessage) error {
	err := s.update(func(w *writeTx) error {
		var q Quarantined
		ok, err := getJSON(w.txn, string(quarantineKey(seq)), &q)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		m := &q.Mutation
		if m.Delete || m.Kind == KindConflict || len(m.Fields) == 0 {
			return ErrNothingToResend
		}
		m.Fields = maps.Clone(m.Fields)
		maps.Copy(m.Fields, fields)
		// The record as the server would see it once this is applied.
		cur := map[string]json.RawMessage{}
		from, env, err := findAny(w.txn, m.Kind, m.ID)
		if err != nil {
			return err
		}
		if env != nil && env.Deleted != 0 {
			return ErrDeleted // validating the fields alone would report ones never touched
		}
		if env != nil {
			if err := json.Unmarshal(env.Data, &cur); err != nil {
				return fmt.Errorf("decode %s: %w", from, err)
			}
		}
		maps.Copy(cur, m.Fields)
		v, err := decodeFields(m.Kind, cur)
		if err != nil {
			return err
		}
		if err := validateRecord(v, s.today()); err != nil {
			return err
		}
		return setJSON(w.txn, quarantineKey(seq), q)
	})
	if err != nil {
		return fmt.Errorf("fix quarantined %d: %w", seq, err)
	}
	return s.ResendQuarantined(seq)
}

func validateRecord(v any, today domain.Date) error {
	switch x := v.(type) {
	case *domain.Member:
		return x.Validate(today)
	case *domain.Visit:
		return x.Validate(today)
	case *domain.FollowUp:
		return x.Validate(today)
	}
	return nil
}
