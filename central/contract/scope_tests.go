package contract

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// seedRegion imports n members of region, each with a visit by
// coordinatorID and a follow-up.
func (e *env) seedRegion(region string, n int, coordinatorID string) []domain.Member {
	e.t.Helper()
	var ms []domain.Member
	var vs []domain.Visit
	var fs []domain.FollowUp
	for i := 0; i < n; i++ {
		m := member(region, fmt.Sprintf("Coopérative %s-%d", region, i))
		ms = append(ms, m)
		vs = append(vs, visit(m, coordinatorID, e.today()))
		fs = append(fs, followUp(m, e.today()))
	}
	if err := e.srv.Import(e.ctx, ms, vs, fs); err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func (e *env) deviceState(id string) central.Device {
	e.t.Helper()
	var d central.Device
	err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
		var err error
		d, err = tx.Device(id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func testRegionGained(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, func(o *central.Options) { o.PageLimit = 4 })
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("central@example.org")
	m09 := e.seedRegion("09", 3, ana.ID)
	m10 := e.seedRegion("10", 5, ana.ID)
	a := e.device("ana@example.org")
	c := e.device("central@example.org")
	a.sync()
	c.sync()
	a.assertMirrors()
	if a.has(kMember, m10[0].ID) {
		t.Fatal("region 10 delivered before it was granted")
	}

	if _, err := e.srv.SetRegions(e.ctx, "ana@example.org", []string{"09", "10"}); err != nil {
		t.Fatal(err)
	}
	// The first backfill page is lost; the retry starts over. The stored
	// cursor does not move until the last page.
	before := a.cursor
	req := a.request(nil, nil)
	status, _, lost := a.post(req)
	if status != http.StatusOK || lost.Backfill == nil || !lost.HasMore {
		t.Fatalf("first backfill page: %d %+v", status, lost)
	}
	_, _, page := a.post(req)
	a.apply(page)
	for i := 0; page.HasMore; i++ {
		if i > 100 {
			t.Fatal("backfill does not end")
		}
		// Others keep writing in both regions while the backfill runs.
		c.sync(
			c.create(kMember, member("10", fmt.Sprintf("Pendant le rattrapage %d", i))),
			c.edit(kMember, m09[i%len(m09)].ID, map[string]any{"notes": fmt.Sprintf("Note %d", i)}),
			c.edit(kMember, m10[i%len(m10)].ID, map[string]any{"notes": fmt.Sprintf("Nord %d", i)}),
		)
		noRejections(t, c)
		if page.Backfill != nil && page.Cursor != before {
			t.Fatalf("cursor moved from %d to %d in the middle of a backfill", before, page.Cursor)
		}
		status, pe, next := a.post(a.request(nil, page.Backfill))
		if status != http.StatusOK {
			t.Fatalf("backfill page: %d %s", status, pe.Message)
		}
		a.apply(next)
		page = next
	}
	a.sync()
	a.assertMirrors()
	if d := e.deviceState(a.id); !slices.Equal(d.Delivered, []string{"09", "10"}) || len(d.Pending) != 0 {
		t.Errorf("device state after the backfill: delivered %v, pending %v", d.Delivered, d.Pending)
	}

	// A device that forgets where its backfill stood starts it again and
	// still ends complete.
	e.seedRegion("11", 6, ana.ID)
	if _, err := e.srv.SetRegions(e.ctx, "ana@example.org", []string{"09", "10", "11"}); err != nil {
		t.Fatal(err)
	}
	_, _, first := a.post(a.request(nil, nil))
	if first.Backfill == nil {
		t.Fatalf("no backfill for region 11: %+v", first)
	}
	a.apply(first)
	a.sync() // without the backfill position
	a.sync()
	a.assertMirrors()
}

func testMemberMoved(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("ben@example.org", "03")
	e.coordinator("central@example.org")
	m := e.seedRegion("09", 1, ana.ID)[0]
	a, b, c := e.device("ana@example.org"), e.device("ben@example.org"), e.device("central@example.org")
	a.sync()
	b.sync()
	c.sync()
	var children []string
	for k, r := range a.replica {
		if str(r.fields["member_id"]) == m.ID {
			children = append(children, k)
		}
	}
	if len(children) != 2 {
		t.Fatalf("the member's visit and follow-up: %v", children)
	}

	c.sync(c.edit(kMember, m.ID, map[string]any{"region": "03"}))
	noRejections(t, c)
	removed := map[string]bool{}
	for _, r := range a.sync() {
		for _, ch := range r.Changes {
			if ch.Removed {
				removed[key(ch.Kind, ch.ID)] = true
			}
		}
	}
	for _, k := range append(children, key(kMember, m.ID)) {
		if !removed[k] {
			t.Errorf("%s not delivered as removed", k)
		}
		if _, ok := a.replica[k]; ok {
			t.Errorf("%s still on the device of the old region", k)
		}
	}
	b.sync()
	if !b.has(kMember, m.ID) || b.field(kMember, m.ID, "region") != "03" {
		t.Error("the member did not reach the new region's device")
	}
	for _, k := range children {
		if _, ok := b.replica[k]; !ok {
			t.Errorf("%s did not follow its member", k)
		}
	}
	a.assertMirrors()
	b.assertMirrors()
	c.sync()
	c.assertMirrors()

	// Ana's own visit is out of her reach now.
	var visitID string
	for _, k := range children {
		if r := b.replica[k]; str(r.fields["coordinator_id"]) == ana.ID {
			visitID = str(r.fields["id"])
		}
	}
	a.sync(a.edit(kVisit, visitID, map[string]any{"notes": "Encore moi"}))
	if len(a.lastRej) != 1 || a.lastRej[0].Code != protocol.RejectForbidden {
		t.Errorf("edit of a visit whose member moved away: %+v", a.lastRej)
	}

	// Back home: it comes back to ana and leaves ben.
	c.sync(c.edit(kMember, m.ID, map[string]any{"region": "09"}))
	a.sync()
	b.sync()
	if !a.has(kMember, m.ID) || !a.has(kVisit, visitID) || b.has(kMember, m.ID) {
		t.Error("moving the member back did not move it between devices")
	}
	a.assertMirrors()
	b.assertMirrors()
}

func testRegionDropped(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09", "10")
	m09 := e.seedRegion("09", 2, ana.ID)
	e.seedRegion("10", 2, ana.ID)
	a := e.device("ana@example.org")
	a.sync()
	if !a.has(kMember, m09[0].ID) {
		t.Fatal("region 09 not delivered")
	}
	if _, err := e.srv.SetRegions(e.ctx, "ana@example.org", []string{"10"}); err != nil {
		t.Fatal(err)
	}
	_, _, lost := a.post(a.request(nil, nil))
	if !slices.Equal(lost.DroppedRegions, []string{"09"}) {
		t.Fatalf("dropped_regions = %v, want [09]", lost.DroppedRegions)
	}
	resps := a.sync() // the first answer was lost: it must be said again
	if !slices.Equal(resps[0].DroppedRegions, []string{"09"}) {
		t.Errorf("dropped_regions not repeated after a lost answer: %v", resps[0].DroppedRegions)
	}
	if a.has(kMember, m09[0].ID) {
		t.Error("records of the dropped region still on the device")
	}
	a.assertMirrors()
	for _, r := range a.sync() {
		if len(r.DroppedRegions) > 0 {
			t.Errorf("dropped_regions repeated after the device acknowledged it: %v", r.DroppedRegions)
		}
	}
	if _, err := e.srv.SetRegions(e.ctx, "ana@example.org", []string{"09", "10"}); err != nil {
		t.Fatal(err)
	}
	a.sync()
	if !a.has(kMember, m09[0].ID) {
		t.Error("region 09 not delivered again once granted again")
	}
	a.assertMirrors()
}

func testMoveOutOfScope(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	ana := e.coordinator("ana@example.org", "09")
	e.coordinator("ben@example.org", "06")
	m := e.seedRegion("09", 1, ana.ID)[0]
	a, b := e.device("ana@example.org"), e.device("ben@example.org")
	a.sync()
	b.sync()
	a.sync(
		a.edit(kMember, m.ID, map[string]any{"region": "06"}),
		a.edit(kMember, m.ID, map[string]any{"notes": "Toujours sur la Côte-Nord"}),
	)
	if len(a.lastRej) != 1 || a.lastRej[0].Seq != 1 || a.lastRej[0].Code != protocol.RejectForbidden {
		t.Fatalf("moving a member out of the coordinator's regions: rejections %s, want seq 1 forbidden", jsonOf(a.lastRej))
	}
	r, _ := e.record(kMember, m.ID)
	if r.Region != "09" || str(r.Fields["region"]) != "09" {
		t.Errorf("member now in region %q (field %q), want 09", r.Region, str(r.Fields["region"]))
	}
	if str(r.Fields["notes"]) != "Toujours sur la Côte-Nord" {
		t.Errorf("the edit after the refused move was not applied: notes %q", str(r.Fields["notes"]))
	}
	b.sync()
	if b.has(kMember, m.ID) {
		t.Error("the member reached the other region's coordinator")
	}
	a.assertMirrors()
	b.assertMirrors()
}
