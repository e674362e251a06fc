package demo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
)

var today = domain.NewDate(2025, 6, 15)

// all is everything a generator produces, collected for tests on Small.
type all struct {
	members   []domain.Member
	coords    []domain.Coordinator
	visits    []domain.Visit
	followUps []domain.FollowUp
}

func collect(t testing.TB, g *demo.Generator) all {
	t.Helper()
	a := all{members: g.Members(), coords: g.Coordinators()}
	if err := g.EachVisit(func(v domain.Visit) error { a.visits = append(a.visits, v); return nil }); err != nil {
		t.Error(err) // not Fatal: TestShared calls this from goroutines
	}
	if err := g.EachFollowUp(func(f domain.FollowUp) error { a.followUps = append(a.followUps, f); return nil }); err != nil {
		t.Error(err)
	}
	return a
}

func fingerprint(t testing.TB, a all) string {
	t.Helper()
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, v := range []any{a.members, a.coords, a.visits, a.followUps} {
		if err := enc.Encode(v); err != nil {
			t.Error(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	g := demo.New(7, demo.Small(), today)
	first := fingerprint(t, collect(t, g))
	if again := fingerprint(t, collect(t, g)); again != first {
		t.Error("walking the same generator twice gives different data")
	}
	if other := fingerprint(t, collect(t, demo.New(7, demo.Small(), today))); other != first {
		t.Error("the same seed gives different data")
	}
	a, b := collect(t, demo.New(7, demo.Small(), today)), collect(t, demo.New(8, demo.Small(), today))
	if fingerprint(t, a) == fingerprint(t, b) {
		t.Fatal("seeds 7 and 8 give the same data")
	}
	if a.members[0].ID == b.members[0].ID || a.members[0].Name == b.members[0].Name && a.members[1].Name == b.members[1].Name {
		t.Errorf("seeds 7 and 8 start alike: %q %q", a.members[0].Name, b.members[0].Name)
	}
}

// A Generator is only read after New, so goroutines may walk it at once
// (run with -race to check) and each sees the same data.
func TestShared(t *testing.T) {
	g := demo.New(5, demo.Small(), today)
	want := fingerprint(t, collect(t, g))
	got := make(chan string, 2)
	for range 2 {
		go func() { got <- fingerprint(t, collect(t, g)) }()
	}
	for range 2 {
		if fp := <-got; fp != want {
			t.Error("a concurrent walk saw different data")
		}
	}
}

// The data set of seed 1 is pinned: the generator uses only the PCG's raw
// output and integer arithmetic, so a Go release or another CPU must not
// change it. When the word lists or rules change on purpose, put the new
// value here.
func TestGolden(t *testing.T) {
	const want = "ca5ae113738c869d40bd865eda8e27a0713768a0a11a825d9595c00cf9e61267"
	if got := fingerprint(t, collect(t, demo.New(1, demo.Small(), today))); got != want {
		t.Errorf("seed 1 fingerprint = %s, want %s", got, want)
	}
}

func TestEverythingValidates(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		a := collect(t, demo.New(seed, demo.Small(), today))
		for _, m := range a.members {
			n := m
			n.Normalize()
			if !reflect.DeepEqual(n, m) {
				t.Errorf("member not normalised:\n got %+v\nwant %+v", m, n)
			}
			if err := m.Validate(today); err != nil {
				t.Errorf("member %q: %v", m.Name, err)
			}
		}
		for _, k := range a.coords {
			n := k
			n.Normalize()
			if !reflect.DeepEqual(n, k) {
				t.Errorf("coordinator not normalised: %+v", k)
			}
			if err := k.Validate(); err != nil {
				t.Errorf("coordinator %q: %v", k.Name, err)
			}
		}
		for _, v := range a.visits {
			n := v
			n.Normalize()
			if !reflect.DeepEqual(n, v) {
				t.Errorf("visit not normalised: %+v", v)
			}
			if err := v.Validate(today); err != nil {
				t.Errorf("visit %s: %v", v.ID, err)
			}
		}
		for _, f := range a.followUps {
			n := f
			n.Normalize()
			if !reflect.DeepEqual(n, f) {
				t.Errorf("follow-up not normalised: %+v", f)
			}
			if err := f.Validate(today); err != nil {
				t.Errorf("follow-up %s: %v", f.ID, err)
			}
		}
	}
}

func TestReferences(t *testing.T) {
	a := collect(t, demo.New(1, demo.Small(), today))
	if len(a.members) != 300 || len(a.visits) != demo.Small().Visits {
		t.Fatalf("%d members and %d visits, want 300 and %d", len(a.members), len(a.visits), demo.Small().Visits)
	}
	members := map[string]domain.Member{}
	for _, m := range a.members {
		members[m.ID] = m
	}
	coords := map[string]domain.Coordinator{}
	for _, k := range a.coords {
		coords[k.ID] = k
	}
	visits := map[string]domain.Visit{}
	last := map[string]domain.Date{}
	for _, v := range a.visits {
		visits[v.ID] = v
		m, ok := members[v.MemberID]
		if !ok {
			t.Fatalf("visit %s of unknown member %s", v.ID, v.MemberID)
		}
		k, ok := coords[v.CoordinatorID]
		if !ok || !k.InScope(m.Region) {
			t.Errorf("visit %s in region %s by coordinator %+v", v.ID, m.Region, k)
		}
		if v.Date.After(today) || v.Date.Before(today.AddDays(-3*366)) {
			t.Errorf("visit %s dated %v, outside the last three years", v.ID, v.Date)
		}
		if m.MemberSince.After(v.Date) {
			t.Errorf("visit %s on %v before member joined on %v", v.ID, v.Date, m.MemberSince)
		}
		if v.Date.Before(last[v.MemberID]) {
			t.Errorf("visits of %s out of date order", v.MemberID)
		}
		last[v.MemberID] = v.Date
		if at, ok := domain.IDTime(v.ID); !ok || domain.DateOf(at.UTC()) != v.Date {
			t.Errorf("visit %s on %v has id time %v", v.ID, v.Date, at)
		}
	}
	for _, f := range a.followUps {
		v, ok := visits[f.VisitID]
		if !ok || v.MemberID != f.MemberID {
			t.Errorf("follow-up %s points at visit %s of member %s", f.ID, f.VisitID, f.MemberID)
		}
		if !f.Due.After(v.Date) {
			t.Errorf("follow-up %s due %v, not after its visit on %v", f.ID, f.Due, v.Date)
		}
	}
}

func TestIDsUnique(t *testing.T) {
	a := collect(t, demo.New(1, demo.Small(), today))
	seen := map[string]bool{}
	add := func(id string) {
		if seen[id] {
			t.Errorf("id %s used twice", id)
		}
		seen[id] = true
		if id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Errorf("id %s is not a UUIDv7", id)
		}
	}
	for _, m := range a.members {
		add(m.ID)
	}
	for _, k := range a.coords {
		add(k.ID)
	}
	for _, v := range a.visits {
		add(v.ID)
	}
	for _, f := range a.followUps {
		add(f.ID)
	}
}

func TestRegionDistribution(t *testing.T) {
	counts := map[string]int{}
	for _, m := range demo.New(1, demo.Small(), today).Members() {
		counts[m.Region]++
	}
	for _, r := range domain.Regions() {
		if counts[r.Code] == 0 {
			t.Errorf("no member in region %s %s", r.Code, r.NameFR)
		}
	}
	for _, big := range []string{"06", "03", "16"} {
		for _, r := range domain.Regions() {
			if r.Code != "06" && r.Code != "03" && r.Code != "16" && counts[r.Code] >= counts[big] {
				t.Errorf("region %s has %d members, region %s only %d", r.Code, counts[r.Code], big, counts[big])
			}
		}
	}
	if counts["06"] < 40 || counts["06"] > 90 {
		t.Errorf("Montréal has %d of 300 members", counts["06"])
	}
}

// postalLetters is where each region's mail goes: G for eastern Québec and
// the Québec City area, H for Montréal and Laval, J for the west and south.
// A few regions straddle two areas (Lac-Mégantic is G in Estrie,
// Louiseville J in Mauricie, Victoriaville G in Centre-du-Québec…).
var postalLetters = map[string]string{
	"01": "G", "02": "G", "03": "G", "04": "GJ", "05": "JG", "06": "H", "07": "J", "08": "J",
	"09": "G", "10": "GJ", "11": "G", "12": "G", "13": "H", "14": "J", "15": "J", "16": "J", "17": "GJ",
}

var knownPostal = map[string]string{
	"Montréal": "H", "Laval": "H", "Québec": "G1", "Lévis": "G", "Sept-Îles": "G4", "Rimouski": "G5",
	"Rouyn-Noranda": "J9", "Val-d'Or": "J9P", "Gatineau": "J", "Sherbrooke": "J1", "Lac-Mégantic": "G6B",
	"Trois-Rivières": "G", "Louiseville": "J5V", "Drummondville": "J2", "Victoriaville": "G6",
	"Chibougamau": "G8P", "Matagami": "J0Y", "Gaspé": "G4X", "Îles-de-la-Madeleine": "G4T",
	"Saguenay": "G7", "Baie-Comeau": "G", "Longueuil": "J",
}

var areaCodes = map[string][]string{
	"01": {"418", "581"}, "02": {"418", "581"}, "03": {"418", "581"}, "09": {"418", "581"},
	"11": {"418", "581"}, "12": {"418", "581"}, "04": {"819", "873"}, "05": {"819", "873"},
	"07": {"819", "873"}, "08": {"819", "873"}, "17": {"819", "873"}, "06": {"514", "438"},
	"13": {"450", "579"}, "14": {"450", "579", "819", "873"}, "15": {"450", "579", "819", "873"},
	"16": {"450", "579"}, "10": {"418", "581", "819", "873"},
}

var (
	phonePattern = regexp.MustCompile(`^(?:\((\d{3})\) |(\d{3})[ -])555-01\d\d(?: poste \d+)?$`)
	hostPattern  = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*\.example\.org$`)
)

func TestPlausibleMembers(t *testing.T) {
	municipalities := map[string]map[string]bool{}
	err := demo.New(3, demo.Large(), today).EachMember(func(m domain.Member) error {
		if municipalities[m.Region] == nil {
			municipalities[m.Region] = map[string]bool{}
		}
		municipalities[m.Region][m.Municipality] = true
		if !strings.ContainsRune(postalLetters[m.Region], rune(m.PostalCode[0])) {
			t.Errorf("%s in region %s has postal code %s", m.Municipality, m.Region, m.PostalCode)
		}
		if p, ok := knownPostal[m.Municipality]; ok && !strings.HasPrefix(m.PostalCode, p) {
			t.Errorf("%s has postal code %s, want %s…", m.Municipality, m.PostalCode, p)
		}
		for _, ph := range []string{m.Phone, m.ContactPhone} {
			sub := phonePattern.FindStringSubmatch(ph)
			if sub == nil || !slices.Contains(areaCodes[m.Region], sub[1]+sub[2]) {
				t.Errorf("%s in region %s has phone %q", m.Municipality, m.Region, ph)
			}
		}
		for _, e := range []string{m.Email, m.ContactEmail} {
			if at := strings.LastIndexByte(e, '@'); e != "" && (at < 0 || !hostPattern.MatchString(e[at+1:])) {
				t.Errorf("e-mail %q is not at example.org", e)
			}
		}
		if host, ok := strings.CutPrefix(m.Website, "https://"); m.Website != "" && (!ok || !hostPattern.MatchString(host)) {
			t.Errorf("website %q is not at example.org", m.Website)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range domain.Regions() {
		if n := len(municipalities[r.Code]); n < 6 && r.Code != "13" { // Laval is one city
			t.Errorf("region %s has %d municipalities, want at least 6", r.Code, n)
		}
	}
	for _, name := range []string{"Sept-Îles", "Baie-Comeau", "Rouyn-Noranda", "Val-d'Or", "Chibougamau",
		"Gaspé", "Îles-de-la-Madeleine", "Montréal", "Trois-Rivières", "Sherbrooke", "Lévis", "Saguenay",
		"Rimouski", "Laval"} {
		found := false
		for _, set := range municipalities {
			found = found || set[name]
		}
		if !found {
			t.Errorf("no member in %s", name)
		}
	}
}

func TestMix(t *testing.T) {
	a := collect(t, demo.New(1, demo.Small(), today))
	forms := map[domain.LegalForm]int{}
	status := map[domain.MemberStatus]int{}
	withNEQ, withServices := 0, 0
	names := map[string]bool{}
	for _, m := range a.members {
		forms[m.LegalForm]++
		status[m.Status]++
		if m.NEQ != "" {
			withNEQ++
		}
		if len(m.Services) > 0 {
			withServices++
		}
		for _, s := range m.Services {
			if !domain.ValidServiceID(s) {
				t.Errorf("member uses unknown service %q", s)
			}
		}
		// Names come from a permutation of emblem × qualifier: unique
		// while there are fewer members than pairs. Federations are
		// named after their sector and are few.
		if m.LegalForm != domain.Federation {
			if names[m.Name] {
				t.Errorf("two members named %q", m.Name)
			}
			names[m.Name] = true
		}
	}
	for _, f := range domain.LegalForms() {
		if forms[f] == 0 {
			t.Errorf("no member of legal form %s", f)
		}
	}
	if status[domain.MemberActive] < 200 || status[domain.MemberSuspended] == 0 || status[domain.MemberFormer] == 0 {
		t.Errorf("member standings %v", status)
	}
	if withNEQ < 200 || withNEQ == 300 {
		t.Errorf("%d of 300 members have an NEQ; want most, not all", withNEQ)
	}
	if withServices < 200 {
		t.Errorf("only %d of 300 members use a service", withServices)
	}

	modes := map[domain.VisitMode]int{}
	for _, v := range a.visits {
		modes[v.Mode]++
	}
	if modes[domain.OnSite] <= modes[domain.Video] || modes[domain.Phone] == 0 || modes[domain.Video] == 0 {
		t.Errorf("visit modes %v", modes)
	}

	done, open, overdue := 0, 0, 0
	for _, f := range a.followUps {
		switch {
		case f.Overdue(today):
			overdue++
		case f.Status == domain.FollowUpDone:
			done++
		default:
			open++
		}
	}
	n := len(a.followUps)
	if n < len(a.visits)/5 || done*2 < n || open == 0 || overdue == 0 {
		t.Errorf("%d follow-ups for %d visits: %d done, %d open, %d overdue", n, len(a.visits), done, open, overdue)
	}
}

func TestCoordinators(t *testing.T) {
	for _, n := range []int{0, 1, 3, 8, 17, 18, 60} {
		ks := demo.New(1, demo.Size{Members: 50, Visits: 100, Coordinators: n}, today).Coordinators()
		if ks[0].Email != demo.DemoEmail || ks[0].Name != "Démo" {
			t.Errorf("first coordinator is %+v, want the demo one", ks[0])
		}
		if want := max(n, 1) + 1; len(ks) != want {
			t.Errorf("Coordinators %d: got %d, want %d", n, len(ks), want)
		}
		covered := map[string]bool{}
		emails := map[string]bool{}
		for _, k := range ks {
			if emails[k.Email] {
				t.Errorf("e-mail %s used twice", k.Email)
			}
			emails[k.Email] = true
			if !strings.HasSuffix(k.Email, "@example.org") {
				t.Errorf("coordinator e-mail %s", k.Email)
			}
			if k.Email == demo.DemoEmail {
				continue
			}
			if len(k.Regions) == 0 {
				t.Errorf("coordinator %s has no region", k.Name)
			}
			for _, r := range k.Regions {
				covered[r] = true
			}
		}
		if len(covered) != 17 {
			t.Errorf("Coordinators %d: %d regions covered besides the demo's", n, len(covered))
		}
	}
	// Coordinators returns copies: changing them does not change the data.
	g := demo.New(1, demo.Small(), today)
	g.Coordinators()[0].Regions[0] = "99"
	if g.Coordinators()[0].Regions[0] == "99" {
		t.Error("Coordinators shares its slices with the generator")
	}
}

func TestSmallSizes(t *testing.T) {
	for _, size := range []demo.Size{{}, {Members: 1, Visits: 5}, {Members: 10, Visits: 0, Coordinators: 2}, {Members: 0, Visits: 100}} {
		a := collect(t, demo.New(1, size, today))
		if len(a.members) != size.Members {
			t.Errorf("%+v: %d members", size, len(a.members))
		}
		if size.Members > 0 && len(a.visits) != size.Visits || size.Members == 0 && len(a.visits) != 0 {
			t.Errorf("%+v: %d visits", size, len(a.visits))
		}
	}
}

func TestEachStopsAtError(t *testing.T) {
	g := demo.New(1, demo.Small(), today)
	stop := errors.New("stop")
	calls := 0
	count := func() error {
		calls++
		if calls == 10 {
			return stop
		}
		return nil
	}
	for name, walk := range map[string]func() error{
		"EachMember":   func() error { return g.EachMember(func(domain.Member) error { return count() }) },
		"EachVisit":    func() error { return g.EachVisit(func(domain.Visit) error { return count() }) },
		"EachFollowUp": func() error { return g.EachFollowUp(func(domain.FollowUp) error { return count() }) },
	} {
		calls = 0
		if err := walk(); !errors.Is(err, stop) || calls != 10 {
			t.Errorf("%s returned %v after %d calls, want stop after 10", name, err, calls)
		}
	}
}

// Large is walked, never held: half-way through 500,000 visits (a few
// hundred MiB if kept) the live heap must still be small.
func TestLargeStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 500,000 visits")
	}
	g := demo.New(1, demo.Large(), today)
	var heap uint64
	n := 0
	err := g.EachVisit(func(v domain.Visit) error {
		n++
		if n == 250_000 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = ms.HeapAlloc
		}
		if n%997 == 0 {
			if err := v.Validate(today); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 500_000 {
		t.Errorf("%d visits, want 500,000", n)
	}
	t.Logf("live heap half-way: %.1f MiB", float64(heap)/(1<<20))
	if heap > 32<<20 {
		t.Errorf("live heap %d MiB half-way through the visits", heap>>20)
	}
	ms := g.Members()
	counts := map[string]int{}
	for _, m := range ms {
		counts[m.Region]++
	}
	if len(ms) != 20_000 || len(counts) != 17 {
		t.Errorf("%d members in %d regions", len(ms), len(counts))
	}
}

func BenchmarkLargeVisits(b *testing.B) {
	g := demo.New(1, demo.Large(), today)
	n := 0
	for b.Loop() {
		n = 0
		if err := g.EachVisit(func(domain.Visit) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "visits/op")
}

func BenchmarkLargeFollowUps(b *testing.B) {
	g := demo.New(1, demo.Large(), today)
	n := 0
	for b.Loop() {
		n = 0
		if err := g.EachFollowUp(func(domain.FollowUp) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "followups/op")
}

func BenchmarkLargeMembers(b *testing.B) {
	for b.Loop() {
		g := demo.New(1, demo.Large(), today)
		if len(g.Members()) != 20_000 {
			b.Fatal("wrong count")
		}
	}
}
