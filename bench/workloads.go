package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"leconsortium.coop/terrain/domain"
)

// System is one of the compared systems in one configuration.
type System interface {
	Name() string    // "terrain" or "pouchdb"
	Variant() string // backend or configuration
	// NewWorld starts (or reuses, when shared) a server holding members.
	NewWorld(ctx context.Context, name string, members []domain.Member, shared bool) (World, error)
}

// World is one server with its data.
type World interface {
	Addr() string // host:port, what a link proxy forwards to
	// NewDevice makes a laptop with nothing on it, ready to sync through
	// base (a link's URL).
	NewDevice(ctx context.Context, base string) (Device, error)
	// EditMembers changes members on the server side (the central
	// office), not through a link.
	EditMembers(ctx context.Context, edits []memberEdit) error
	Close()
}

// Device is one laptop.
type Device interface {
	// Warm makes one small request to the server, so that the
	// measurement starts as a laptop that has just seen the network come
	// back: the app probes, PouchDB asks for the database's info.
	Warm(ctx context.Context) error
	// Sync syncs once, both ways, until there is nothing left.
	Sync(ctx context.Context) error
	SaveVisits(ctx context.Context, visits []domain.Visit) error
	EditMembers(ctx context.Context, edits []memberEdit) error
	// Count is the number of members held.
	Count(ctx context.Context) (int, error)
	Close()
}

// reopener is a device that can forget its connection state before a
// resumed sync (PouchDB: a new remote handle; see cutAndResume).
type reopener interface{ Reopen() error }

// memberEdit is a new value of a member's notes.
type memberEdit struct{ ID, Notes string }

// Workload names, as written in results.jsonl.
const (
	wFirstSync = "first-sync-%d"
	wCut       = "cut-at-50%%-%d"
	wQuiet     = "quiet-sync"
	wPush      = "push-1000-visits"
	wEdits     = "50-edits-each-side"
)

// dataset is what both systems hold.
type dataset struct {
	members []domain.Member
	visits  []domain.Visit // recorded offline, pushed by the push workload
	local   []memberEdit   // made on the laptop
	central []memberEdit   // made at the central office meanwhile
}

// newDataset draws n members (and, for today's consortium, 1,000 visits
// and the edits) from the demo generator: the same records for both
// systems.
func newDataset(n int, today domain.Date) (*dataset, error) {
	g := newGenerator(n, today)
	ds := &dataset{members: g.Members()}
	if n > 1000 {
		return ds, nil
	}
	errEnough := errors.New("enough")
	err := g.EachVisit(func(v domain.Visit) error {
		if len(ds.visits) == 1000 {
			return errEnough
		}
		ds.visits = append(ds.visits, v)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	if len(ds.visits) < 1000 {
		return nil, fmt.Errorf("the demo made %d visits, want 1000", len(ds.visits))
	}
	if len(ds.members) < 100 {
		return nil, fmt.Errorf("%d members: the edits need 100", len(ds.members))
	}
	for i, m := range ds.members[:100] {
		e := memberEdit{ID: m.ID, Notes: m.Notes + " Rappel : envoyer l'offre de formation en gestion des ressources humaines."}
		if i >= 50 {
			e.Notes = m.Notes + " Le bureau central a mis à jour le dossier après l'assemblée générale."
			ds.central = append(ds.central, e)
		} else {
			ds.local = append(ds.local, e)
		}
	}
	return ds, nil
}

// run is one harness run: what it measures and where results go.
type run struct {
	budget time.Duration
	log    func(format string, args ...any)

	mu      sync.Mutex
	results []Result
}

func (r *run) add(res Result) {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
	if res.Skipped != "" {
		r.log("%-20s %-9s %-17s skipped: %s", res.Workload, res.Link, res.label(), res.Skipped)
		return
	}
	r.log("%-20s %-9s %-17s %8.2f s %5d round trips %10s up %10s down", res.Workload, res.Link, res.label(),
		res.WallS, res.RoundTrips, kb(res.BytesUp), kb(res.BytesDown))
}

func (r *run) skip(sys System, workload string, link Link, reason string, estimate time.Duration) {
	res := Result{System: sys.Name(), Workload: workload, Link: link.Name, Skipped: reason, EstimateS: estimate.Seconds()}
	res.setVariant(sys)
	r.add(res)
}

func (r *run) fail(sys System, workload string, link Link, err error) {
	r.skip(sys, workload, link, "failed: "+err.Error(), 0)
}

// find returns a measurement already made.
func (r *run) find(sys System, workload string, link Link) (Result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range r.results {
		if res.Link == link.Name && res.Workload == workload && res.System == sys.Name() &&
			res.variant() == sys.Variant() && res.Skipped == "" {
			return res, true
		}
	}
	return Result{}, false
}

// measure runs work after warming the device's connection and returns
// what the link saw.
func measure(ctx context.Context, p *Proxy, d Device, work func() error) (Counts, time.Duration, error) {
	if err := d.Warm(ctx); err != nil {
		return Counts{}, 0, fmt.Errorf("warm up: %w", err)
	}
	p.Reset()
	start := time.Now()
	err := work()
	return p.Counts(), time.Since(start), err
}

// job is one measurement of today's consortium (300 members) on a fresh
// server: prepared on loopback (not measured), then measured on its link.
type job struct {
	sys      System
	link     Link
	workload string
	world    World
	proxy    *Proxy
	device   Device
	expected int64 // for a cut: the bytes down of a whole first sync
	measure  func(ctx context.Context, j *job) (Result, error)
}

func (j *job) close() {
	if j.device != nil {
		j.device.Close()
	}
	if j.proxy != nil {
		j.proxy.Close()
	}
	if j.world != nil {
		j.world.Close()
	}
}

// consortiumJobs prepares today's workloads for sys on link: a first
// sync; a first sync cut at half its bytes and resumed; a quiet sync; 1,000
// visits pushed; 50 edits on each side then a sync. Each has a server of
// its own, so that they can run side by side on slow links.
func (r *run) consortiumJobs(ctx context.Context, sys System, link Link, ds *dataset) []*job {
	n := len(ds.members)
	var jobs []*job
	prepare := func(workload string, setup func(j *job) error, m func(ctx context.Context, j *job) (Result, error)) {
		j := &job{sys: sys, link: link, workload: workload, measure: m}
		err := func() error {
			world, err := sys.NewWorld(ctx, "consortium", ds.members, false)
			if err != nil {
				return fmt.Errorf("start server: %w", err)
			}
			j.world = world
			if j.proxy, err = NewProxy(loopback, world.Addr()); err != nil {
				return err
			}
			traceProxy(j.proxy, sys.Name()+" "+sys.Variant()+" "+workload)
			if j.device, err = world.NewDevice(ctx, j.proxy.URL()); err != nil {
				return fmt.Errorf("new device: %w", err)
			}
			if setup != nil {
				return setup(j)
			}
			return nil
		}()
		if err != nil {
			j.close()
			r.fail(sys, workload, link, err)
			return
		}
		j.proxy.SetLink(link)
		jobs = append(jobs, j)
	}
	synced := func(j *job) error {
		if err := j.device.Sync(ctx); err != nil {
			return err
		}
		return expectMembers(ctx, j.device, n)
	}
	syncOnce := func(ctx context.Context, j *job) (Result, error) {
		c, wall, err := measure(ctx, j.proxy, j.device, func() error { return j.device.Sync(ctx) })
		if err != nil {
			return Result{}, err
		}
		return newResult(j.sys, j.workload, j.link, c, wall), nil
	}

	prepare(fmt.Sprintf(wFirstSync, n), nil, func(ctx context.Context, j *job) (Result, error) {
		res, err := syncOnce(ctx, j)
		if err == nil {
			err = expectMembers(ctx, j.device, n)
		}
		return res, err
	})
	prepare(fmt.Sprintf(wCut, n), nil, func(ctx context.Context, j *job) (Result, error) {
		return cutAndResume(ctx, j, n)
	})
	prepare(wQuiet, synced, syncOnce)
	prepare(wPush, func(j *job) error {
		if err := synced(j); err != nil {
			return err
		}
		return j.device.SaveVisits(ctx, ds.visits)
	}, syncOnce)
	prepare(wEdits, func(j *job) error {
		if err := synced(j); err != nil {
			return err
		}
		if err := j.device.EditMembers(ctx, ds.local); err != nil {
			return fmt.Errorf("edit on the laptop: %w", err)
		}
		if err := j.world.EditMembers(ctx, ds.central); err != nil {
			return fmt.Errorf("edit on the server: %w", err)
		}
		return nil
	}, syncOnce)
	return jobs
}

// runJobs measures jobs one after the other (loopback: the CPU is what is
// measured) or side by side (slow links: each job has a link of its own and
// spends its time waiting on it).
func (r *run) runJobs(ctx context.Context, jobs []*job, parallel bool) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		do := func() {
			defer j.close()
			if j.measure == nil {
				return
			}
			if j.workload == fmt.Sprintf(wCut, 300) {
				first, ok := r.find(j.sys, fmt.Sprintf(wFirstSync, 300), loopback)
				if !ok {
					r.skip(j.sys, j.workload, j.link, "no whole first sync on loopback to cut at half of", 0)
					return
				}
				j.expected = first.BytesDown
			}
			res, err := j.measure(ctx, j)
			if err != nil {
				r.fail(j.sys, j.workload, j.link, err)
				return
			}
			r.add(res)
		}
		if parallel {
			wg.Add(1)
			go func() { defer wg.Done(); do() }()
		} else {
			do()
		}
	}
	wg.Wait()
}

// cutAndResume is a first sync on a new laptop whose link goes down once
// half the bytes of a whole first sync have come down: the connection is
// closed at that byte and new ones refused, and the laptop gives up. The
// link then comes back and the laptop syncs again, on a new connection.
// The time is the first attempt up to the cut plus the whole resumed sync;
// the counts are both attempts'; the bytes re-sent are those beyond a whole
// first sync.
func cutAndResume(ctx context.Context, j *job, n int) (Result, error) {
	p, d := j.proxy, j.device
	if err := d.Warm(ctx); err != nil {
		return Result{}, err
	}
	p.Reset()
	p.CutAfter(j.expected / 2)
	cut := p.Cut()
	actx, cancel := context.WithCancel(ctx)
	go func() {
		// The laptop lost the network: the app's retries would wait for
		// it, which is not what is measured.
		select {
		case <-cut:
			cancel()
		case <-actx.Done():
		}
	}()
	start := time.Now()
	err1 := d.Sync(actx)
	cancel()
	cutAt := p.CutTime()
	c1 := p.Counts()
	p.Restore()
	if cutAt.IsZero() {
		return Result{}, fmt.Errorf("the link was never cut: %s down of %s expected (sync error: %v)",
			kb(c1.BytesDown), kb(j.expected), err1)
	}
	if r, ok := d.(reopener); ok {
		if err := r.Reopen(); err != nil {
			return Result{}, err
		}
	}
	p.Reset()
	start2 := time.Now()
	if err := d.Sync(ctx); err != nil {
		return Result{}, fmt.Errorf("resume: %w", err)
	}
	wall := cutAt.Sub(start) + time.Since(start2)
	if err := expectMembers(ctx, d, n); err != nil {
		return Result{}, err
	}
	res := newResult(j.sys, j.workload, j.link, c1.Add(p.Counts()), wall)
	res.ResentBytes = res.BytesDown - j.expected
	res.FirstAttemptErr = errString(err1)
	if res.LimitS > 0 {
		// Physics allow no less: the request, the cut, a new connection
		// and a new request, and every byte once.
		res.LimitS += 2 * j.link.RTT().Seconds()
	}
	return res, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func expectMembers(ctx context.Context, d Device, n int) error {
	got, err := d.Count(ctx)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("%d members on the laptop after the sync, want %d", got, n)
	}
	return nil
}

// firstSync measures a first sync of a large data set on link, unless the
// loopback measurement of the same system says it would overrun the
// budget.
func (r *run) firstSync(ctx context.Context, sys System, world World, link Link, n int) {
	workload := fmt.Sprintf(wFirstSync, n)
	if link != loopback {
		est, ok := r.estimate(sys, workload, link)
		if !ok {
			r.skip(sys, workload, link, "no loopback measurement to estimate from", 0)
			return
		}
		if est > r.budget {
			r.skip(sys, workload, link, fmt.Sprintf("estimated %.0f s, over the %.0f s budget", est.Seconds(), r.budget.Seconds()), est)
			return
		}
	}
	p, err := NewProxy(link, world.Addr())
	if err != nil {
		r.fail(sys, workload, link, err)
		return
	}
	defer p.Close()
	traceProxy(p, sys.Name()+" "+sys.Variant()+" "+workload)
	d, err := world.NewDevice(ctx, p.URL())
	if err != nil {
		r.fail(sys, workload, link, err)
		return
	}
	defer d.Close()
	c, wall, err := measure(ctx, p, d, func() error { return d.Sync(ctx) })
	if err == nil {
		err = expectMembers(ctx, d, n)
	}
	if err != nil {
		r.fail(sys, workload, link, err)
		return
	}
	r.add(newResult(sys, workload, link, c, wall))
}

// estimate predicts a measurement on link from the same one on loopback:
// its time, plus every byte at the link's bandwidth, plus a round trip for
// each one counted (an upper bound when requests overlap).
func (r *run) estimate(sys System, workload string, link Link) (time.Duration, bool) {
	res, ok := r.find(sys, workload, loopback)
	if !ok {
		return 0, false
	}
	wall := time.Duration(res.WallS * float64(time.Second))
	return wall + link.transmit(res.BytesUp+res.BytesDown) + time.Duration(res.RoundTrips)*link.RTT(), true
}

// traceProxy logs each request's first line when BENCH_TRACE is set.
func traceProxy(p *Proxy, label string) {
	if os.Getenv("BENCH_TRACE") == "" {
		return
	}
	p.Trace = func(line string) { fmt.Fprintf(os.Stderr, "  %s: %s\n", label, line) }
}
