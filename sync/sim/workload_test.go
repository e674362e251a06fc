package sim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// doStep moves the clock on and lets one device do one thing.
func (s *sim) doStep() {
	s.advance(s.millis(time.Second, 20*time.Minute))
	if s.rnd.IntN(50) == 0 {
		s.advance(s.millis(24*time.Hour, 6*24*time.Hour)) // a long weekend
	}
	s.deliverStale(false)
	d := s.devices[s.rnd.IntN(len(s.devices))]
	if d.offline > 0 {
		d.offline--
		if d.offline == 0 {
			s.note("%s: network back", d.name)
		}
	}
	if !d.signedIn && s.rnd.IntN(3) == 0 {
		s.signIn(d)
		return
	}
	switch x := s.rnd.IntN(1000); {
	case x < 220:
		s.recordVisit(d)
	case x < 450:
		s.editMember(d)
	case x < 520:
		s.createFollowUp(d)
	case x < 620:
		s.editFollowUp(d)
	case x < 640:
		s.editVisit(d)
	case x < 660:
		s.resolveConflict(d)
	case x < 680:
		s.centralEdit()
	case x < 730:
		s.visitChange(d)
	case x < 880:
		s.sync(d)
	case x < 910:
		if d.offline == 0 {
			d.offline = 10 + s.rnd.IntN(70)
			s.res.Faults[offline]++
			s.note("%s: offline for %d steps", d.name, d.offline)
		}
	case x < 935:
		s.signOut(d)
	case x < 965:
		d.skew = s.drawSkew()
		s.note("%s: clock skew now %v", d.name, d.skew)
	case x < 975:
		s.res.Faults[restart]++
		s.note("server restarts")
		s.restartServer()
	case x < 985:
		s.deleteFollowUp(d)
	case x < 990:
		s.deleteVisit(d)
	case x < 993:
		s.eraseMember()
	case x < 996:
		s.takeBackup()
	case x < 999 && *restoresFlag:
		s.restoreBackup()
	default:
		s.note("%s: idle", d.name)
	}
}

// inScope lists the members of d's coordinator's regions.
func (s *sim) inScope(d *device) []*memberRec {
	var out []*memberRec
	for _, m := range s.members {
		if slices.Contains(d.c.regions, m.region) {
			out = append(out, m)
		}
	}
	return out
}

// pickMember picks a member of d's regions, half the time among the
// first three: the same members are edited on several devices.
func (s *sim) pickMember(d *device) *memberRec {
	ms := s.inScope(d)
	if len(ms) == 0 {
		return nil
	}
	if s.rnd.IntN(2) == 0 {
		return ms[s.rnd.IntN(min(3, len(ms)))]
	}
	return ms[s.rnd.IntN(len(ms))]
}

// storeOutcome traces a store operation; an error other than those the
// workload can cause (a record not pulled yet, a validation error) is a
// problem.
func (s *sim) storeOutcome(d *device, op string, err error) bool {
	o := outcome(err)
	s.note("%s: %s: %s", d.name, op, o)
	if err != nil && o != "not-found" && o != "invalid" && o != "deleted" {
		s.problem("%s: %s: %v", d.name, op, err)
	}
	return err == nil
}

func (s *sim) recordVisit(d *device) {
	m := s.pickMember(d)
	if m == nil {
		s.note("%s: no member to visit", d.name)
		return
	}
	token := fmt.Sprintf("v-%d-%d", s.seed, s.next())
	devToday, today := domain.DateOf(d.now(s)), domain.DateOf(s.now)
	date := devToday
	if today.Before(date) {
		date = today
	}
	date = date.AddDays(-s.rnd.IntN(6))
	kind := "visit"
	if s.rnd.IntN(25) == 0 {
		// Dated on the device's day: a device whose clock runs ahead
		// records a visit the server finds in the future, and refuses.
		date, kind = devToday, "visit dated on the device's day"
	}
	v := domain.Visit{ID: domain.NewID(), MemberID: m.id, CoordinatorID: d.c.id, Date: date,
		DurationMinutes: 15 + s.rnd.IntN(120), Mode: domain.OnSite, Notes: token}
	if s.storeOutcome(d, fmt.Sprintf("%s %s of m%d", kind, token, m.i), d.st.SaveVisit(v)) {
		s.visits = append(s.visits, &visitRec{step: s.step, token: token, id: v.ID, d: d, m: m})
		s.res.Visits++
	}
}

// memberFields are the member fields the workload edits, with a unique
// value for each.
var memberFields = []string{"notes", "phone", "email", "contact_name", "website"}

func memberField(m *domain.Member, field string) *string {
	switch field {
	case "notes":
		return &m.Notes
	case "phone":
		return &m.Phone
	case "email":
		return &m.Email
	case "contact_name":
		return &m.ContactName
	case "website":
		return &m.Website
	}
	panic("unknown member field " + field)
}

func (s *sim) uniqueValue(field string) string {
	n := s.next()
	switch field {
	case "phone":
		return fmt.Sprintf("418 %03d-%04d", 200+n/10000, n%10000)
	case "email":
		return fmt.Sprintf("e%d@s%d.example.org", n, s.seed)
	case "website":
		return fmt.Sprintf("https://w%d.s%d.example.org", n, s.seed)
	}
	return fmt.Sprintf("%s-%d-%d", field, s.seed, n)
}

func (s *sim) editMember(d *device) {
	mr := s.pickMember(d)
	if mr == nil {
		s.note("%s: no member to edit", d.name)
		return
	}
	field := memberFields[s.rnd.IntN(len(memberFields))]
	value := s.uniqueValue(field)
	m, err := d.st.Member(mr.id)
	if !s.storeOutcome(d, fmt.Sprintf("read m%d", mr.i), err) {
		return
	}
	p := memberField(&m, field)
	parent := *p
	*p = value
	if s.storeOutcome(d, fmt.Sprintf("edit m%d %s", mr.i, field), d.st.SaveMember(m)) {
		s.addWrite(&write{who: d.name, d: d, kind: domain.KindMember, id: mr.id, ref: fmt.Sprintf("m%d", mr.i),
			field: field, value: value, parent: parent})
	}
}

func (s *sim) addWrite(w *write) {
	w.step = s.step
	s.writes = append(s.writes, w)
	s.res.Writes++
}

func (s *sim) createFollowUp(d *device) {
	m := s.pickMember(d)
	if m == nil {
		s.note("%s: no member for a follow-up", d.name)
		return
	}
	services := domain.DefaultServices()
	f := domain.FollowUp{ID: domain.NewID(), MemberID: m.id, ServiceID: services[s.rnd.IntN(len(services))].ID,
		Description: s.uniqueValue("description"), Due: domain.DateOf(s.now).AddDays(s.rnd.IntN(70) - 10),
		Status: domain.FollowUpOpen}
	rec := &followUpRec{step: s.step, i: len(s.followUps), id: f.ID, m: m}
	if s.storeOutcome(d, fmt.Sprintf("create f%d on m%d", rec.i, m.i), d.st.SaveFollowUp(f)) {
		s.followUps = append(s.followUps, rec)
		ref := fmt.Sprintf("f%d", rec.i)
		s.addWrite(&write{who: d.name, d: d, kind: domain.KindFollowUp, id: f.ID, ref: ref, field: "description",
			value: f.Description})
		s.addWrite(&write{who: d.name, d: d, kind: domain.KindFollowUp, id: f.ID, ref: ref, field: "status",
			value: string(f.Status)})
	}
}

// editFollowUp edits a follow-up of d's regions, made on this device or on
// another one (then only once this device has pulled it).
func (s *sim) editFollowUp(d *device) {
	var mine []*followUpRec
	for _, f := range s.followUps {
		if slices.Contains(d.c.regions, f.m.region) {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		s.note("%s: no follow-up to edit", d.name)
		return
	}
	fr := mine[s.rnd.IntN(len(mine))]
	f, err := d.st.FollowUp(fr.id)
	if !s.storeOutcome(d, fmt.Sprintf("read f%d", fr.i), err) {
		return
	}
	var field, value, parent string
	switch s.rnd.IntN(3) {
	case 0:
		field, parent = "description", f.Description
		value = s.uniqueValue(field)
		f.Description = value
	case 1:
		field, parent = "assigned_to", f.AssignedTo
		value = s.uniqueValue(field)
		f.AssignedTo = value
	default:
		field, parent = "status", string(f.Status)
		next := []domain.FollowUpStatus{domain.FollowUpInProgress, domain.FollowUpDone, domain.FollowUpOpen}
		f.Status = next[s.rnd.IntN(len(next))]
		value = string(f.Status)
	}
	if s.storeOutcome(d, fmt.Sprintf("edit f%d %s", fr.i, field), d.st.SaveFollowUp(f)) && value != parent {
		s.addWrite(&write{who: d.name, d: d, kind: domain.KindFollowUp, id: fr.id, ref: fmt.Sprintf("f%d", fr.i),
			field: field, value: value, parent: parent})
	}
}

// editVisit changes the needs of a visit of d's regions, sometimes one
// that another coordinator recorded: the server refuses that, and the
// edit goes to the device's quarantine.
func (s *sim) editVisit(d *device) {
	var mine []*visitRec
	for _, v := range s.visits {
		if slices.Contains(d.c.regions, v.m.region) {
			mine = append(mine, v)
		}
	}
	if len(mine) == 0 {
		s.note("%s: no visit to edit", d.name)
		return
	}
	vr := mine[s.rnd.IntN(len(mine))]
	v, err := d.st.Visit(vr.id)
	if !s.storeOutcome(d, "read visit "+vr.token, err) {
		return
	}
	parent := v.Needs
	v.Needs = s.uniqueValue("needs")
	if s.storeOutcome(d, "edit needs of visit "+vr.token, d.st.SaveVisit(v)) {
		s.addWrite(&write{who: d.name, d: d, kind: domain.KindVisit, id: vr.id, ref: vr.token, field: "needs",
			value: v.Needs, parent: parent})
	}
}

// resolveConflict marks one of the device's open conflicts resolved,
// chosen in an order that does not depend on ids.
func (s *sim) resolveConflict(d *device) {
	cs, err := d.st.Conflicts(store.ConflictFilter{})
	if !s.storeOutcome(d, "list conflicts", err) {
		return
	}
	if len(cs) == 0 {
		s.note("%s: no conflict to resolve", d.name)
		return
	}
	slices.SortFunc(cs, func(a, b store.Conflict) int {
		return cmp.Or(cmp.Compare(a.RecordKind, b.RecordKind), cmp.Compare(s.modelIndex(a.RecordKind, a.RecordID),
			s.modelIndex(b.RecordKind, b.RecordID)), cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Winner.HLC, b.Winner.HLC), cmp.Compare(a.Loser.HLC, b.Loser.HLC))
	})
	c := cs[s.rnd.IntN(len(cs))]
	s.storeOutcome(d, fmt.Sprintf("resolve conflict on %s %d %s", c.RecordKind,
		s.modelIndex(c.RecordKind, c.RecordID), c.Field), d.st.ResolveConflict(c.ID))
}

// modelIndex is a record's position in the model: stable across runs of a
// seed, unlike its id.
func (s *sim) modelIndex(kind domain.Kind, id string) int {
	switch kind {
	case domain.KindMember:
		return slices.IndexFunc(s.members, func(m *memberRec) bool { return m.id == id })
	case domain.KindFollowUp:
		return slices.IndexFunc(s.followUps, func(f *followUpRec) bool { return f.id == id })
	case domain.KindVisit:
		return slices.IndexFunc(s.visits, func(v *visitRec) bool { return v.id == id })
	}
	return -1
}

// centralEdit is the central office changing a member's notes by a
// re-import, concurrent with whatever the devices do.
func (s *sim) centralEdit() {
	mr := s.members[s.rnd.IntN(len(s.members))]
	if mr.erased {
		s.note("central: m%d was erased", mr.i)
		return
	}
	var m domain.Member
	found := false
	err := s.srv.ExportMembers(s.ctx, func(x domain.Member) error {
		if x.ID == mr.id {
			m, found = x, true
		}
		return nil
	})
	s.must(err, "export members")
	if !found {
		s.problem("member m%d is missing on the server", mr.i)
		return
	}
	parent := m.Notes
	m.Notes = s.uniqueValue("central")
	err = s.srv.Import(s.ctx, []domain.Member{m}, nil, nil)
	s.note("central: notes of m%d: %s", mr.i, outcome(err))
	if err != nil {
		s.problem("central import: %v", err)
		return
	}
	s.addWrite(&write{who: "central", kind: domain.KindMember, id: mr.id, ref: fmt.Sprintf("m%d", mr.i),
		field: "notes", value: m.Notes, parent: parent})
}

// expectedSyncError reports whether a failed sync is one the seed's
// network or workload explains.
func expectedSyncError(err error) bool {
	return errors.Is(err, client.ErrOffline) || errors.Is(err, client.ErrServer) ||
		errors.Is(err, client.ErrUnauthorized) || errors.Is(err, engine.ErrNotSignedIn)
}

// sync runs one whole sync of d. A failure must be reported as one.
func (s *sim) sync(d *device) (engine.Summary, error) {
	sum, err := d.eng.SyncOnce(s.ctx)
	s.note("%s: sync: %s, pushed %d, rejected %d, pulled %d, pages %d, refetched %v", d.name, outcome(err),
		sum.Pushed, sum.Rejected, sum.Pulled, sum.Pages, sum.Refetched)
	st := d.eng.State()
	if (err == nil) != (st.LastError == nil) {
		s.problem("%s: sync returned %v but the state says %v", d.name, err, st.LastError)
	}
	if err != nil && !expectedSyncError(err) {
		s.problem("%s: sync: %v", d.name, err)
	}
	if errors.Is(err, client.ErrUnauthorized) {
		d.signedIn = false // the engine forgot the refused token
	}
	if st.SignedIn != d.signedIn {
		s.problem("%s: signed in %v, the engine says %v", d.name, d.signedIn, st.SignedIn)
	}
	q, qerr := d.st.Quarantine()
	s.must(qerr, "read quarantine")
	for _, x := range q {
		if !d.seen[x.Mutation.Seq] {
			d.seen[x.Mutation.Seq] = true
			s.note("%s: quarantined %s %d (%s)", d.name, x.Mutation.Kind, s.modelIndex(x.Mutation.Kind, x.Mutation.ID), x.Code)
		}
	}
	return sum, err
}

func (s *sim) signIn(d *device) bool {
	err := d.eng.SignIn(s.ctx, serverURL, d.c.email, password)
	s.note("%s: sign in: %s", d.name, outcome(err))
	if err != nil && !expectedSyncError(err) {
		s.problem("%s: sign in: %v", d.name, err)
	}
	if err == nil {
		d.signedIn = true
	}
	return err == nil
}

// signOut signs d out; offline, only this device forgets its token, and
// the unsent changes stay either way.
func (s *sim) signOut(d *device) {
	if !d.signedIn {
		s.note("%s: already signed out", d.name)
		return
	}
	before, err := d.st.PendingCount()
	s.must(err, "pending count")
	err = d.eng.SignOut(s.ctx)
	s.note("%s: sign out: %s", d.name, outcome(err))
	if err != nil && !errors.Is(err, engine.ErrNotRevoked) {
		s.problem("%s: sign out: %v", d.name, err)
	}
	d.signedIn = false
	if after, err := d.st.PendingCount(); err != nil || after != before {
		s.problem("%s: sign-out changed the outbox from %d to %d (%v)", d.name, before, after, err)
	}
	if sess, err := d.st.Session(); err != nil || sess.SignedIn() {
		s.problem("%s: still holds a token after signing out (%v)", d.name, err)
	}
}
