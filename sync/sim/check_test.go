package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/protocol"
)

// finish heals the world: the copies still on the network arrive, the
// server restarts once more, every device comes back online, signs in if
// it must and syncs until it has nothing to send; then rounds of syncs
// until a whole round moves nothing, so that everyone has everyone's
// changes.
func (s *sim) finish() {
	s.step = s.res.Steps + 1
	s.note("the network heals")
	s.deliverStale(true)
	s.healed = true
	s.restartServer()
	for _, d := range s.devices {
		d.offline = 0
	}
	for round := 0; ; round++ {
		if round == 8 {
			s.problem("still changing after %d rounds of syncs", round)
			return
		}
		moved := false
		for _, d := range s.devices {
			for try := 0; ; try++ {
				// A stale copy of an old sign-in may have replaced the
				// token: the device is then told to sign in again.
				if !d.signedIn && !s.signIn(d) {
					s.problem("%s cannot sign in on a healed network", d.name)
					break
				}
				sum, err := s.sync(d)
				moved = moved || sum.Pushed+sum.Pulled > 0
				if err == nil && d.eng.State().Pending == 0 {
					break
				}
				if try == 4 {
					s.problem("%s: no sync with nothing left to send in 5 tries on a healed network: %v", d.name, err)
					break
				}
			}
		}
		if !moved && round > 0 {
			s.note("quiet after %d rounds", round+1)
			return
		}
	}
}

// check counts what the run lost, duplicated and left diverged.
//
// lost:
//   - a visit whose SaveVisit returned nil, not in its device's quarantine,
//     with no visit of its id and notes on the server, unless the server
//     holds its tombstone and a delete of it was acknowledged (a
//     tombstone keeps the last fields: the field writes below read them);
//   - a field write (member, follow-up, visit needs) a store or the central
//     office acknowledged, not in its device's quarantine, whose value is
//     neither the server's current value of that field, nor the losing
//     value of a server conflict record on that record and field, nor the
//     parent of another acknowledged write of that field that the server
//     did not refuse (whose author saw it and replaced it);
//   - a field write by a device, not refused, whose parent is the server's
//     final value: a value its author knowingly replaced came back (only a
//     replayed old write does that; the replacement, not concurrent with
//     it, is lost even if a conflict record keeps it). Statuses, whose
//     values repeat, and the central office's imports, which merge as
//     concurrent writes by design, are left out;
//   - an outbox entry seen in a device's quarantine during the run that is
//     no longer there.
//
// duplicated:
//   - every server visit beyond the first with the same notes token, and
//     every model visit whose token the server holds under another id;
//   - every server conflict record beyond the first with the same record,
//     field and losing value, for the values the workload made unique;
//   - every conflict record whose winner is a device's write and whose
//     loser is the value that write replaced: not concurrent, so the loser
//     was applied a second time, after its replacement.
//
// diverged:
//   - every record (member, visit, follow-up of the device's regions;
//     conflict, by id and resolved flag) that differs between a device and
//     the server once the quarantine is discarded, and every device whose
//     outbox is not empty;
//   - every problem found during the run (the server answering 5xx, a
//     truncated body accepted, a failed sync reported as a success, an
//     unexplained error).
func (s *sim) check() {
	s.step = s.res.Steps + 2
	srv := s.serverState()
	s.res.Conflicts = len(srv.conflicts)

	// What each device's quarantine holds, and what it held during the
	// run.
	refused := map[string]bool{} // "<device>/<kind>/<id>/<field>/<value>", and "<device>/visit/<id>" for creates
	for _, d := range s.devices {
		q, err := d.st.Quarantine()
		s.must(err, "read quarantine")
		s.res.Quarantined += len(q)
		have := map[uint64]bool{}
		for _, x := range q {
			have[x.Mutation.Seq] = true
			m := x.Mutation
			if m.Delete {
				refused[fmt.Sprintf("%s/delete/%s/%s", d.name, m.Kind, m.ID)] = true
			}
			if m.Kind == domain.KindVisit {
				if _, ok := m.Fields["notes"]; ok {
					refused[d.name+"/visit/"+m.ID] = true
				}
			}
			for field, raw := range m.Fields {
				refused[fmt.Sprintf("%s/%s/%s/%s/%s", d.name, m.Kind, m.ID, field, str(raw))] = true
			}
		}
		for _, seq := range sortedKeys(d.seen) {
			if !have[seq] {
				s.lost("%s: outbox entry %d left the quarantine", d.name, seq)
			}
		}
		if n := d.eng.State().Quarantined; n != len(q) {
			s.diverged("%s: the engine counts %d quarantined, the store holds %d", d.name, n, len(q))
		}
	}
	isRefused := func(w *write) bool {
		return w.d != nil && refused[fmt.Sprintf("%s/%s/%s/%s/%s", w.who, w.kind, w.id, w.field, w.value)]
	}
	// Deleted or erased records may lack what was written to them; an
	// erased member must have left nothing behind.
	dl := s.deletions(srv, refused)
	s.checkErasures(srv)
	excused := s.excused(srv, dl)

	// Visits: on the server, once, under their id.
	byToken := map[string][]string{}
	for _, v := range srv.visits {
		if strings.HasPrefix(v.Notes, "v-") {
			byToken[v.Notes] = append(byToken[v.Notes], v.ID)
		}
	}
	for _, v := range s.visits {
		ids := byToken[v.token]
		switch {
		case len(ids) == 0 && !refused[v.d.name+"/visit/"+v.id] && !srv.visitDeleted(s, v) &&
			!s.gone(dl, srv, domain.KindVisit, v.id):
			s.lost("visit %s of %s is not on the server", v.token, v.d.name)
		case len(ids) > 1:
			s.duplicated(len(ids)-1, "visit %s is %d times on the server", v.token, len(ids))
		case len(ids) == 1 && ids[0] != v.id:
			s.duplicated(1, "visit %s is on the server under another id", v.token)
		}
	}

	// Field writes: current, kept in a conflict, or knowingly replaced.
	replaced := map[string]bool{}
	tracked := map[string]bool{}
	parents := map[string]string{} // a device write's parent, by its value
	written := map[string]int{}    // a write's position in s.writes, by its value
	for i, w := range s.writes {
		written[fieldKey(w.kind, w.id, w.field, w.value)] = i
		if !isRefused(w) {
			replaced[fieldKey(w.kind, w.id, w.field, w.parent)] = true
		}
		if w.field != "status" {
			tracked[fieldKey(w.kind, w.id, w.field, w.value)] = true
			if w.d != nil && !isRefused(w) {
				parents[fieldKey(w.kind, w.id, w.field, w.value)] = w.parent
			}
		}
	}
	ownLater := s.ownLaterAfterRestore(isRefused)
	kept := map[string]int{}
	for _, c := range srv.conflicts {
		kept[fieldKey(c.RecordKind, c.RecordID, c.Field, str(c.Loser.Value))]++
		winner := fieldKey(c.RecordKind, c.RecordID, c.Field, str(c.Winner.Value))
		if parent, ok := parents[winner]; ok && parent == str(c.Loser.Value) &&
			!s.requeuedAfterRestore(c.RecordKind, c.RecordID, c.Field, parent, written) {
			s.duplicated(1, "a conflict on %s %s sets %q against %q, the value it replaced", c.RecordKind,
				c.Field, str(c.Winner.Value), parent)
		}
	}
	for k, n := range kept {
		if n > 1 && tracked[k] {
			s.duplicated(n-1, "%d conflict records keep the same losing value (%s)", n, k)
		}
	}
	for _, w := range s.writes {
		if isRefused(w) || excused(w) {
			continue
		}
		cur, ok := srv.field(w.kind, w.id, w.field)
		k := fieldKey(w.kind, w.id, w.field, w.value)
		switch {
		case !(ok && cur == w.value) && kept[k] == 0 && !replaced[k] && !ownLater[k]:
			s.lost("%s's %s of %s = %q is nowhere: the server has %q and no conflict keeps it", w.who, w.field,
				w.ref, w.value, cur)
		case w.d != nil && w.field != "status" && ok && cur == w.parent:
			s.lost("%s replaced %s of %s = %q by %q, and the server holds %q again", w.who, w.field, w.ref,
				w.parent, w.value, cur)
		}
	}

	// Replicas: once the coordinator has discarded what the server refused,
	// each device holds exactly the server's records of its regions.
	for _, d := range s.devices {
		q, err := d.st.Quarantine()
		s.must(err, "read quarantine")
		for _, x := range q {
			s.must(d.st.DiscardQuarantined(x.Mutation.Seq), "discard quarantined")
		}
		if n, err := d.st.PendingCount(); err != nil || n != 0 {
			s.diverged("%s: %d changes left in the outbox (%v)", d.name, n, err)
		}
		want := srv.snapshot(d.c.regions)
		got := s.deviceSnapshot(d)
		for _, line := range want.diff(got) {
			s.diverged("%s differs from the server: %s", d.name, line)
		}
	}
	s.note("checked: lost %d, duplicated %d, diverged %d", s.res.Lost, s.res.Duplicated, s.res.Diverged)
}

func (s *sim) lost(format string, args ...any) {
	s.res.Lost++
	s.failure("lost: "+format, args...)
}

func (s *sim) duplicated(n int, format string, args ...any) {
	s.res.Duplicated += n
	s.failure("duplicated: "+format, args...)
}

func (s *sim) diverged(format string, args ...any) {
	s.res.Diverged++
	s.failure("diverged: "+format, args...)
}

func (s *sim) failure(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.record("FAIL "+format, "FAIL "+msg)
	s.res.Problems = append(s.res.Problems, msg)
}

func fieldKey(kind domain.Kind, id, field, value string) string {
	return string(kind) + "/" + id + "/" + field + "/" + value
}

// str reads a JSON string value; anything else as its JSON text.
func str(raw json.RawMessage) string {
	var v string
	if json.Unmarshal(raw, &v) == nil {
		return v
	}
	return string(raw)
}

func sortedKeys[K interface{ ~uint64 }](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// serverState is the server's data as the checks read it.
type serverState struct {
	members   []domain.Member
	visits    []domain.Visit
	followUps []domain.FollowUp
	conflicts []protocol.Conflict
	// conflictRegion is each conflict record's region.
	conflictRegion map[string]string
	// fields holds every record's fields, by kind and id.
	fields map[string]map[string]json.RawMessage
	// tombstones holds the last fields of deleted records, by kind and id.
	tombstones map[string]map[string]json.RawMessage
}

func (s *sim) serverState() *serverState {
	st := &serverState{conflictRegion: map[string]string{}, fields: map[string]map[string]json.RawMessage{},
		tombstones: map[string]map[string]json.RawMessage{}}
	s.must(s.srv.ExportMembers(s.ctx, func(m domain.Member) error { st.members = append(st.members, m); return nil }),
		"export members")
	s.must(s.srv.ExportVisits(s.ctx, func(v domain.Visit) error { st.visits = append(st.visits, v); return nil }),
		"export visits")
	s.must(s.srv.ExportFollowUps(s.ctx, func(f domain.FollowUp) error { st.followUps = append(st.followUps, f); return nil }),
		"export follow-ups")
	err := s.backend.View(s.ctx, func(tx central.ReadTx) error {
		for _, kind := range []domain.Kind{domain.KindMember, domain.KindVisit, domain.KindFollowUp} {
			err := tx.Records(kind, func(r central.Record) error {
				if !r.Deleted {
					st.fields[string(kind)+"/"+r.ID] = r.Fields
				} else {
					st.tombstones[string(kind)+"/"+r.ID] = r.Fields
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return tx.Records(protocol.KindConflict, func(r central.Record) error {
			if r.Deleted {
				return nil // erased with its member: a bare tombstone
			}
			b, err := json.Marshal(r.Fields)
			if err != nil {
				return err
			}
			var c protocol.Conflict
			if err := json.Unmarshal(b, &c); err != nil {
				return err
			}
			st.conflicts = append(st.conflicts, c)
			st.conflictRegion[c.ID] = r.Region
			return nil
		})
	})
	s.must(err, "read server records")
	return st
}

func (st *serverState) field(kind domain.Kind, id, field string) (string, bool) {
	rec, ok := st.fields[string(kind)+"/"+id]
	if !ok {
		// A tombstone keeps the last fields: what was written before the
		// delete is still there.
		rec, ok = st.tombstones[string(kind)+"/"+id]
	}
	if !ok {
		return "", false
	}
	raw, ok := rec[field]
	return str(raw), ok
}

// snapshot is a set of records as JSON, by kind and id.
type snapshot map[string]string

func (sn snapshot) add(kind domain.Kind, id string, v any) {
	b, _ := json.Marshal(v)
	sn[string(kind)+"/"+id] = string(b)
}

// diff lists the records that differ, for a readable failure.
func (sn snapshot) diff(o snapshot) []string {
	var out []string
	for k, v := range sn {
		if o[k] != v {
			out = append(out, fmt.Sprintf("%s: server %s, device %s", k, v, orMissing(o[k])))
		}
	}
	for k, v := range o {
		if _, ok := sn[k]; !ok {
			out = append(out, fmt.Sprintf("%s: server missing, device %s", k, v))
		}
	}
	sort.Strings(out)
	return out
}

func orMissing(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

// conflictView is what a device and the server must agree on about a
// conflict record.
type conflictView struct {
	Field    string `json:"field"`
	Loser    string `json:"loser"`
	Winner   string `json:"winner"`
	Resolved bool   `json:"resolved"`
}

// snapshot is the server's members, visits, follow-ups and conflicts of
// regions.
func (st *serverState) snapshot(regions []string) snapshot {
	out := snapshot{}
	in := map[string]bool{}
	for _, m := range st.members {
		if slices.Contains(regions, m.Region) {
			in[m.ID] = true
			out.add(domain.KindMember, m.ID, m)
		}
	}
	for _, v := range st.visits {
		if in[v.MemberID] {
			out.add(domain.KindVisit, v.ID, v)
		}
	}
	for _, f := range st.followUps {
		if in[f.MemberID] {
			out.add(domain.KindFollowUp, f.ID, f)
		}
	}
	for _, c := range st.conflicts {
		if slices.Contains(regions, st.conflictRegion[c.ID]) {
			out.add(protocol.KindConflict, c.ID, conflictView{Field: c.Field, Loser: str(c.Loser.Value),
				Winner: str(c.Winner.Value), Resolved: c.Resolved})
		}
	}
	return out
}

func (s *sim) deviceSnapshot(d *device) snapshot {
	out := snapshot{}
	err := d.st.EachMember(func(m domain.Member) error { out.add(domain.KindMember, m.ID, m); return nil })
	if err == nil {
		err = d.st.EachVisit(func(v domain.Visit) error { out.add(domain.KindVisit, v.ID, v); return nil })
	}
	if err == nil {
		err = d.st.EachFollowUp(func(f domain.FollowUp) error { out.add(domain.KindFollowUp, f.ID, f); return nil })
	}
	s.must(err, "read device records")
	cs, err := d.st.Conflicts(store.ConflictFilter{Resolved: true})
	s.must(err, "read device conflicts")
	for _, c := range cs {
		out.add(protocol.KindConflict, c.ID, conflictView{Field: c.Field, Loser: str(c.Loser.Value),
			Winner: str(c.Winner.Value), Resolved: c.Resolved})
	}
	return out
}
