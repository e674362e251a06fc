package store

import (
	"encoding/json"
	"errors"
	"testing"

	"leconsortium.coop/terrain/domain"
)

func TestFixQuarantined(t *testing.T) {
	s, _, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Mutuelle de l’Estrie", "Sherbrooke", "05", domain.Mutual))
	v := mustSaveVisit(t, s, newVisit(m.ID, c.Today()))
	mustApply(t, s, Page{AckedThrough: 2, Cursor: 2, Rejected: []Rejection{{
		Seq: 2, Kind: domain.KindVisit, ID: v.ID, Code: "invalid",
		Fields: []domain.FieldError{{Field: "notes", Code: domain.CodeBadText}},
	}}}, nil)

	// A correction that is itself invalid changes nothing.
	err := s.FixQuarantined(2, map[string]json.RawMessage{"duration_minutes": json.RawMessage("0")})
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "duration_minutes" {
		t.Fatalf("invalid correction: %v", err)
	}
	if n, _ := s.QuarantineCount(); n != 1 {
		t.Fatalf("quarantine = %d after a refused correction", n)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Fatalf("pending = %d after a refused correction", n)
	}

	err = s.FixQuarantined(2, map[string]json.RawMessage{
		"notes": json.RawMessage(`"Notes corrigées"`), "duration_minutes": json.RawMessage("30"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.QuarantineCount(); n != 0 {
		t.Errorf("quarantine = %d after the fix", n)
	}
	got, err := s.Visit(v.ID)
	if err != nil || got.Notes != "Notes corrigées" || got.DurationMinutes != 30 {
		t.Errorf("visit after the fix = %+v, %v", got, err)
	}
	ob := outbox(t, s)
	if len(ob) != 1 || ob[0].ID != v.ID || string(ob[0].Fields["notes"]) != `"Notes corrigées"` ||
		string(ob[0].Fields["duration_minutes"]) != "30" || ob[0].Fields["date"] == nil {
		t.Errorf("outbox after the fix = %+v", ob)
	}
	if err := s.FixQuarantined(2, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("fixing twice: %v", err)
	}
}
