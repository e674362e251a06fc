package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/engine"
)

// TestFirstSyncResumes interrupts the first sync of 50,000 members half-way
// and resumes it: the second run downloads only what the first had not
// stored, page for page and change for change. Pages of 12,500 (the server
// default is 2,000 or 2 MiB) keep the server's count of what remains,
// redone for every page, affordable under the race detector.
func TestFirstSyncResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 members take about 100 s under the race detector (12 s without); make test runs it")
	}
	const members = 50_000
	w := newWorld(t, func(o *central.Options) { o.PageLimit, o.PageBytes = 12500, 16<<20 })
	w.coordinator("ana@example.org", "09")
	ms := make([]domain.Member, members)
	for i := range ms {
		ms[i] = member(fmt.Sprintf("Coopérative %05d", i), "09")
	}
	start := time.Now()
	w.seedMembers(ms)
	t.Logf("server seeded with %d members in %v", members, time.Since(start).Round(time.Millisecond))
	p := newProxy(t, w.web.URL)
	ana := newDevice(t, p.URL(), "ana@example.org", deviceOptions{})
	// Everything the feed holds for Ana: the members, the catalog and the
	// coordinator's card.
	total := members + len(domain.DefaultServices()) + 1

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var halfway engine.State
	unsub := ana.eng.Subscribe(func(s engine.State) {
		if s.RecordsTotal > 0 && s.RecordsDone*2 >= s.RecordsTotal && halfway.PagesDone == 0 {
			halfway = s
			cancel()
		}
	})
	start = time.Now()
	_, err := ana.eng.SyncOnce(ctx)
	unsub()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: %v", err)
	}
	if s := ana.eng.State(); !s.LastSuccess.IsZero() || engine.MessageID(s.LastError) != "sync.error.interrupted" {
		t.Errorf("state after the interruption = %+v", s)
	}
	pages1, bytes1 := p.stats()
	changes1 := halfway.RecordsDone
	t.Logf("first run: %d pages, %d changes, %d bytes in %v, stopped at %d/%d records",
		pages1, changes1, bytes1, time.Since(start).Round(time.Millisecond), halfway.RecordsDone, halfway.RecordsTotal)
	if halfway.RecordsTotal != total {
		t.Errorf("announced total = %d, want %d", halfway.RecordsTotal, total)
	}
	stored := ana.st.CountMembers()
	if stored < members/2 || stored == members {
		t.Fatalf("%d members stored after the interruption", stored)
	}

	start = time.Now()
	sum := ana.sync()
	pages2, bytes2 := p.stats()
	changes2 := sum.Pulled
	t.Logf("resumed run: %d pages, %d changes, %d bytes in %v", pages2, changes2, bytes2, time.Since(start).Round(time.Millisecond))
	if n := ana.st.CountMembers(); n != members {
		t.Fatalf("members after resuming = %d, want %d", n, members)
	}
	if changes1+changes2 != total {
		t.Errorf("downloaded %d + %d changes, want %d in all: something came twice", changes1, changes2, total)
	}
	// Every page the proxy delivered was stored: none came twice.
	if pages1 != halfway.PagesDone || pages2 != sum.Pages {
		t.Errorf("pages delivered %d + %d, stored %d + %d", pages1, pages2, halfway.PagesDone, sum.Pages)
	}
	if bytes2 >= bytes1 {
		t.Errorf("the second half cost %d bytes, the first %d: the first half came again", bytes2, bytes1)
	}
}
