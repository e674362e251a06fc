package store

import (
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

// testKDF keeps Argon2 cheap in tests; key.json records the costs, so the
// files still open with the real code path.
var testKDF = CheapKeyCost

// childEnv selects a child-process role when the test binary re-executes
// itself (crash test, second process, RSS measurement).
const childEnv = "TERRAIN_STORE_CHILD"

func TestMain(m *testing.M) {
	kdfCost = testKDF
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	code := m.Run()
	removeFixture()
	os.Exit(code)
}

var pass = []byte("correct horse battery staple")

// testClock is a settable wall clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2025, 6, 16, 14, 30, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Today() domain.Date { return domain.DateOf(c.Now()) }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testOptions(t testing.TB, c *testClock) Options {
	return Options{Now: c.Now, Logger: testLogger(t), GCInterval: -1}
}

// newStore creates a profile in a fresh directory and closes it at the end
// of the test (unless the test closed it).
func newStore(t testing.TB) (*Store, string, *testClock) {
	t.Helper()
	dir := t.TempDir()
	c := newClock()
	s, err := Create(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s, dir, c
}

func reopen(t testing.TB, s *Store, dir string, c *testClock) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

func newMember(name, municipality, region string, lf domain.LegalForm, services ...string) domain.Member {
	return domain.Member{
		ID: domain.NewID(), Name: name, LegalForm: lf, Region: region,
		Municipality: municipality, Address: "12, rue Principale", PostalCode: "g0g1a0",
		Phone: "418 555-0142", Email: "info@example.org", ContactName: "Claudette Tremblay",
		ContactRole: "Directrice", Services: services, MemberSince: domain.NewDate(2012, 4, 1),
	}
}

func newVisit(memberID string, date domain.Date) domain.Visit {
	return domain.Visit{
		ID: domain.NewID(), MemberID: memberID, CoordinatorID: "0190f1f2-0000-7000-8000-000000000001",
		Date: date, DurationMinutes: 90, Mode: domain.OnSite, PeopleMet: "Claudette Tremblay",
		ServicesDiscussed: []string{"hr"}, Notes: "Rencontre annuelle.",
	}
}

func newFollowUp(memberID, service string, due domain.Date) domain.FollowUp {
	return domain.FollowUp{ID: domain.NewID(), MemberID: memberID, ServiceID: service,
		Description: "Envoyer le gabarit de politique RH", Due: due}
}

func mustSaveMember(t testing.TB, s *Store, m domain.Member) domain.Member {
	t.Helper()
	if err := s.SaveMember(m); err != nil {
		t.Fatalf("SaveMember(%s): %v", m.Name, err)
	}
	return m
}

func mustSaveVisit(t testing.TB, s *Store, v domain.Visit) domain.Visit {
	t.Helper()
	if err := s.SaveVisit(v); err != nil {
		t.Fatalf("SaveVisit: %v", err)
	}
	return v
}

func mustSaveFollowUp(t testing.TB, s *Store, f domain.FollowUp) domain.FollowUp {
	t.Helper()
	if err := s.SaveFollowUp(f); err != nil {
		t.Fatalf("SaveFollowUp: %v", err)
	}
	return f
}

func outbox(t testing.TB, s *Store) []Mutation {
	t.Helper()
	muts, err := s.Outbox(0, 0)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	return muts
}

func names(sums []MemberSummary) []string {
	out := make([]string, len(sums))
	for i, m := range sums {
		out[i] = m.Name
	}
	return out
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = id(x)
	}
	return out
}

func visitID(v domain.Visit) string       { return v.ID }
func followUpID(f domain.FollowUp) string { return f.ID }

func fieldNames(m Mutation) []string { return slices.Sorted(maps.Keys(m.Fields)) }
