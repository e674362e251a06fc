package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/demo"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// Loopback measurements of the whole exchange: the real server over the
// embedded backend, the real client and a real store. Each op is one
// complete sync on a new device (first syncs) or one push; the custom
// metrics say how many HTTP requests it took and how many body bytes went
// over the wire (gzipped).
//
//	go test -run '^$' -bench . -benchtime 3x ./sync/engine

func BenchmarkFirstSync300Members(b *testing.B) {
	benchFirstSync(b, demo.Size{Members: 300, Coordinators: 1}, false)
}

// BenchmarkFirstSync300Demo is today's consortium as the demo makes it:
// 300 members with some 2,400 visits and their follow-ups.
func BenchmarkFirstSync300Demo(b *testing.B) {
	benchFirstSync(b, demo.Small(), true)
}

func BenchmarkFirstSync20000Members(b *testing.B) {
	benchFirstSync(b, demo.Size{Members: 20000, Coordinators: 1}, false)
}

// adminWorld is a server seeded with the demo data of size, and the e-mail
// of a central-office account that receives every region.
func adminWorld(b *testing.B, size demo.Size, activity bool) *world {
	w := newWorld(b, nil)
	g := demo.New(1, size, domain.DateOf(time.Now()))
	for _, k := range g.Coordinators() {
		if _, err := w.srv.AddCoordinator(w.ctx, central.NewCoordinator{ID: k.ID, Name: k.Name, Email: k.Email,
			Regions: k.Regions, Password: []byte(password)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.srv.AddCoordinator(w.ctx, central.NewCoordinator{Name: "Bureau central", Email: "admin@example.org",
		Admin: true, Password: []byte(password)}); err != nil {
		b.Fatal(err)
	}
	w.members(g.Members())
	if activity {
		var visits []domain.Visit
		if err := g.EachVisit(func(v domain.Visit) error { visits = append(visits, v); return nil }); err != nil {
			b.Fatal(err)
		}
		var fus []domain.FollowUp
		if err := g.EachFollowUp(func(f domain.FollowUp) error { fus = append(fus, f); return nil }); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(visits); i += 2000 {
			if err := w.srv.Import(w.ctx, nil, visits[i:min(i+2000, len(visits))], nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.srv.Import(w.ctx, nil, nil, fus); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

func benchFirstSync(b *testing.B, size demo.Size, activity bool) {
	w := adminWorld(b, size, activity)
	var sum engine.Summary
	for b.Loop() {
		b.StopTimer()
		d := newDevice(b, w.web.URL, "admin@example.org", deviceOptions{})
		b.StartTimer()
		var err error
		if sum, err = d.eng.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := d.st.CountMembers(); n != size.Members {
			b.Fatalf("%d members synced, want %d", n, size.Members)
		}
		b.StartTimer()
	}
	report(b, sum)
}

func report(b *testing.B, sum engine.Summary) {
	b.ReportMetric(float64(sum.Requests), "requests/op")
	b.ReportMetric(float64(sum.Pulled), "changes/op")
	b.ReportMetric(float64(sum.BytesSent), "bytes-up/op")
	b.ReportMetric(float64(sum.BytesReceived), "bytes-down/op")
}

// BenchmarkPush1000Visits: a device holding the 300 members pushes 1,000
// visits recorded offline; the answer brings them back with their server
// versions, as every push does.
func BenchmarkPush1000Visits(b *testing.B) {
	w := adminWorld(b, demo.Size{Members: 300, Coordinators: 1}, false)
	d := newDevice(b, w.web.URL, "admin@example.org", deviceOptions{})
	d.sync()
	hits, err := d.st.SearchMembers(store.MemberQuery{})
	if err != nil {
		b.Fatal(err)
	}
	var sum engine.Summary
	for b.Loop() {
		b.StopTimer()
		for i := range 1000 {
			d.visit(hits[i%len(hits)].ID, fmt.Sprintf("Visite %d : besoins en ressources humaines et en communication.", i))
		}
		b.StartTimer()
		if sum, err = d.eng.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
		if sum.Pushed != 1000 {
			b.Fatalf("pushed %d", sum.Pushed)
		}
	}
	report(b, sum)
}
