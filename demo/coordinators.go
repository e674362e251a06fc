package demo

import (
	"strconv"

	"leconsortium.coop/terrain/domain"
)

// makeCoordinators builds the demo coordinator and size.Coordinators others.
// Up to 17, each covers a run of neighbouring regions holding about the same
// number of members; beyond, each covers one region and the extra ones go to
// the regions with the most members.
func (g *Generator) makeCoordinators() {
	var r rng
	r.seed(g.seed, streamCoordinators, 0)
	n := g.size.Coordinators
	since := g.todayMS - 4*365*dayMS

	g.coords = append(g.coords, domain.Coordinator{
		ID:      makeID(since, idCoordinator, 0, &r),
		Name:    "Démo",
		Email:   DemoEmail,
		Regions: demoRegions,
	})
	var scopes [][]string
	if n <= len(regionTable) {
		scopes = chunkRegions(n)
	} else {
		extra := apportion(n-len(regionTable), len(regionTable), func(i int) uint64 {
			return uint64(regionTable[i].weight)
		})
		for _, ri := range travelOrder {
			for range 1 + extra[ri] {
				scopes = append(scopes, []string{regionTable[ri].code})
			}
		}
	}
	used := map[string]bool{DemoEmail: true}
	for k, regions := range scopes {
		name, email := "", ""
		for {
			who, last := pick(&r, firstNames), pick(&r, lastNames)
			name = who.first + " " + last
			email = slug(who.first) + "." + slug(last) + "@example.org"
			if !used[email] {
				break
			}
			if len(used) > len(firstNames)*len(lastNames)/2 {
				// The name pairs are running out: number the address instead.
				email = slug(who.first) + "." + slug(last) + strconv.Itoa(k) + "@example.org"
				break
			}
		}
		used[email] = true
		g.coords = append(g.coords, domain.Coordinator{
			ID:      makeID(since+int64(k+1)*dayMS, idCoordinator, uint64(k+1), &r),
			Name:    name,
			Email:   email,
			Regions: domain.SortedRegionCodes(regions),
		})
	}

	g.byRegion = make([][]int, len(regionTable))
	for ci, k := range g.coords {
		for _, code := range k.Regions {
			ri := regionIndex(code)
			g.byRegion[ri] = append(g.byRegion[ri], ci)
		}
	}
}

// chunkRegions cuts travelOrder into n runs of neighbouring regions with
// about the same weight each.
func chunkRegions(n int) [][]string {
	total := 0
	for _, reg := range regionTable {
		total += reg.weight
	}
	out := make([][]string, n)
	pos, cum := 0, 0
	for c := range n {
		limit := total * (c + 1) / n
		for pos < len(travelOrder) {
			w := regionTable[travelOrder[pos]].weight
			left, after := len(travelOrder)-pos, n-c-1
			if c < n-1 && len(out[c]) > 0 && (left <= after || cum+w/2 > limit) {
				break
			}
			out[c] = append(out[c], regionTable[travelOrder[pos]].code)
			cum += w
			pos++
		}
	}
	return out
}

func regionIndex(code string) int {
	for i, reg := range regionTable {
		if reg.code == code {
			return i
		}
	}
	panic("demo: unknown region " + code) // the tables are fixed; a typo is a bug
}
