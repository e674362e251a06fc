package sim

import (
	"fmt"
	"slices"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
)

// deleteRec is a delete a device's store acknowledged.
type deleteRec struct {
	d    *device
	kind domain.Kind
	id   string
	ref  string // the record's name in the trace
}

// deleteFollowUp deletes a follow-up of d's regions, made here or pulled.
func (s *sim) deleteFollowUp(d *device) {
	var mine []*followUpRec
	for _, f := range s.followUps {
		if slices.Contains(d.c.regions, f.m.region) {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		s.note("%s: no follow-up to delete", d.name)
		return
	}
	fr := mine[s.rnd.IntN(len(mine))]
	s.deleteRecord(d, domain.KindFollowUp, fr.id, fmt.Sprintf("f%d", fr.i), d.st.DeleteFollowUp)
}

// deleteVisit deletes a visit of d's regions, most often one its own
// coordinator recorded; another's is refused by the server (only the author
// deletes a visit) and waits in the quarantine.
func (s *sim) deleteVisit(d *device) {
	var own, others []*visitRec
	for _, v := range s.visits {
		switch {
		case v.d.c == d.c:
			own = append(own, v)
		case slices.Contains(d.c.regions, v.m.region):
			others = append(others, v)
		}
	}
	pool := own
	if len(others) > 0 && (len(own) == 0 || s.rnd.IntN(5) == 0) {
		pool = others
	}
	if len(pool) == 0 {
		s.note("%s: no visit to delete", d.name)
		return
	}
	vr := pool[s.rnd.IntN(len(pool))]
	if s.deleteRecord(d, domain.KindVisit, vr.id, vr.token, d.st.DeleteVisit) {
		s.markVisitDeleted(vr.id) // the visit checks of visits_test.go
	}
}

// deleteRecord deletes one record on d and models the delete; it reports
// whether the store took it.
func (s *sim) deleteRecord(d *device, kind domain.Kind, id, ref string, del func(string) error) bool {
	if !s.storeOutcome(d, fmt.Sprintf("delete %s %s", kind, ref), del(id)) {
		return false
	}
	s.deletes = append(s.deletes, &deleteRec{d: d, kind: kind, id: id, ref: ref})
	s.res.Deletes++
	return true
}

// eraseMember is the central office erasing a member under Law 25 (the
// `terrain-central members delete` command): the member, its visits,
// follow-ups and conflicts become bare tombstones, and every device must
// forget them.
func (s *sim) eraseMember() {
	var live []*memberRec
	for _, m := range s.members {
		if !m.erased {
			live = append(live, m)
		}
	}
	if len(live) <= 3 {
		s.note("central: too few members left to erase one")
		return
	}
	m := live[s.rnd.IntN(len(live))]
	_, err := s.srv.DeleteMember(s.ctx, m.id)
	s.note("central: erase m%d: %s", m.i, outcome(err))
	if err != nil {
		s.problem("central erasure of m%d: %v", m.i, err)
		return
	}
	m.erased = true
	s.erasures = append(s.erasures, m)
	s.res.Erasures++
}

// memberOf returns the model member a record belongs to, nil when unknown.
func (s *sim) memberOf(kind domain.Kind, id string) *memberRec {
	switch kind {
	case domain.KindMember:
		if i := slices.IndexFunc(s.members, func(m *memberRec) bool { return m.id == id }); i >= 0 {
			return s.members[i]
		}
	case domain.KindVisit:
		if i := slices.IndexFunc(s.visits, func(v *visitRec) bool { return v.id == id }); i >= 0 {
			return s.visits[i].m
		}
	case domain.KindFollowUp:
		if i := slices.IndexFunc(s.followUps, func(f *followUpRec) bool { return f.id == id }); i >= 0 {
			return s.followUps[i].m
		}
	}
	return nil
}

// deletions is what the checks know about deletes at the end of a run.
type deletions struct {
	// deleted holds "<kind>/<id>" of the records a delete the server did
	// not refuse, or an erasure, should have removed.
	deleted map[string]bool
}

// deletions lists the deletes that should hold, given the refused ones
// ("<device>/delete/<kind>/<id>" in refused), and counts as lost every
// such delete after which the server still holds the record.
func (s *sim) deletions(srv *serverState, refused map[string]bool) deletions {
	out := deletions{deleted: map[string]bool{}}
	for _, del := range s.deletes {
		if refused[fmt.Sprintf("%s/delete/%s/%s", del.d.name, del.kind, del.id)] {
			continue
		}
		out.deleted[string(del.kind)+"/"+del.id] = true
		if _, live := srv.fields[string(del.kind)+"/"+del.id]; live {
			s.lost("%s deleted %s %s and the server still has it", del.d.name, del.kind, del.ref)
		}
	}
	return out
}

// gone reports whether a record is one a delete or an erasure removed: a
// write to it may be missing from the server without being lost.
func (s *sim) gone(dl deletions, srv *serverState, kind domain.Kind, id string) bool {
	if _, live := srv.fields[string(kind)+"/"+id]; live {
		return false
	}
	if m := s.memberOf(kind, id); m != nil && m.erased {
		return true
	}
	return dl.deleted[string(kind)+"/"+id]
}

// checkErasures: nothing of an erased member may be left anywhere — on the
// server (records, conflict records), on any device (records, conflicts,
// the values of outbox or quarantine entries).
func (s *sim) checkErasures(srv *serverState) {
	if len(s.erasures) == 0 {
		return
	}
	erased := map[string]*memberRec{}
	for _, m := range s.erasures {
		erased[m.id] = m
	}
	ids := map[string]*memberRec{} // every record id of an erased member
	for _, m := range s.erasures {
		ids[m.id] = m
	}
	for _, v := range s.visits {
		if v.m.erased {
			ids[v.id] = v.m
		}
	}
	for _, f := range s.followUps {
		if f.m.erased {
			ids[f.id] = f.m
		}
	}
	for key := range srv.fields {
		if m := ids[key[len(key)-36:]]; m != nil {
			s.diverged("the server still holds %s of erased member m%d", key[:len(key)-37], m.i)
		}
	}
	for _, c := range srv.conflicts {
		if m := ids[c.RecordID]; m != nil {
			s.diverged("the server still holds a conflict about erased member m%d", m.i)
		}
	}
	for _, d := range s.devices {
		found := func(what string, m *memberRec) {
			s.diverged("%s still holds %s of erased member m%d", d.name, what, m.i)
		}
		err := d.st.EachMember(func(m domain.Member) error {
			if em := erased[m.ID]; em != nil {
				found("the member", em)
			}
			return nil
		})
		s.must(err, "read device members")
		s.must(d.st.EachVisit(func(v domain.Visit) error {
			if em := erased[v.MemberID]; em != nil {
				found("a visit", em)
			}
			return nil
		}), "read device visits")
		s.must(d.st.EachFollowUp(func(f domain.FollowUp) error {
			if em := erased[f.MemberID]; em != nil {
				found("a follow-up", em)
			}
			return nil
		}), "read device follow-ups")
		cs, err := d.st.Conflicts(store.ConflictFilter{Resolved: true})
		s.must(err, "read device conflicts")
		for _, c := range cs {
			if m := ids[c.RecordID]; m != nil {
				found("a conflict", m)
			}
		}
		q, err := d.st.Quarantine()
		s.must(err, "read quarantine")
		for _, x := range q {
			if m := ids[x.Mutation.ID]; m != nil && len(x.Mutation.Fields) > 0 {
				found(fmt.Sprintf("a quarantined %s change with its values", x.Mutation.Kind), m)
			}
		}
		out, err := d.st.Outbox(0, 0)
		s.must(err, "read outbox")
		for _, x := range out {
			if m := ids[x.ID]; m != nil && len(x.Fields) > 0 {
				found(fmt.Sprintf("an unsent %s change with its values", x.Kind), m)
			}
		}
	}
}

// excused returns whether an acknowledged write may be missing from the
// server without being lost: its record was deleted or erased, it is the
// central office's and a restore took it back, or a write a restore took
// back had replaced it (no device holds it as its own any more).
func (s *sim) excused(srv *serverState, dl deletions) func(*write) bool {
	undoneParent := map[string]bool{}
	for _, w := range s.writes {
		if w.undone {
			undoneParent[fieldKey(w.kind, w.id, w.field, w.parent)] = true
		}
	}
	return func(w *write) bool {
		return w.undone || undoneParent[fieldKey(w.kind, w.id, w.field, w.value)] || s.gone(dl, srv, w.kind, w.id)
	}
}
