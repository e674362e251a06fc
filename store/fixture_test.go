package store

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

// A deterministic generator of realistic-looking members, visits and
// follow-ups for benchmarks: the same seed gives the same data.

var (
	fxKinds = []struct {
		prefix string
		form   domain.LegalForm
	}{
		{"Coopérative de solidarité", domain.SolidarityCoop},
		{"Coopérative de travail", domain.WorkerCoop},
		{"Coopérative de travailleurs actionnaire", domain.WorkerShareholderCoop},
		{"Coopérative de consommateurs", domain.ConsumerCoop},
		{"Coopérative de producteurs", domain.ProducerCoop},
		{"Coop", domain.ConsumerCoop},
		{"Mutuelle", domain.Mutual},
		{"Fédération des coopératives", domain.Federation},
		{"Centre communautaire", domain.NonProfit},
		{"Corporation de développement", domain.NonProfit},
	}
	fxTopics = []string{"forestière", "agricole", "funéraire", "d'habitation", "de santé",
		"culturelle", "de services à domicile", "alimentaire", "en informatique",
		"de l'énergie", "de câblodistribution", "des pêcheurs", "de prévoyance", "du livre",
		"de transport adapté", "des artisans", "en tourisme", "de la petite enfance"}
	fxPlaces = []struct{ name, region, postal string }{
		{"Rimouski", "01", "G5L"}, {"Saguenay", "02", "G7H"}, {"Québec", "03", "G1K"},
		{"Trois-Rivières", "04", "G9A"}, {"Sherbrooke", "05", "J1H"}, {"Montréal", "06", "H2X"},
		{"Gatineau", "07", "J8X"}, {"Rouyn-Noranda", "08", "J9X"}, {"Sept-Îles", "09", "G4R"},
		{"Chibougamau", "10", "G8P"}, {"Îles-de-la-Madeleine", "11", "G4T"}, {"Lévis", "12", "G6V"},
		{"Laval", "13", "H7N"}, {"Joliette", "14", "J6E"}, {"Saint-Jérôme", "15", "J7Z"},
		{"Longueuil", "16", "J4K"}, {"Drummondville", "17", "J2B"}, {"Baie-Comeau", "09", "G4Z"},
		{"Gaspé", "11", "G4X"}, {"Alma", "02", "G8B"}, {"Val-d'Or", "08", "J9P"},
		{"Matane", "01", "G4W"}, {"Saint-Georges", "12", "G5Y"}, {"Victoriaville", "17", "G6P"},
	}
	fxFirst = []string{"Claudette", "Gilles", "Nathalie", "Étienne", "Josée", "Réjean",
		"Mélanie", "François", "Geneviève", "Benoît", "Chantal", "Kevin", "Élise", "Marc-André"}
	fxLast = []string{"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin",
		"Lavoie", "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque"}
	fxWords = strings.Fields("rencontre avec la direction sur le plan stratégique besoin " +
		"d'accompagnement en ressources humaines révision des statuts assemblée générale " +
		"annuelle budget prévisionnel recrutement de membres site web désuet formation du " +
		"conseil d'administration subvention régionale politique salariale comptabilité " +
		"transition numérique communication avec les membres relève entente de service")
	fxServices = []string{"hr", "legal", "accounting", "strategy", "communications", "web", "digital"}
)

type fixtureGen struct {
	rng *rand.Rand
}

func newFixtureGen(seed uint64) *fixtureGen {
	return &fixtureGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *fixtureGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// id makes a UUIDv7 for time t from the generator's own randomness.
func (g *fixtureGen) id(t time.Time) string {
	ms := uint64(t.UnixMilli())
	r1, r2 := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", ms>>16, ms&0xffff, r1&0xfff,
		0x8000|(r1>>12)&0x3fff, r2&0xffffffffffff)
}

func (g *fixtureGen) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = g.pick(fxWords)
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func (g *fixtureGen) services(max int) []string {
	n := 1 + g.rng.IntN(max)
	out := make([]string, 0, n)
	for range n {
		out = append(out, g.pick(fxServices))
	}
	return out
}

var fxEpoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *fixtureGen) member(i int) domain.Member {
	k := fxKinds[g.rng.IntN(len(fxKinds))]
	p := fxPlaces[g.rng.IntN(len(fxPlaces))]
	first, last := g.pick(fxFirst), g.pick(fxLast)
	since := fxEpoch.AddDate(-g.rng.IntN(30), 0, -g.rng.IntN(365))
	return domain.Member{
		ID:   g.id(since),
		Name: fmt.Sprintf("%s %s %s", k.prefix, g.pick(fxTopics), p.name),
		NEQ:  fmt.Sprintf("11%08d", i), LegalForm: k.form, Region: p.region,
		Municipality: p.name, Address: fmt.Sprintf("%d, rue %s", 1+g.rng.IntN(2000), g.pick(fxLast)),
		PostalCode: fmt.Sprintf("%s %d%c%d", p.postal, g.rng.IntN(10), "ABCEGH"[g.rng.IntN(6)], g.rng.IntN(10)),
		Phone:      fmt.Sprintf("418-555-01%02d", g.rng.IntN(100)), Email: fmt.Sprintf("info%d@example.org", i),
		ContactName: first + " " + last, ContactRole: "Direction générale",
		ContactPhone: fmt.Sprintf("418-555-01%02d", g.rng.IntN(100)),
		ContactEmail: fmt.Sprintf("contact%d@example.org", i),
		Services:     g.services(4), MemberSince: domain.DateOf(since), Status: domain.MemberActive,
		Notes: g.words(10 + g.rng.IntN(20)),
	}
}

func (g *fixtureGen) visit(memberID, coordinatorID string) domain.Visit {
	day := fxEpoch.AddDate(0, 0, g.rng.IntN(10*365))
	return domain.Visit{
		ID: g.id(day.Add(time.Duration(g.rng.IntN(86400)) * time.Second)), MemberID: memberID,
		CoordinatorID: coordinatorID, Date: domain.DateOf(day), DurationMinutes: 30 + 15*g.rng.IntN(8),
		Mode: domain.VisitModes()[g.rng.IntN(3)], PeopleMet: g.pick(fxFirst) + " " + g.pick(fxLast),
		ServicesDiscussed: g.services(3), Notes: g.words(15 + g.rng.IntN(40)), Needs: g.words(5 + g.rng.IntN(10)),
	}
}

func (g *fixtureGen) followUp(v domain.Visit) domain.FollowUp {
	status := domain.FollowUpStatuses()[g.rng.IntN(3)]
	// Most of what was promised long ago has been done.
	if v.Date.Before(domain.DateOf(fixtureNow()).AddDays(-120)) && g.rng.IntN(20) > 0 {
		status = domain.FollowUpDone
	}
	f := domain.FollowUp{
		ID: g.id(v.Date.Time()), MemberID: v.MemberID, VisitID: v.ID, ServiceID: g.pick(fxServices),
		Description: g.words(6 + g.rng.IntN(10)), Due: v.Date.AddDays(7 + g.rng.IntN(60)),
		Status: status, AssignedTo: g.pick(fxFirst),
	}
	if status == domain.FollowUpDone {
		f.DoneOn = f.Due
		if now := domain.DateOf(fixtureNow()); now.Before(f.DoneOn) {
			f.DoneOn = now
		}
		f.DoneBy = f.AssignedTo
	}
	return f
}

// fixtureSize describes a generated store.
type fixtureSize struct {
	members, visits, followUps int
}

var (
	largeSize   = fixtureSize{members: 20000, visits: 500000, followUps: 50000}
	members20k  = fixtureSize{members: 20000}
	fixtureMu   sync.Mutex
	fixtureDirs = map[fixtureSize]string{}
	fixtureRoot string
)

const fixtureSeed = 20250616

// fixtureCacheEnv names a directory where fixtures are kept between runs
// (benchstat wants several processes; the large fixture takes a while to
// build). Without it, fixtures live in a temporary directory removed when
// the test process ends.
const fixtureCacheEnv = "TERRAIN_STORE_FIXTURES"

// fixtureVersion changes whenever the generator or the layout changes, so a
// cached fixture is never stale.
const fixtureVersion = 3

// fixture returns a closed profile directory holding the generated data,
// built once per test process (or once per cache). Its key uses the
// production Argon2 costs, so opening it costs what it costs a coordinator.
func fixture(tb testing.TB, size fixtureSize) string {
	tb.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if dir, ok := fixtureDirs[size]; ok {
		return dir
	}
	var dir string
	if cache := os.Getenv(fixtureCacheEnv); cache != "" {
		dir = filepath.Join(cache, fmt.Sprintf("v%d-s%d-m%d-v%d-f%d", fixtureVersion, latestSchema(),
			size.members, size.visits, size.followUps))
		if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
			fixtureDirs[size] = dir
			return dir
		}
		if err := os.RemoveAll(dir); err != nil {
			tb.Fatal(err)
		}
	} else {
		if fixtureRoot == "" {
			root, err := os.MkdirTemp("", "terrain-store-fixture-")
			if err != nil {
				tb.Fatal(err)
			}
			fixtureRoot = root
		}
		dir = filepath.Join(fixtureRoot, fmt.Sprintf("m%d-v%d", size.members, size.visits))
	}
	start := time.Now()
	if err := buildFixture(dir, size, tb); err != nil {
		tb.Fatalf("build fixture: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("fixture %d members, %d visits, %d follow-ups built in %v",
		size.members, size.visits, size.followUps, time.Since(start).Round(time.Millisecond))
	fixtureDirs[size] = dir
	return dir
}

// fixtureNow is "today" for fixtures: after every generated date.
func fixtureNow() time.Time { return time.Date(2025, 6, 16, 12, 0, 0, 0, time.UTC) }

func buildFixture(dir string, size fixtureSize, tb testing.TB) error {
	// Flatten makes Badger warn about levels it cannot fill: only errors
	// are worth showing here.
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	opt := Options{Now: fixtureNow, Logger: logger, GCInterval: -1}
	s, err := create(dir, pass, opt, productionKDF)
	if err != nil {
		return err
	}
	defer s.Close()
	g := newFixtureGen(fixtureSeed)
	members := make([]domain.Member, size.members)
	for i := range members {
		members[i] = g.member(i)
	}
	if err := s.Import(members, nil, nil); err != nil {
		return err
	}
	coordinator := g.id(fxEpoch)
	const batch = 10000
	fuEvery := 0
	if size.followUps > 0 {
		fuEvery = size.visits / size.followUps
	}
	for done := 0; done < size.visits; done += batch {
		n := min(batch, size.visits-done)
		visits := make([]domain.Visit, n)
		var fus []domain.FollowUp
		for i := range visits {
			visits[i] = g.visit(members[g.rng.IntN(len(members))].ID, coordinator)
			if fuEvery > 0 && (done+i)%fuEvery == 0 {
				fus = append(fus, g.followUp(visits[i]))
			}
		}
		if err := s.Import(nil, visits, fus); err != nil {
			return err
		}
	}
	// Settle the LSM tree as a long-running app would have, so that the
	// benchmarks do not measure the compactions that follow a bulk import.
	if err := s.db.Flatten(2); err != nil {
		return err
	}
	return s.Close()
}

// fixtureMemberIDs regenerates the members' ids without a store.
func fixtureMemberIDs(size fixtureSize) []string {
	g := newFixtureGen(fixtureSeed)
	out := make([]string, size.members)
	for i := range out {
		out[i] = g.member(i).ID
	}
	return out
}

func removeFixture() {
	if fixtureRoot != "" {
		os.RemoveAll(fixtureRoot)
	}
}

func TestFixtureIsDeterministic(t *testing.T) {
	a, b := newFixtureGen(7), newFixtureGen(7)
	for i := range 50 {
		ma, mb := a.member(i), b.member(i)
		if ma.ID != mb.ID || ma.Name != mb.Name || ma.Notes != mb.Notes {
			t.Fatalf("member %d differs: %+v vs %+v", i, ma, mb)
		}
		ma.Normalize()
		if err := ma.Validate(domain.DateOf(fixtureNow())); err != nil {
			t.Fatalf("generated member invalid: %v (%+v)", err, ma)
		}
		v := a.visit(ma.ID, a.id(fxEpoch))
		b.visit(mb.ID, b.id(fxEpoch))
		v.Normalize()
		if err := v.Validate(domain.DateOf(fixtureNow())); err != nil {
			t.Fatalf("generated visit invalid: %v (%+v)", err, v)
		}
		f := a.followUp(v)
		b.followUp(v)
		f.Normalize()
		if err := f.Validate(domain.DateOf(fixtureNow())); err != nil {
			t.Fatalf("generated follow-up invalid: %v (%+v)", err, f)
		}
	}
}
