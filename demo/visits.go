package demo

import (
	"slices"

	"leconsortium.coop/terrain/domain"
)

// EachVisit calls fn with every visit, member by member in the order of
// Members and by date within a member, building each visit only when it is
// due: walking 500,000 visits holds one at a time. It stops at and returns
// fn's first error.
func (g *Generator) EachVisit(fn func(domain.Visit) error) error {
	return g.walk(func(_ int, v *domain.Visit, _ uint64, _ int64) error {
		return fn(*v)
	})
}

// EachFollowUp calls fn with every follow-up, in the order of the visits
// they came from. About a third of the visits leave one or two; most of
// those due long ago are done, some are overdue, recent ones are open.
func (g *Generator) EachFollowUp(fn func(domain.FollowUp) error) error {
	var r rng
	last := -1
	return g.walk(func(i int, v *domain.Visit, serial uint64, ms int64) error {
		if i != last {
			r.seed(g.seed, streamFollowUps, i)
			last = i
		}
		n := 0
		switch x := r.intn(100); {
		case x < 8:
			n = 2
		case x < 35:
			n = 1
		}
		for k := range n {
			if err := fn(g.followUp(&r, v, serial*4+uint64(k), ms+int64(k+1)*60_000)); err != nil {
				return err
			}
		}
		return nil
	})
}

// walk regenerates every member's visits in order and hands each to fn with
// its member index, its serial number among all visits and the millisecond
// its id carries.
func (g *Generator) walk(fn func(i int, v *domain.Visit, serial uint64, ms int64) error) error {
	var r rng
	var ago []int
	var serial uint64
	for i := range g.size.Members {
		count := int(g.visits[i])
		if count == 0 {
			continue
		}
		m, c := g.member(i)
		r.seed(g.seed, streamVisits, i)
		from, to := c.window()
		ago = ago[:0]
		for range count {
			ago = append(ago, r.between(to, from-1))
		}
		slices.Sort(ago)
		slices.Reverse(ago) // oldest first
		candidates := g.byRegion[g.region[i]]
		usual := candidates[r.intn(len(candidates))]
		for j, a := range ago {
			var v domain.Visit
			ms := g.visit(&r, &v, &m, a, j == count-1, candidates, usual)
			v.ID = makeID(ms, idVisit, serial, &r)
			if err := fn(i, &v, serial, ms); err != nil {
				return err
			}
			serial++
		}
	}
	return nil
}

// visit fills v with a meeting held ago days before today and returns the
// millisecond of its creation.
func (g *Generator) visit(r *rng, v *domain.Visit, m *domain.Member, ago int, latest bool, candidates []int, usual int) int64 {
	coord := usual
	if r.percent(15) {
		coord = candidates[r.intn(len(candidates))]
	}
	v.MemberID = m.ID
	v.CoordinatorID = g.coords[coord].ID
	v.Date = g.day(-ago)

	far := remote[m.Region]
	switch x := r.intn(100); {
	case x < 40 || !far && x < 65:
		v.Mode = domain.OnSite
		v.DurationMinutes = 15 * r.between(4, 12)
	case x < 70 || !far && x < 85:
		v.Mode = domain.Video
		v.DurationMinutes = 15 * r.between(2, 6)
	default:
		v.Mode = domain.Phone
		v.DurationMinutes = 5 * r.between(3, 12)
	}

	v.PeopleMet = m.ContactName
	if m.ContactRole != "" {
		v.PeopleMet += " (" + m.ContactRole + ")"
	}
	if v.Mode != domain.Phone && r.percent(35) {
		who := pick(r, firstNames)
		v.PeopleMet += ", " + who.first + " " + pick(r, lastNames) + " (" + role(r, who.feminine) + ")"
	}

	// A bit per service of serviceOdds keeps the list sorted and unique.
	var mask uint8
	for range r.between(1, 2) {
		if len(m.Services) > 0 {
			mask |= 1 << serviceBit(pick(r, m.Services))
		}
	}
	if r.percent(20) || mask == 0 && r.percent(60) {
		mask |= 1 << r.intn(len(serviceOdds))
	}
	for b := range serviceOdds {
		if mask&(1<<b) != 0 {
			v.ServicesDiscussed = append(v.ServicesDiscussed, serviceOdds[b].id)
		}
	}

	notes := pick(r, visitOpenings)
	if len(v.ServicesDiscussed) > 0 {
		topic := pick(r, serviceTopics[pick(r, v.ServicesDiscussed)])
		notes += " Discussion : " + topic + "."
		if r.percent(40) {
			v.Needs = pick(r, needs) + topic + "."
		}
	}
	if r.percent(50) {
		notes += " " + pick(r, visitClosings)
	}
	v.Notes = notes

	if latest && m.Status == domain.MemberActive && r.percent(70) {
		v.NextVisit = g.day(-ago + r.between(30, 150))
	} else if r.percent(25) {
		v.NextVisit = g.day(-ago + r.between(60, 180))
	}
	return g.todayMS - int64(ago)*dayMS + int64(r.between(13*3600, 21*3600))*1000
}

func serviceBit(id string) int {
	for b, s := range serviceOdds {
		if s.id == id {
			return b
		}
	}
	panic("demo: unknown service " + id) // member services come from serviceOdds
}

// followUp makes one follow-up of visit v; ms is when its id says it was
// created.
func (g *Generator) followUp(r *rng, v *domain.Visit, serial uint64, ms int64) domain.FollowUp {
	service := ""
	if len(v.ServicesDiscussed) > 0 {
		service = pick(r, v.ServicesDiscussed)
	} else {
		service = serviceOdds[r.intn(len(serviceOdds))].id
	}
	f := domain.FollowUp{
		ID:          makeID(ms, idFollowUp, serial, r),
		MemberID:    v.MemberID,
		VisitID:     v.ID,
		ServiceID:   service,
		Description: pick(r, followUpActions) + " : " + pick(r, serviceTopics[service]) + ".",
		Due:         v.Date.AddDays(r.between(7, 60)),
	}
	late := int(g.today.Time().Sub(f.Due.Time()).Hours()) / 24
	x := r.intn(100)
	switch {
	case late > 45:
		f.Status = status(x, 95, 97)
	case late > 0:
		f.Status = status(x, 60, 80)
	default:
		f.Status = status(x, 10, 45)
	}
	if r.percent(80) {
		f.AssignedTo = g.coordName(v.CoordinatorID)
	} else {
		f.AssignedTo = centralOffice
	}
	if f.Status == domain.FollowUpDone {
		// Done on the due day, or today for one done early: drawn from
		// nothing, so the rest of the data set stays the same.
		f.DoneOn, f.DoneBy = f.Due, f.AssignedTo
		if g.today.Before(f.Due) {
			f.DoneOn = g.today
		}
	}
	return f
}

// status maps x in [0, 100) to done below done, in progress below
// inProgress, open above.
func status(x, done, inProgress int) domain.FollowUpStatus {
	switch {
	case x < done:
		return domain.FollowUpDone
	case x < inProgress:
		return domain.FollowUpInProgress
	default:
		return domain.FollowUpOpen
	}
}

func (g *Generator) coordName(id string) string {
	for _, k := range g.coords {
		if k.ID == id {
			return k.Name
		}
	}
	return centralOffice
}
