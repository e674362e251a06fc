package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

const password = "correct horse battery staple"

var passphrase = []byte("une phrase de passe")

// serverURL is what devices sign in to. Nothing dials it: the simulated
// network hands every request to the server's handler. It is loopback
// because the client refuses plain http elsewhere.
const serverURL = "http://127.0.0.1:8470"

// start is the simulated clock's origin; each seed starts up to a year
// and a bit after it.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// result is what one seed did and found.
type result struct {
	Seed                           uint64
	Devices, Coordinators, Members int
	Steps                          int
	Faults                         [numFaults]int
	// Visits and Writes count what stores acknowledged; Conflicts and
	// Quarantined what the server and the devices kept at the end.
	Visits, Writes, Conflicts, Quarantined int
	// Deletes counts the deletes stores acknowledged, Erasures the
	// members the central office erased.
	Deletes, Erasures int
	// Lost, Duplicated and Diverged are defined at check.
	Lost, Duplicated, Diverged int
	// Problems says what failed, for the failure report.
	Problems []string
	// Hash is the trace's: two runs of a seed must agree on it.
	Hash string
}

func (r *result) failed() bool { return r.Lost+r.Duplicated+r.Diverged > 0 }

func (r *result) faultTotal() int {
	n := 0
	for _, c := range r.Faults {
		n += c
	}
	return n
}

// faultList names the faults that happened, with their counts.
func (r *result) faultList() string {
	var parts []string
	for f, c := range r.Faults {
		if c > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", fault(f), c))
		}
	}
	return strings.Join(parts, " ")
}

func (r *result) String() string {
	return fmt.Sprintf("seed=%d devices=%d coordinators=%d members=%d steps=%d visits=%d writes=%d "+
		"deletes=%d erasures=%d conflicts=%d quarantined=%d faults=%d [%s] lost=%d duplicated=%d diverged=%d trace=%s",
		r.Seed, r.Devices, r.Coordinators, r.Members, r.Steps, r.Visits, r.Writes, r.Deletes, r.Erasures, r.Conflicts,
		r.Quarantined, r.faultTotal(), r.faultList(), r.Lost, r.Duplicated, r.Diverged, r.Hash)
}

// abort stops a seed whose simulation itself broke (a store that cannot be
// created, a server that cannot restart): run turns it into a failure.
type abort struct{ err error }

// sim is one seed's world. Everything in it runs on one goroutine.
type sim struct {
	seed  uint64
	rnd   *rand.Rand
	dir   string
	ctx   context.Context
	trace io.Writer
	hash  hash.Hash
	now   time.Time // the true time; devices add their skew
	res   *result
	step  int

	// The network of this seed: how often it fails, and how.
	faultRate    float64
	faultWeights [numFaults]int
	healed       bool
	stale        []staleRequest

	srvOpt  central.Options
	srvDir  string
	backend *badgerdb.DB
	srv     *central.Server
	handler http.Handler

	regions   []string
	coords    []*coord
	devices   []*device
	members   []*memberRec
	visits    []*visitRec
	followUps []*followUpRec
	writes    []*write
	// visitDeletes holds the visits whose delete a store or the central
	// office acknowledged, with the step of the first (visits_test.go).
	visitDeletes map[string]int
	// Deletes, erasures and backups of the server (deletes_test.go,
	// restore_test.go).
	deletes  []*deleteRec
	erasures []*memberRec
	backups  []backup
	restores int
	// lastRestore is the step of the last restore, 0 before any.
	lastRestore int
	batch       int
	n           int // last unique value handed out
}

type coord struct {
	i       int
	id      string
	email   string
	regions []string
}

// device is one laptop: a real store and engine, its clock skew, and
// whether it has the network.
type device struct {
	i        int
	name     string
	c        *coord
	dir      string
	skew     time.Duration
	st       *store.Store
	eng      *engine.Engine
	offline  int // its own steps left without network
	signedIn bool
	// seen holds the outbox numbers found in the quarantine during the
	// run: each must still be there at the end.
	seen map[uint64]bool
}

func (d *device) now(s *sim) time.Time { return s.now.Add(d.skew) }

// The model: what the simulation did, to check against at the end.
type memberRec struct {
	i      int
	id     string
	region string
	erased bool // the central office erased it (Law 25)
}

type visitRec struct {
	step  int    // when it was recorded
	token string // the visit's notes, unique in the seed
	id    string
	d     *device
	m     *memberRec
}

type followUpRec struct {
	step int // when it was created
	i    int
	id   string
	m    *memberRec
}

// write is one field value that a device's store (or the central office)
// acknowledged: value replaced parent, the value that device showed.
// Values are unique in a seed (but follow-up statuses), so a value names
// its write.
type write struct {
	who   string // device name, or "central"
	d     *device
	kind  domain.Kind
	id    string
	ref   string // the record's name in the trace ("m3", "f2", "v-7-41")
	field string
	value string
	// parent is the value the write replaced on its device.
	parent string
	// step is when the write was made.
	step int
	// undone: a write of the central office that a restore of an older
	// backup took back (the devices push again only their own).
	undone bool
}

func newSim(seed uint64, dir string, trace io.Writer) *sim {
	return &sim{seed: seed, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dir: dir,
		ctx: context.Background(), trace: trace, hash: sha256.New(), res: &result{Seed: seed}}
}

// run simulates one seed in dir and returns what it found. It never stops
// the test: a failure is part of the result, so that the soak can count it.
func run(seed uint64, dir string, trace io.Writer) (res result) {
	s := newSim(seed, dir, trace)
	defer func() {
		if p := recover(); p != nil {
			// A seed that cannot finish cannot show convergence: it fails,
			// and the others (the soak's) go on.
			msg := fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
			if a, ok := p.(abort); ok {
				msg = "simulation aborted: " + a.err.Error()
			}
			s.record("ABORT", "ABORT "+strings.SplitN(msg, "\n", 2)[0])
			s.res.Problems = append(s.res.Problems, msg)
			s.res.Diverged++
		}
		s.close()
		s.res.Hash = hex.EncodeToString(s.hash.Sum(nil))[:16]
		res = *s.res
	}()
	s.setup()
	for s.step = 1; s.step <= s.res.Steps; s.step++ {
		s.doStep()
	}
	s.finish()
	s.check()
	return
}

// note adds a line to the trace: what happened, never an id or anything
// else that differs between two runs of a seed.
func (s *sim) note(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	s.record(line, line)
}

// record hashes one line and prints another (the same, or with details
// that differ between runs, such as ids in an error).
func (s *sim) record(hashed, printed string) {
	fmt.Fprintf(s.hash, "%d %s\n", s.step, hashed)
	if s.trace != nil {
		fmt.Fprintf(s.trace, "seed %d step %3d %s  %s\n", s.seed, s.step, s.now.Format("2006-01-02 15:04:05.000"), printed)
	}
}

// problem records an invariant the run broke outside the final checks.
func (s *sim) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.record("PROBLEM "+format, "PROBLEM "+msg)
	s.res.Problems = append(s.res.Problems, fmt.Sprintf("step %d: %s", s.step, msg))
	s.res.Diverged++
}

func (s *sim) must(err error, what string) {
	if err != nil {
		panic(abort{fmt.Errorf("%s: %w", what, err)})
	}
}

func (s *sim) advance(d time.Duration) { s.now = s.now.Add(d) }

// millis draws a duration in [lo, hi) at millisecond grain, so that two
// clocks rarely agree to the millisecond by accident.
func (s *sim) millis(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(s.rnd.Int64N(int64((hi-lo)/time.Millisecond)))*time.Millisecond
}

func (s *sim) next() int {
	s.n++
	return s.n
}

// setup draws the seed's world: server, coordinators, members, devices;
// then every device signs in and syncs once on a healthy network.
func (s *sim) setup() {
	r := s.rnd
	s.now = start.Add(s.millis(0, 400*24*time.Hour))
	nDev := 2 + r.IntN(4)
	nCoord := 1 + r.IntN(min(3, nDev))
	pool := []string{"09", "11", "10", "01", "08"}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	s.regions = slices.Sorted(slices.Values(pool[:1+r.IntN(2)]))
	s.res.Steps = 60 + r.IntN(141)
	pageLimit := 5 + r.IntN(46)
	s.batch = 3 + r.IntN(18)
	s.faultRate = []float64{0.15, 0.3, 0.45, 0.6}[r.IntN(4)]
	for f := dropRequest; f <= unavailable; f++ {
		s.faultWeights[f] = r.IntN(4)
	}
	s.faultWeights[dropReply]++ // the fault idempotency exists for
	s.faultWeights[crash] /= 2  // a restart costs a new Badger: keep them few

	s.srvDir = filepath.Join(s.dir, "central")
	s.srvOpt = central.Options{Argon2: central.TestArgon2, Logger: quiet(), PageLimit: pageLimit,
		Now: func() time.Time { return s.now }}
	s.openServer()

	for i := range nCoord {
		regions := s.regions
		if i > 0 && len(s.regions) > 1 && r.IntN(2) == 0 {
			regions = []string{s.regions[r.IntN(len(s.regions))]}
		}
		c := &coord{i: i, email: fmt.Sprintf("c%d@example.org", i), regions: regions}
		nc, err := s.srv.AddCoordinator(s.ctx, central.NewCoordinator{Name: fmt.Sprintf("Coordo %d", i),
			Email: c.email, Regions: regions, Password: []byte(password)})
		s.must(err, "add coordinator")
		c.id = nc.ID
		s.coords = append(s.coords, c)
	}
	nMem := 10 + r.IntN(31)
	ms := make([]domain.Member, 0, nMem)
	for i := range nMem {
		m := domain.Member{ID: domain.NewID(), Name: fmt.Sprintf("Coopérative %02d", i), LegalForm: domain.WorkerCoop,
			Region: s.regions[r.IntN(len(s.regions))], Municipality: "Sept-Îles", Phone: "418 555-0142",
			Email: "info@example.org", MemberSince: domain.NewDate(2015, 3, 1), Status: domain.MemberActive}
		ms = append(ms, m)
		s.members = append(s.members, &memberRec{i: i, id: m.ID, region: m.Region})
	}
	s.must(s.srv.Import(s.ctx, ms, nil, nil), "import members")

	for i := range nDev {
		c := s.coords[i%nCoord]
		if i >= nCoord {
			c = s.coords[r.IntN(nCoord)]
		}
		s.addDevice(i, c)
	}
	s.res.Devices, s.res.Coordinators, s.res.Members = nDev, nCoord, nMem
	s.note("world: %d devices, %d coordinators, regions %v, %d members, %d steps, page %d, batch %d, faults %.2f %v",
		nDev, nCoord, s.regions, nMem, s.res.Steps, pageLimit, s.batch, s.faultRate, s.faultWeights)
	for _, d := range s.devices {
		s.note("device %s: coordinator %d, regions %v, skew %v", d.name, d.c.i, d.c.regions, d.skew)
	}

	s.healed = true
	for _, d := range s.devices {
		s.must(d.eng.SignIn(s.ctx, serverURL, d.c.email, password), "first sign-in of "+d.name)
		d.signedIn = true
		_, err := d.eng.SyncOnce(s.ctx)
		s.must(err, "first sync of "+d.name)
	}
	s.healed = false
}

// drawSkew draws a device clock's error: none for half of them, minutes
// for some, up to a year either way for the rest.
func (s *sim) drawSkew() time.Duration {
	var d time.Duration
	switch s.rnd.IntN(4) {
	case 0, 1:
		return 0
	case 2:
		d = s.millis(time.Second, time.Hour)
	case 3:
		d = s.millis(24*time.Hour, 365*24*time.Hour)
	}
	if s.rnd.IntN(2) == 0 {
		d = -d
	}
	return d
}

func (s *sim) addDevice(i int, c *coord) {
	d := &device{i: i, name: fmt.Sprintf("d%d", i), c: c, dir: filepath.Join(s.dir, fmt.Sprintf("device%d", i)),
		seen: map[uint64]bool{}}
	d.skew = s.drawSkew()
	now := func() time.Time { return d.now(s) }
	st, err := store.Create(d.dir, passphrase, store.Options{KeyCost: store.CheapKeyCost, GCInterval: -1,
		Now: now, Logger: quiet()})
	s.must(err, "create store")
	d.st = st
	d.eng = engine.New(st, engine.Options{NetCheck: -1, Now: now, Logger: quiet(), BatchSize: s.batch,
		DeviceName: d.name, Client: client.Config{Retries: -1, Transport: &transport{s: s, d: d}}})
	s.devices = append(s.devices, d)
}

func (s *sim) openServer() {
	b, err := badgerdb.Open(s.srvDir, badgerdb.Options{Logger: quiet(), GCInterval: -1, MemTableBytes: 8 << 20})
	s.must(err, "open server backend")
	srv, err := central.New(s.ctx, b, s.srvOpt)
	if err != nil {
		b.Close()
		s.must(err, "start server")
	}
	s.backend, s.srv, s.handler = b, srv, srv.Handler()
}

// restartServer stops the server and starts a new one over the same data,
// as a crash or a deploy does: whatever it held only in memory is gone.
func (s *sim) restartServer() {
	s.must(s.backend.Close(), "stop server")
	s.backend, s.srv, s.handler = nil, nil, nil
	s.openServer()
}

func (s *sim) close() {
	for _, d := range s.devices {
		if d.eng != nil {
			_ = d.eng.Stop(s.ctx)
		}
		if d.st != nil {
			_ = d.st.Close()
		}
	}
	if s.backend != nil {
		_ = s.backend.Close()
	}
}

// outcome names the result of an operation for the trace: "ok", a store
// error, or the engine's message for a sync error.
func outcome(err error) string {
	var ve *domain.ValidationError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrNotFound):
		return "not-found"
	case errors.Is(err, store.ErrDeleted):
		return "deleted"
	case errors.As(err, &ve):
		return "invalid"
	case errors.Is(err, engine.ErrNotAcknowledged):
		return "not-acknowledged"
	}
	return strings.TrimPrefix(engine.MessageID(err), "sync.error.")
}
