package sim

import (
	"encoding/json"
	"errors"
	"slices"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
)

// Visit corrections and deletes (issue 13): the author corrects the people
// met or deletes a visit on a device, sometimes a colleague's (the server
// refuses it: quarantine); the central office corrects or deletes any visit
// (Server.CorrectVisit, Server.DeleteVisit) while devices are offline.
// A delete racing an edit it has not seen is refused by the server.
//
// The checks: a deleted visit is no loss when the server holds its
// tombstone and someone's delete was acknowledged; a tombstone keeps the
// last fields, so every acknowledged write to a deleted visit must still be
// its value there, kept in a conflict, or knowingly replaced.

// visitChange is one change of the visits beyond editVisit's needs.
func (s *sim) visitChange(d *device) {
	switch s.rnd.IntN(4) {
	case 0:
		s.deleteVisit(d)
	case 1:
		s.editVisitPeople(d)
	case 2:
		s.centralVisitEdit()
	default:
		s.centralVisitDelete()
	}
}

// visitOfRegions picks a visit of d's regions from the model, in model
// order (ids are not the same from one run of a seed to the next).
func (s *sim) visitOfRegions(d *device) *visitRec {
	var in []*visitRec
	for _, v := range s.visits {
		if slices.Contains(d.c.regions, v.m.region) {
			in = append(in, v)
		}
	}
	if len(in) == 0 {
		return nil
	}
	return in[s.rnd.IntN(len(in))]
}

// editVisitPeople corrects the people met of a visit of d's regions.
func (s *sim) editVisitPeople(d *device) {
	vr := s.visitOfRegions(d)
	if vr == nil {
		s.note("%s: no visit to correct", d.name)
		return
	}
	v, err := d.st.Visit(vr.id)
	if !s.storeOutcome(d, "read visit "+vr.token, err) {
		return
	}
	parent := v.PeopleMet
	v.PeopleMet = s.uniqueValue("people")
	if s.storeOutcome(d, "edit people met of visit "+vr.token, d.st.SaveVisit(v)) {
		s.addWrite(&write{who: d.name, d: d, kind: domain.KindVisit, id: vr.id, ref: vr.token, field: "people_met",
			value: v.PeopleMet, parent: parent})
	}
}

// centralVisitEdit is the central office correcting the needs of a visit,
// whoever recorded it, concurrent with what the devices do.
func (s *sim) centralVisitEdit() {
	if len(s.visits) == 0 {
		s.note("central: no visit to correct")
		return
	}
	vr := s.visits[s.rnd.IntN(len(s.visits))]
	cur, err := s.srv.Visit(s.ctx, vr.id)
	if s.centralVisitMissing("correct", vr, err) {
		return
	}
	value := s.uniqueValue("central-needs")
	raw, _ := json.Marshal(value)
	_, err = s.srv.CorrectVisit(s.ctx, vr.id, map[string]json.RawMessage{"needs": raw})
	s.note("central: needs of visit %s: %s", vr.token, outcome(err))
	if err != nil {
		s.problem("central correction of visit %s: %v", vr.token, err)
		return
	}
	s.addWrite(&write{who: "central", kind: domain.KindVisit, id: vr.id, ref: vr.token, field: "needs",
		value: value, parent: cur.Needs})
}

// centralVisitDelete is the central office deleting a visit.
func (s *sim) centralVisitDelete() {
	if len(s.visits) == 0 {
		s.note("central: no visit to delete")
		return
	}
	vr := s.visits[s.rnd.IntN(len(s.visits))]
	err := s.srv.DeleteVisit(s.ctx, vr.id)
	if s.centralVisitMissing("delete", vr, err) {
		return
	}
	s.note("central: delete visit %s: %s", vr.token, outcome(err))
	if err != nil {
		s.problem("central delete of visit %s: %v", vr.token, err)
		return
	}
	s.markVisitDeleted(vr.id)
}

// centralVisitMissing notes a visit the server does not hold (not pushed
// yet, or deleted already); both are expected.
func (s *sim) centralVisitMissing(op string, vr *visitRec, err error) bool {
	switch {
	case errors.Is(err, central.ErrUnknownVisit):
		s.note("central: %s visit %s: not on the server yet", op, vr.token)
		return true
	case errors.Is(err, central.ErrVisitDeleted):
		s.note("central: %s visit %s: deleted already", op, vr.token)
		return true
	}
	return false
}

func (s *sim) markVisitDeleted(id string) {
	if s.visitDeletes == nil {
		s.visitDeletes = map[string]int{}
	}
	if _, ok := s.visitDeletes[id]; !ok {
		s.visitDeletes[id] = s.step
	}
}

// visitDeleted reports whether the server deleted v knowingly: its
// tombstone, holding v's notes, and a delete somebody's store or the
// central office acknowledged. A restore from a backup older than the
// visit takes back the visit and its tombstone together: a delete
// acknowledged before the restore then leaves nothing on the server, which
// is no loss (the devices holding its tombstone do not bring it back, and
// the replica checks see that they hold what the server holds).
func (st *serverState) visitDeleted(s *sim, v *visitRec) bool {
	step, ok := s.visitDeletes[v.id]
	if !ok {
		return false
	}
	t, ok := st.tombstones[string(domain.KindVisit)+"/"+v.id]
	if !ok {
		return s.lastRestore != 0 && step < s.lastRestore
	}
	return str(t["notes"]) == v.token
}
