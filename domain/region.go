package domain

import "sort"

// Region is one of Québec's 17 administrative regions, keyed by its official
// two-digit code.
type Region struct {
	Code   string
	NameFR string
	NameEN string
}

// Name returns the region's name in the given language ("fr" or "en");
// French for anything else, as French is the working language.
func (r Region) Name(lang string) string {
	if lang == "en" {
		return r.NameEN
	}
	return r.NameFR
}

var regions = []Region{
	{"01", "Bas-Saint-Laurent", "Bas-Saint-Laurent"},
	{"02", "Saguenay–Lac-Saint-Jean", "Saguenay–Lac-Saint-Jean"},
	{"03", "Capitale-Nationale", "Capitale-Nationale"},
	{"04", "Mauricie", "Mauricie"},
	{"05", "Estrie", "Eastern Townships"},
	{"06", "Montréal", "Montréal"},
	{"07", "Outaouais", "Outaouais"},
	{"08", "Abitibi-Témiscamingue", "Abitibi-Témiscamingue"},
	{"09", "Côte-Nord", "Côte-Nord"},
	{"10", "Nord-du-Québec", "Nord-du-Québec"},
	{"11", "Gaspésie–Îles-de-la-Madeleine", "Gaspésie–Îles-de-la-Madeleine"},
	{"12", "Chaudière-Appalaches", "Chaudière-Appalaches"},
	{"13", "Laval", "Laval"},
	{"14", "Lanaudière", "Lanaudière"},
	{"15", "Laurentides", "Laurentides"},
	{"16", "Montérégie", "Montérégie"},
	{"17", "Centre-du-Québec", "Centre-du-Québec"},
}

var regionByCode = func() map[string]Region {
	m := make(map[string]Region, len(regions))
	for _, r := range regions {
		m[r.Code] = r
	}
	return m
}()

// Regions returns the 17 regions in official code order. The slice is a copy.
func Regions() []Region {
	out := make([]Region, len(regions))
	copy(out, regions)
	return out
}

// RegionByCode returns the region with that official code.
func RegionByCode(code string) (Region, bool) {
	r, ok := regionByCode[code]
	return r, ok
}

// ValidRegion reports whether code is one of the 17 official codes.
func ValidRegion(code string) bool {
	_, ok := regionByCode[code]
	return ok
}

// SortedRegionCodes returns the codes of a set of regions, deduplicated and in
// official order.
func SortedRegionCodes(codes []string) []string {
	seen := make(map[string]bool, len(codes))
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}
