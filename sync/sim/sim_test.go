package sim

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "replay only this seed, with a trace under -v")
	seedsFlag = flag.Int("seeds", defaultSeeds, "how many seeds TestSimulation runs (1..N)")
	traceFlag = flag.Bool("trace", false, "print every step of every seed run")
	soakFlag  = flag.Duration("soak", 0, "TestSoak runs new seeds for this long (skipped when 0)")
	// -restores=false leaves the server's restores out of the workload
	// (the step idles instead, so the rest of a seed is unchanged): the
	// restore has open defects (openDefects), and a soak of everything
	// else must still be able to say lost=0.
	restoresFlag = flag.Bool("restores", true, "include restores of the server from an older backup")
)

// replayHint is how to run a failing seed again, alone and traced.
func replayHint(seed uint64) string {
	return fmt.Sprintf("go test%s ./sync/sim -run TestSimulation -seed=%d -v", replayTags, seed)
}

func failureReport(r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sim: seed %d failed: lost=%d duplicated=%d diverged=%d\n", r.Seed, r.Lost, r.Duplicated, r.Diverged)
	for i, p := range r.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "  … and %d more\n", len(r.Problems)-20)
			break
		}
		fmt.Fprintf(&b, "  %s\n", p)
	}
	fmt.Fprintf(&b, "  %s\n  replay: %s", r.String(), replayHint(r.Seed))
	return b.String()
}

// runSeed runs one seed in a fresh directory.
func runSeed(t testing.TB, seed uint64, trace io.Writer) result {
	return run(seed, t.TempDir(), trace)
}

// TestSimulation runs seeds 1..-seeds (or only -seed), each a whole
// simulated deployment ending in the checks of check(). A failing seed
// prints itself and the command that replays it.
func TestSimulation(t *testing.T) {
	if *seedFlag != 0 {
		var trace io.Writer
		if testing.Verbose() || *traceFlag {
			trace = os.Stdout
		}
		r := runSeed(t, *seedFlag, trace)
		t.Log(r.String())
		if r.failed() {
			t.Error(failureReport(r))
		}
		return
	}
	var trace io.Writer
	if *traceFlag {
		trace = os.Stdout
	}
	var mu sync.Mutex
	var all []result
	// A seed spends much of its time waiting for fsync: more seeds than
	// cores run at once. Each seed is still one goroutine of its own.
	workers := make(chan struct{}, 2*runtime.GOMAXPROCS(0)+2)
	var wg sync.WaitGroup
	for seed := uint64(1); seed <= uint64(*seedsFlag); seed++ {
		workers <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-workers; wg.Done() }()
			r := runSeed(t, seed, trace)
			if testing.Verbose() {
				t.Log(r.String())
			}
			if r.failed() && !knownOpen(r) {
				t.Error(failureReport(r))
			}
			mu.Lock()
			all = append(all, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Log(totals(all))
}

// openDefects are seeds of TestSimulation that fail on a defect found and
// described, not yet fixed (docs/reliability.md, "Still open"): a restore
// from an older backup meeting a write the device re-sends. Such
// a seed is reported, not failed, only while it fails with exactly the
// problem described: any other problem in it, or in any other seed, still
// fails the test. Remove an entry with its fix.
var openDefects = map[uint64]string{
	// A re-sent write of a device whose clock runs ahead beats the write
	// that knowingly replaced it (the server clamps the re-sent stamp).
	115: `replaced phone of m10 = "418 200-0028" by "418 200-0059", and the server holds "418 200-0028" again`,
}

// knownOpen reports whether r is the described failure of an open defect
// (never under the broken-idempotency build, whose failures must show).
func knownOpen(r result) bool {
	want, ok := openDefects[r.Seed]
	if !ok || replayTags != "" || r.Lost != 1 || r.Duplicated != 0 || r.Diverged != 0 || len(r.Problems) != 1 ||
		!strings.Contains(r.Problems[0], want) {
		return false
	}
	fmt.Fprintf(os.Stderr, "sim: seed %d fails on an open defect (docs/reliability.md): %s\n", r.Seed, r.Problems[0])
	return true
}

// totals summarises many seeds.
func totals(rs []result) string {
	if len(rs) == 0 {
		return "no seed ran"
	}
	var steps, faults, devices, lost, dup, div, visits, writes, conflicts, quarantined int
	var byKind [numFaults]int
	minDev, maxDev := rs[0].Devices, rs[0].Devices
	for _, r := range rs {
		steps += r.Steps
		faults += r.faultTotal()
		devices += r.Devices
		minDev, maxDev = min(minDev, r.Devices), max(maxDev, r.Devices)
		lost, dup, div = lost+r.Lost, dup+r.Duplicated, div+r.Diverged
		visits, writes, conflicts = visits+r.Visits, writes+r.Writes, conflicts+r.Conflicts
		quarantined += r.Quarantined
		for k, n := range r.Faults {
			byKind[k] += n
		}
	}
	n := float64(len(rs))
	var kinds []string
	for k, c := range byKind {
		if c > 0 {
			kinds = append(kinds, fmt.Sprintf("%s:%d", fault(k), c))
		}
	}
	return fmt.Sprintf("seeds=%d devices/seed min=%d mean=%.1f max=%d steps/seed mean=%.0f faults/seed mean=%.1f "+
		"visits=%d writes=%d conflicts=%d quarantined=%d faults by kind [%s] lost=%d duplicated=%d diverged=%d",
		len(rs), minDev, float64(devices)/n, maxDev, float64(steps)/n, float64(faults)/n,
		visits, writes, conflicts, quarantined, strings.Join(kinds, " "), lost, dup, div)
}

// TestReplayIsIdentical runs seeds twice: the operations, faults and
// outcomes (the trace hash) must be the same, although ids and bytes
// differ.
func TestReplayIsIdentical(t *testing.T) {
	for _, seed := range []uint64{3, 17} {
		a := runSeed(t, seed, nil)
		b := runSeed(t, seed, nil)
		if a.Hash != b.Hash || a.String() != b.String() {
			t.Errorf("seed %d ran differently twice:\n  %s\n  %s", seed, a.String(), b.String())
		}
		if a.faultTotal() == 0 || a.Steps == 0 {
			t.Errorf("seed %d did nothing: %s", seed, a.String())
		}
	}
}

// TestSoak runs new seeds, from a time-based start, on every core until
// -soak has elapsed, and ends with one line:
//
//	seeds=S faults=F lost=L duplicated=D diverged=V
//
// It fails when L, D or V is not 0, after printing each failing seed.
func TestSoak(t *testing.T) {
	if *soakFlag <= 0 {
		t.Skip("set -soak=DURATION (make soak SOAK_SECONDS=N)")
	}
	base := t.TempDir()
	deadline := time.Now().Add(*soakFlag)
	next := atomic.Uint64{}
	next.Store(uint64(time.Now().UnixNano()) &^ (1 << 63))
	var mu sync.Mutex
	var seeds, faults, lost, dup, div int
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				seed := next.Add(1)
				dir, err := os.MkdirTemp(base, fmt.Sprintf("w%d-", w))
				if err != nil {
					t.Error(err)
					return
				}
				r := run(seed, dir, nil)
				os.RemoveAll(dir)
				mu.Lock()
				seeds++
				faults += r.faultTotal()
				lost, dup, div = lost+r.Lost, dup+r.Duplicated, div+r.Diverged
				if r.failed() {
					fmt.Println(failureReport(r))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("seeds=%d faults=%d lost=%d duplicated=%d diverged=%d\n", seeds, faults, lost, dup, div)
	if lost+dup+div > 0 {
		t.Fail()
	}
}
