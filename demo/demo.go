// Package demo generates realistic, fictional data for Terrain: member
// enterprises in real Québec municipalities, the coordinators who visit them,
// their visits over the last three years and the follow-ups promised there.
//
// The output depends only on the seed, the Size and the day given to New,
// so demos, screenshots and benchmarks see the same data on every machine.
// Every record passes Normalize and Validate unchanged. Names, people,
// telephone numbers (555-01xx) and addresses (example.org) are invented; the
// municipalities, their postal areas and area codes are real.
package demo

import (
	"math/bits"
	"slices"
	"strings"

	"leconsortium.coop/terrain/domain"
)

// Size says how much to generate.
type Size struct {
	Members      int // member enterprises
	Visits       int // visits in all, over the last three years
	Coordinators int // coordinators besides the demo one; at least 1
}

// Small is today's consortium: 300 members, about 8 visits each.
func Small() Size { return Size{Members: 300, Visits: 2400, Coordinators: 8} }

// Large is a federation-wide deployment, for benchmarks.
func Large() Size { return Size{Members: 20000, Visits: 500000, Coordinators: 60} }

// DemoEmail is the e-mail address of the demo coordinator, the account the
// app uses when working offline with demo data.
const DemoEmail = "demo@example.org"

// demoRegions are covered by the demo coordinator: the long drives east of
// Québec City that Terrain was made for.
var demoRegions = []string{"01", "03", "09", "11"}

// Generator produces one data set. It holds a few bytes per member, never
// the visits: those are regenerated from the seed each time they are walked.
// Its methods only read it, so goroutines may share it.
type Generator struct {
	seed     uint64
	size     Size
	today    domain.Date
	todayMS  int64
	region   []uint8 // index into regionTable, per member
	visits   []int32 // number of visits, per member
	nameBase int     // affine permutation of the emblem × qualifier names
	nameStep int
	coords   []domain.Coordinator
	byRegion [][]int // indexes into coords, per region
}

// dayMS is the length of a civil day in milliseconds.
const dayMS = 24 * 3600 * 1000

// visitWindow is how far back visits go, in days.
const visitWindow = 3 * 365

// New prepares the data set of seed and size as seen on day today.
func New(seed int64, size Size, today domain.Date) *Generator {
	size.Members = max(size.Members, 0)
	size.Visits = max(size.Visits, 0)
	size.Coordinators = max(size.Coordinators, 1)
	g := &Generator{
		seed:    uint64(seed),
		size:    size,
		today:   today,
		todayMS: today.Time().UnixMilli(),
	}
	var r rng
	r.seed(g.seed, streamLayout, 0)
	g.layRegions(&r)
	names := len(emblems) * len(qualifiers)
	g.nameBase = r.intn(names)
	g.nameStep = coprimeStep(&r, names)
	g.makeCoordinators()
	g.spreadVisits()
	return g
}

// layRegions gives each member a region, in proportion to the regions'
// weights but with at least two members per region when there are enough,
// so that every region shows up in a demo.
func (g *Generator) layRegions(r *rng) {
	n := g.size.Members
	floor := 0
	if n >= 2*len(regionTable) {
		floor = 2
	}
	counts := apportion(n-floor*len(regionTable), len(regionTable), func(i int) uint64 {
		return uint64(regionTable[i].weight)
	})
	g.region = make([]uint8, 0, n)
	for i, c := range counts {
		for range c + floor {
			g.region = append(g.region, uint8(i))
		}
	}
	for i := len(g.region) - 1; i > 0; i-- { // Fisher–Yates
		j := r.intn(i + 1)
		g.region[i], g.region[j] = g.region[j], g.region[i]
	}
}

// apportion splits total into n parts in proportion to weight, exactly, by
// flooring the running sums. Integer arithmetic keeps it identical on every
// platform.
func apportion(total, n int, weight func(i int) uint64) []int {
	out := make([]int, n)
	var sum uint64
	for i := range n {
		sum += weight(i)
	}
	if sum == 0 || total <= 0 {
		return out
	}
	var cum uint64
	prev := 0
	for i := range n {
		cum += weight(i)
		hi, lo := bits.Mul64(uint64(total), cum)
		q, _ := bits.Div64(hi, lo, sum)
		out[i] = int(q) - prev
		prev = int(q)
	}
	return out
}

// coprimeStep returns a step that visits every residue modulo n.
func coprimeStep(r *rng, n int) int {
	for {
		s := 1 + r.intn(n-1)
		if gcd(s, n) == 1 {
			return s
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// memberCore is what the visits depend on: drawn first from the member's
// stream, so New can weigh members without building them.
type memberCore struct {
	form     domain.LegalForm
	status   domain.MemberStatus
	sinceAgo int // days since joining
	leftAgo  int // days since leaving, for former members
	activity int // how much the member uses the consortium, 50–150
}

func (g *Generator) core(r *rng) memberCore {
	var c memberCore
	x := r.intn(100)
	for _, f := range legalFormWeights {
		if x -= f.weight; x < 0 {
			c.form = f.form
			break
		}
	}
	if r.percent(50) {
		c.sinceAgo = r.between(60, 8*365)
	} else {
		c.sinceAgo = r.between(60, 27*365)
	}
	switch x := r.intn(100); {
	case x < 87:
		c.status = domain.MemberActive
	case x < 92:
		c.status = domain.MemberSuspended
	default:
		c.status = domain.MemberFormer
	}
	c.leftAgo = r.between(30, 1500)
	if c.status == domain.MemberFormer && c.sinceAgo < c.leftAgo+365 {
		c.status = domain.MemberActive // too recent to have left already
	}
	if c.status != domain.MemberFormer {
		c.leftAgo = 0
	}
	c.activity = r.between(50, 150)
	return c
}

// window returns the days, counted back from today, in which the member can
// have been visited: from min(joined, three years ago) to when it left.
func (c memberCore) window() (from, to int) {
	return min(c.sinceAgo, visitWindow), c.leftAgo
}

// spreadVisits shares the visits among members: more for active members,
// members near the coordinators and members who joined long enough ago.
func (g *Generator) spreadVisits() {
	weights := make([]uint64, g.size.Members)
	var r rng
	for i := range weights {
		r.seed(g.seed, streamMember, i)
		c := g.core(&r)
		from, to := c.window()
		if from <= to {
			continue
		}
		w := uint64(from-to) * uint64(c.activity)
		switch c.status {
		case domain.MemberSuspended:
			w = w * 4 / 10
		case domain.MemberFormer:
			w = w * 2 / 10
		}
		if remote[regionTable[g.region[i]].code] {
			w = w * 7 / 10
		}
		weights[i] = w
	}
	counts := apportion(g.size.Visits, len(weights), func(i int) uint64 { return weights[i] })
	g.visits = make([]int32, len(counts))
	for i, c := range counts {
		g.visits[i] = int32(c)
	}
}

// day returns the date n days after today (before when n < 0).
func (g *Generator) day(n int) domain.Date { return g.today.AddDays(n) }

// Members returns every member, in a stable order.
func (g *Generator) Members() []domain.Member {
	out := make([]domain.Member, 0, g.size.Members)
	for i := range g.size.Members {
		m, _ := g.member(i)
		out = append(out, m)
	}
	return out
}

// EachMember calls fn with every member in the order of Members, without
// holding them all; it stops at and returns fn's first error.
func (g *Generator) EachMember(fn func(domain.Member) error) error {
	for i := range g.size.Members {
		m, _ := g.member(i)
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Coordinators returns the demo coordinator (e-mail DemoEmail) followed by
// the others. Together they cover every region.
func (g *Generator) Coordinators() []domain.Coordinator {
	out := make([]domain.Coordinator, len(g.coords))
	for i, k := range g.coords {
		k.Regions = slices.Clone(k.Regions)
		out[i] = k
	}
	return out
}

// slug makes a host name label from words: folded, articles dropped.
func slug(words ...string) string {
	var parts []string
	for _, w := range words {
		for _, f := range strings.Fields(domain.Fold(w)) {
			switch f {
			case "la", "le", "les", "l", "de", "des", "du", "d", "en":
			default:
				parts = append(parts, f)
			}
		}
	}
	return strings.Join(parts, "-")
}
