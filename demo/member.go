package demo

import (
	"strconv"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// serviceOdds is how likely a member is to use each service, in percent, in
// the sorted order of the ids so that the lists come out normalised.
var serviceOdds = []struct {
	id  string
	pct int
}{
	{"accounting", 45}, {"communications", 25}, {"digital", 20}, {"hr", 40},
	{"legal", 35}, {"strategy", 25}, {"web", 20},
}

// neqPrefixes start the Québec enterprise numbers of legal persons.
var neqPrefixes = []string{"114", "116", "117", "224", "226", "334", "336", "884"}

// postalLetters are the letters Canada Post uses after the first position.
const postalLetters = "ABCEGHJKLMNPRSTVWXYZ"

// member builds member i from its own stream.
func (g *Generator) member(i int) (domain.Member, memberCore) {
	var r rng
	r.seed(g.seed, streamMember, i)
	c := g.core(&r)
	reg := &regionTable[g.region[i]]
	pl := &reg.places[r.weighted(func(j int) int { return reg.places[j].weight }, len(reg.places), placeWeight(reg))]

	k := (g.nameBase + i*g.nameStep) % (len(emblems) * len(qualifiers))
	emblem, qualifier := emblems[k%len(emblems)], qualifiers[k/len(emblems)]
	p := pick(&r, formPrefixes[c.form])
	var name, host string
	if c.form == domain.Federation {
		sector := federationSectors[k%len(federationSectors)]
		name = p.name + " " + sector + " " + qualifier
		host = slug(p.short, sector, qualifier)
	} else {
		name = p.name + " " + emblem + " " + qualifier
		host = slug(p.short, emblem, qualifier)
	}
	domainName := host + ".example.org"

	created := min(c.sinceAgo, 2000)
	m := domain.Member{
		ID:           makeID(g.todayMS-int64(created)*dayMS+int64(r.between(13*3600, 21*3600))*1000, idMember, uint64(i), &r),
		Name:         name,
		LegalForm:    c.form,
		Region:       reg.code,
		Municipality: pl.name,
		Address:      address(&r),
		PostalCode:   postalCode(&r, pick(&r, pl.fsas)),
		MemberSince:  g.day(-c.sinceAgo),
		Status:       c.status,
	}
	if r.percent(85) {
		m.NEQ = pick(&r, neqPrefixes) + digits(&r, 7)
	}
	area := pick(&r, pl.areas)
	m.Phone = phone(&r, area)
	m.Email = pick(&r, mailboxes) + "@" + domainName
	if r.percent(90) {
		m.Website = "https://" + domainName
	}

	who := pick(&r, firstNames)
	last := pick(&r, lastNames)
	m.ContactName = who.first + " " + last
	m.ContactRole = role(&r, who.feminine)
	m.ContactPhone = phone(&r, area)
	if r.percent(30) {
		m.ContactPhone += " poste " + strconv.Itoa(r.between(10, 299))
	}
	if r.percent(80) {
		m.ContactEmail = slug(who.first) + "." + slug(last) + "@" + domainName
	}

	for _, s := range serviceOdds {
		if r.percent(s.pct) {
			m.Services = append(m.Services, s.id)
		}
	}
	if c.status == domain.MemberFormer {
		m.Services = nil
	}
	m.Notes = g.memberNotes(&r, c)
	return m, c
}

func placeWeight(reg *regionData) int {
	n := 0
	for _, p := range reg.places {
		n += p.weight
	}
	return n
}

func (g *Generator) memberNotes(r *rng, c memberCore) string {
	var notes []string
	switch c.status {
	case domain.MemberFormer:
		notes = append(notes, "A quitté le consortium en "+strconv.Itoa(g.day(-c.leftAgo).Year)+".")
	case domain.MemberSuspended:
		notes = append(notes, "Cotisation en retard : services suspendus.")
	}
	for range r.intn(3) {
		notes = append(notes, pick(r, memberNotes))
	}
	if len(notes) == 2 && notes[0] == notes[1] {
		notes = notes[:1]
	}
	return strings.Join(notes, " ")
}

func address(r *rng) string {
	a := strconv.Itoa(r.between(1, 2999)) + ", " + pick(r, streets)
	if r.percent(20) {
		a += ", bureau " + strconv.Itoa(r.between(100, 450))
	}
	return a
}

// postalCode completes a real forward sortation area with a made-up local
// delivery unit.
func postalCode(r *rng, fsa string) string {
	b := []byte(fsa + " 0A0")
	b[4] = byte('0' + r.intn(10))
	b[5] = postalLetters[r.intn(len(postalLetters))]
	b[6] = byte('0' + r.intn(10))
	return string(b)
}

// phone returns a number of the range reserved for fiction (555-0100 to
// 555-0199) in one of the usual Québec spellings.
func phone(r *rng, area string) string {
	line := "555-01" + digits(r, 2)
	// Stored numbers are normalised (domain.NormalizePhone); the draw is
	// kept so that the rest of the data set stays the same.
	r.intn(4)
	return area + " " + line
}

func digits(r *rng, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.intn(10))
	}
	return string(b)
}

func role(r *rng, feminine bool) string {
	x := pick(r, roles)
	if feminine {
		return x[0]
	}
	return x[1]
}
