package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// These tests call the backend directly: they pin down the storage
// semantics the service relies on, so a new backend learns what is wrong at
// the lowest level first.

func openBare(t *testing.T, open func(*testing.T) central.Backend) central.Backend {
	b := open(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close backend: %v", err)
		}
	})
	return b
}

func rec(kind domain.Kind, id, region, parent string, seq uint64) central.Record {
	return central.Record{
		Kind: kind, ID: id, Region: region, Parent: parent, Seq: seq,
		Fields: map[string]json.RawMessage{
			"id":   json.RawMessage(`"` + id + `"`),
			"name": json.RawMessage(`"Coopérative de l'Île <b> & \"Cie\""`),
		},
		Versions: map[string]protocol.FieldVersion{
			"name": {HLC: hlc.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli(), 7), Seq: seq, Device: "d1"},
		},
	}
}

func update(t *testing.T, b central.Backend, fn func(central.Tx) error) {
	t.Helper()
	if err := b.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, b central.Backend, fn func(central.ReadTx) error) {
	t.Helper()
	if err := b.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func testTransactions(t *testing.T, open func(*testing.T) central.Backend) {
	b := openBare(t, open)
	ctx := context.Background()
	id1, id2 := domain.NewID(), domain.NewID()

	view(t, b, func(tx central.ReadTx) error {
		if h, err := tx.Head(); err != nil || h != 0 {
			t.Errorf("empty backend: head %d, %v", h, err)
		}
		if _, err := tx.Meta("epoch"); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("Meta on empty backend: %v, want ErrNotFound", err)
		}
		if _, err := tx.Record(domain.KindMember, id1); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("Record on empty backend: %v, want ErrNotFound", err)
		}
		if _, err := tx.Device(id1); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("Device on empty backend: %v, want ErrNotFound", err)
		}
		if _, err := tx.Coordinator(id1); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("Coordinator on empty backend: %v, want ErrNotFound", err)
		}
		return nil
	})

	// A failing transaction leaves nothing behind, and its numbers are
	// handed out again.
	boom := errors.New("boom")
	err := b.Update(ctx, func(tx central.Tx) error {
		seq, err := tx.NextSeq()
		if err != nil {
			return err
		}
		if err := tx.PutRecord(rec(domain.KindMember, id1, "09", "", seq)); err != nil {
			return err
		}
		if err := tx.SetMeta("k", "v"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the callback's error", err)
	}
	view(t, b, func(tx central.ReadTx) error {
		if h, _ := tx.Head(); h != 0 {
			t.Errorf("head after rollback = %d, want 0", h)
		}
		if _, err := tx.Record(domain.KindMember, id1); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("record after rollback: %v", err)
		}
		if _, err := tx.Meta("k"); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("meta after rollback: %v", err)
		}
		return nil
	})

	// Numbers run on within and across transactions; a transaction reads
	// its own writes.
	update(t, b, func(tx central.Tx) error {
		s1, err := tx.NextSeq()
		if err != nil {
			return err
		}
		s2, err := tx.NextSeq()
		if err != nil {
			return err
		}
		if s1 != 1 || s2 != 2 {
			t.Errorf("NextSeq gave %d, %d; want 1, 2", s1, s2)
		}
		if h, _ := tx.Head(); h != 2 {
			t.Errorf("Head inside the transaction = %d, want 2", h)
		}
		if err := tx.PutRecord(rec(domain.KindMember, id1, "09", "", s1)); err != nil {
			return err
		}
		if err := tx.PutRecord(rec(domain.KindMember, id2, "10", "", s2)); err != nil {
			return err
		}
		if r, err := tx.Record(domain.KindMember, id2); err != nil || r.Seq != 2 {
			t.Errorf("own write not visible: %+v, %v", r, err)
		}
		return tx.SetMeta("epoch", "e1")
	})
	update(t, b, func(tx central.Tx) error {
		s, err := tx.NextSeq()
		if err == nil && s != 3 {
			t.Errorf("NextSeq in the next transaction = %d, want 3", s)
		}
		return err
	})
	view(t, b, func(tx central.ReadTx) error {
		if h, _ := tx.Head(); h != 3 {
			t.Errorf("head = %d, want 3", h)
		}
		if v, err := tx.Meta("epoch"); err != nil || v != "e1" {
			t.Errorf("meta = %q, %v", v, err)
		}
		got, err := tx.Record(domain.KindMember, id1)
		if err != nil {
			return err
		}
		want := rec(domain.KindMember, id1, "09", "", 1)
		if got.Region != "09" || got.Seq != 1 || got.Deleted || !sameFields(got.Fields, want.Fields) ||
			got.Versions["name"] != want.Versions["name"] {
			t.Errorf("record read back as %+v, want %+v", got, want)
		}
		return nil
	})

	// A cancelled context commits nothing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = b.Update(cancelled, func(tx central.Tx) error {
		_, err := tx.NextSeq()
		return err
	})
	if err == nil {
		t.Error("Update with a cancelled context succeeded")
	}
	view(t, b, func(tx central.ReadTx) error {
		if h, _ := tx.Head(); h != 3 {
			t.Errorf("head after cancelled update = %d, want 3", h)
		}
		return nil
	})

	// A reader's snapshot holds still while a writer commits.
	view(t, b, func(tx central.ReadTx) error {
		h1, err := tx.Head()
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.Update(ctx, func(tx central.Tx) error {
				seq, err := tx.NextSeq()
				if err != nil {
					return err
				}
				return tx.PutRecord(rec(domain.KindMember, domain.NewID(), "09", "", seq))
			})
			if err != nil {
				t.Errorf("concurrent update: %v", err)
			}
		}()
		wg.Wait()
		h2, err := tx.Head()
		if err != nil {
			return err
		}
		if h1 != h2 {
			t.Errorf("head moved from %d to %d inside one View", h1, h2)
		}
		entries, err := tx.Changes(central.FeedQuery{After: 0, Through: h1 + 10, Regions: []string{"09", "10"}})
		if err != nil {
			return err
		}
		for _, en := range entries {
			if en.Seq() > h1 {
				t.Errorf("View sees seq %d committed after its snapshot (head %d)", en.Seq(), h1)
			}
		}
		return nil
	})
}

func testRecordsByID(t *testing.T, open func(*testing.T) central.Backend) {
	b := openBare(t, open)
	a, gone, absent := domain.NewID(), domain.NewID(), domain.NewID()
	check := func(where string, tx central.ReadTx, wantSeqA uint64) {
		t.Helper()
		got, err := tx.RecordsByID(domain.KindMember, []string{a, absent, gone, a})
		if err != nil {
			t.Fatalf("%s: RecordsByID: %v", where, err)
		}
		byID := map[string]central.Record{}
		for _, r := range got {
			if _, twice := byID[r.ID]; twice {
				t.Errorf("%s: %s returned twice", where, r.ID)
			}
			byID[r.ID] = r
		}
		if len(got) != 2 || byID[a].Seq != wantSeqA || !sameFields(byID[a].Fields, rec(domain.KindMember, a, "09", "", 0).Fields) ||
			!byID[gone].Deleted {
			t.Errorf("%s: RecordsByID = %+v, want %s at seq %d and the tombstone %s", where, got, a, wantSeqA, gone)
		}
		if other, err := tx.RecordsByID(domain.KindVisit, []string{a, gone}); err != nil || len(other) != 0 {
			t.Errorf("%s: visits with member ids = %+v, %v; want none", where, other, err)
		}
		if none, err := tx.RecordsByID(domain.KindMember, nil); err != nil || len(none) != 0 {
			t.Errorf("%s: no ids = %+v, %v; want none", where, none, err)
		}
	}
	// Inside the writing transaction, reads see the writes, however a
	// backend holds them back.
	update(t, b, func(tx central.Tx) error {
		for _, r := range []central.Record{rec(domain.KindMember, a, "09", "", 1), rec(domain.KindMember, gone, "09", "", 2)} {
			if _, err := tx.NextSeq(); err != nil {
				return err
			}
			if r.ID == gone {
				r.Deleted = true
			}
			if err := tx.PutRecord(r); err != nil {
				return err
			}
		}
		check("own writes", tx, 1)
		seq, err := tx.NextSeq()
		if err != nil {
			return err
		}
		if err := tx.PutRecord(rec(domain.KindMember, a, "09", "", seq)); err != nil {
			return err
		}
		check("rewritten", tx, 3)
		return nil
	})
	view(t, b, func(tx central.ReadTx) error {
		check("committed", tx, 3)
		return nil
	})
}

func testFeed(t *testing.T, open func(*testing.T) central.Backend) {
	b := openBare(t, open)
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = domain.NewID()
	}
	// seq 1: member 09, 2: member 10, 3: service (global), 4: visit 09,
	// 5: exit 09, 6: member 09.
	update(t, b, func(tx central.Tx) error {
		for _, r := range []central.Record{
			rec(domain.KindMember, ids[0], "09", "", 1),
			rec(domain.KindMember, ids[1], "10", "", 2),
			rec(domain.KindService, "hr", "", "", 3),
			rec(domain.KindVisit, ids[3], "09", ids[0], 4),
		} {
			if _, err := tx.NextSeq(); err != nil {
				return err
			}
			if err := tx.PutRecord(r); err != nil {
				return err
			}
		}
		if _, err := tx.NextSeq(); err != nil {
			return err
		}
		if err := tx.PutExit(central.Exit{Seq: 5, Region: "09", Kind: domain.KindMember, ID: ids[4]}); err != nil {
			return err
		}
		if _, err := tx.NextSeq(); err != nil {
			return err
		}
		return tx.PutRecord(rec(domain.KindMember, ids[5], "09", "", 6))
	})
	seqs := func(entries []central.Entry) []uint64 {
		var out []uint64
		for _, e := range entries {
			out = append(out, e.Seq())
		}
		return out
	}
	check := func(q central.FeedQuery, want []uint64) {
		t.Helper()
		view(t, b, func(tx central.ReadTx) error {
			got, err := tx.Changes(q)
			if err != nil {
				return err
			}
			if !slices.Equal(seqs(got), want) {
				t.Errorf("Changes(%+v) = %v, want %v", q, seqs(got), want)
			}
			unlimited := q
			unlimited.Limit = 0
			all, err := tx.Changes(unlimited)
			if err != nil {
				return err
			}
			n, err := tx.CountChanges(q)
			if err != nil {
				return err
			}
			if n != len(all) {
				t.Errorf("CountChanges(%+v) = %d, want %d", q, n, len(all))
			}
			return nil
		})
	}
	check(central.FeedQuery{After: 0, Through: 6, Regions: []string{"09"}}, []uint64{1, 4, 5, 6})
	check(central.FeedQuery{After: 0, Through: 6, Regions: []string{"09", ""}}, []uint64{1, 3, 4, 5, 6})
	check(central.FeedQuery{After: 1, Through: 5, Regions: []string{"09", "10"}}, []uint64{2, 4, 5})
	check(central.FeedQuery{After: 0, Through: 6, Regions: []string{"09", "10", ""}, Limit: 3}, []uint64{1, 2, 3})
	check(central.FeedQuery{After: 6, Through: 6, Regions: []string{"09"}}, nil)
	check(central.FeedQuery{After: 0, Through: 6, Regions: []string{"11"}}, nil)

	view(t, b, func(tx central.ReadTx) error {
		got, err := tx.Changes(central.FeedQuery{After: 3, Through: 5, Regions: []string{"09"}})
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].Record == nil || got[1].Exit == nil {
			t.Fatalf("want a record then an exit, got %+v", got)
		}
		if r := got[0].Record; r.Kind != domain.KindVisit || r.ID != ids[3] || r.Parent != ids[0] || !sameFields(r.Fields, rec("", ids[3], "", "", 0).Fields) {
			t.Errorf("record entry = %+v", r)
		}
		if x := *got[1].Exit; x != (central.Exit{Seq: 5, Region: "09", Kind: domain.KindMember, ID: ids[4]}) {
			t.Errorf("exit entry = %+v", x)
		}
		return nil
	})

	// A record written again leaves its old place in the feed.
	update(t, b, func(tx central.Tx) error {
		seq, err := tx.NextSeq()
		if err != nil {
			return err
		}
		r := rec(domain.KindMember, ids[0], "10", "", seq)
		r.Deleted = true
		return tx.PutRecord(r)
	})
	check(central.FeedQuery{After: 0, Through: 7, Regions: []string{"09"}}, []uint64{4, 5, 6})
	check(central.FeedQuery{After: 0, Through: 7, Regions: []string{"10"}}, []uint64{2, 7})
	view(t, b, func(tx central.ReadTx) error {
		got, err := tx.Changes(central.FeedQuery{After: 6, Through: 7, Regions: []string{"10"}})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Record == nil || !got[0].Record.Deleted || got[0].Record.Region != "10" {
			t.Errorf("rewritten record in the feed = %+v", got)
		}
		return nil
	})
}

func testIndexes(t *testing.T, open func(*testing.T) central.Backend) {
	b := openBare(t, open)
	m1, m2, v := domain.NewID(), domain.NewID(), domain.NewID()

	// Children follow Parent.
	update(t, b, func(tx central.Tx) error {
		for i := 0; i < 3; i++ {
			if _, err := tx.NextSeq(); err != nil {
				return err
			}
		}
		if err := tx.PutRecord(rec(domain.KindMember, m1, "09", "", 1)); err != nil {
			return err
		}
		if err := tx.PutRecord(rec(domain.KindMember, m2, "09", "", 2)); err != nil {
			return err
		}
		return tx.PutRecord(rec(domain.KindVisit, v, "09", m1, 3))
	})
	children := func(member string) []string {
		var out []string
		view(t, b, func(tx central.ReadTx) error {
			cs, err := tx.Children(member)
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return err
		})
		return out
	}
	if got := children(m1); !slices.Equal(got, []string{v}) {
		t.Errorf("Children(m1) = %v, want [v]", got)
	}
	update(t, b, func(tx central.Tx) error {
		seq, err := tx.NextSeq()
		if err != nil {
			return err
		}
		return tx.PutRecord(rec(domain.KindVisit, v, "09", m2, seq))
	})
	if got := children(m1); len(got) != 0 {
		t.Errorf("Children(m1) after re-parenting = %v, want none", got)
	}
	if got := children(m2); !slices.Equal(got, []string{v}) {
		t.Errorf("Children(m2) = %v, want [v]", got)
	}

	// Records walk in id order.
	view(t, b, func(tx central.ReadTx) error {
		var got []string
		err := tx.Records(domain.KindMember, func(r central.Record) error {
			got = append(got, r.ID)
			return nil
		})
		want := []string{m1, m2}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Records = %v, want %v", got, want)
		}
		stop := errors.New("stop")
		if err := tx.Records(domain.KindMember, func(central.Record) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("Records did not return fn's error: %v", err)
		}
		return err
	})

	// The token index follows the device.
	d1, d2 := domain.NewID(), domain.NewID()
	h1, h2 := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	dev := central.Device{ID: d1, CoordinatorID: m1, Name: "Portable", TokenHash: h1, LastSeq: 4,
		Delivered: []string{"09"}, Pending: []string{"10"}, PendingThrough: 9, Dropped: []string{"11"}, DroppedThrough: 8,
		CreatedAt: now, SignedInAt: now, AppVersion: "0.2.0-3-gabc1234"}
	update(t, b, func(tx central.Tx) error {
		if err := tx.PutDevice(dev); err != nil {
			return err
		}
		return tx.PutDevice(central.Device{ID: d2, CoordinatorID: m1, CreatedAt: now})
	})
	view(t, b, func(tx central.ReadTx) error {
		got, err := tx.DeviceByToken(h1)
		if err != nil {
			return err
		}
		if !got.CreatedAt.Equal(now) || !got.SignedInAt.Equal(now) {
			t.Errorf("device times = %v, %v; want %v", got.CreatedAt, got.SignedInAt, now)
		}
		got.CreatedAt, got.SignedInAt = dev.CreatedAt, dev.SignedInAt
		if jsonOf(got) != jsonOf(dev) {
			t.Errorf("device read back as %s, want %s", jsonOf(got), jsonOf(dev))
		}
		var all []string
		err = tx.Devices(func(d central.Device) error {
			all = append(all, d.ID)
			return nil
		})
		want := []string{d1, d2}
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Errorf("Devices = %v, want %v", all, want)
		}
		return err
	})
	dev.TokenHash = h2
	update(t, b, func(tx central.Tx) error { return tx.PutDevice(dev) })
	view(t, b, func(tx central.ReadTx) error {
		if _, err := tx.DeviceByToken(h1); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("old token still finds the device: %v", err)
		}
		if d, err := tx.DeviceByToken(h2); err != nil || d.ID != d1 {
			t.Errorf("new token: %+v, %v", d, err)
		}
		return nil
	})
	dev.TokenHash = nil
	update(t, b, func(tx central.Tx) error { return tx.PutDevice(dev) })
	view(t, b, func(tx central.ReadTx) error {
		if _, err := tx.DeviceByToken(h2); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("revoked token still finds the device: %v", err)
		}
		return nil
	})

	// Rejections.
	rej := protocol.Rejection{Seq: 3, Kind: domain.KindMember, ID: m1, Code: protocol.RejectInvalid, Message: "bad",
		Fields: []domain.FieldError{{Field: "name", Code: domain.CodeTooLong, Max: 200}}}
	update(t, b, func(tx central.Tx) error { return tx.PutRejection(d1, rej) })
	view(t, b, func(tx central.ReadTx) error {
		got, err := tx.Rejection(d1, 3)
		if err != nil || jsonOf(got) != jsonOf(rej) {
			t.Errorf("rejection = %+v, %v", got, err)
		}
		if _, err := tx.Rejection(d1, 4); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("missing rejection: %v", err)
		}
		if _, err := tx.Rejection(d2, 3); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("another device's rejection: %v", err)
		}
		return nil
	})

	// Coordinators: unique e-mails, an e-mail freed by a change.
	c1 := central.Coordinator{Coordinator: domain.Coordinator{ID: domain.NewID(), Name: "Un", Email: "b@example.org", Regions: []string{"09"}},
		Role: protocol.RoleCoordinator, PasswordHash: "$argon2id$x"}
	c2 := central.Coordinator{Coordinator: domain.Coordinator{ID: domain.NewID(), Name: "Deux", Email: "b@example.org", Regions: []string{"10"}},
		Role: protocol.RoleAdmin}
	update(t, b, func(tx central.Tx) error { return tx.PutCoordinator(c1) })
	err := b.Update(context.Background(), func(tx central.Tx) error { return tx.PutCoordinator(c2) })
	if !errors.Is(err, central.ErrDuplicateEmail) {
		t.Errorf("second coordinator with the same e-mail: %v, want ErrDuplicateEmail", err)
	}
	c1.Email = "z@example.org"
	update(t, b, func(tx central.Tx) error { return tx.PutCoordinator(c1) })
	update(t, b, func(tx central.Tx) error { return tx.PutCoordinator(c2) })
	view(t, b, func(tx central.ReadTx) error {
		if c, err := tx.CoordinatorByEmail("b@example.org"); err != nil || c.ID != c2.ID {
			t.Errorf("by e-mail b: %+v, %v", c, err)
		}
		got, err := tx.CoordinatorByEmail("z@example.org")
		if err != nil || jsonOf(got) != jsonOf(c1) {
			t.Errorf("by e-mail z: %s, %v; want %s", jsonOf(got), err, jsonOf(c1))
		}
		all, err := tx.Coordinators()
		if err != nil || len(all) != 2 || all[0].Email != "b@example.org" || all[1].Email != "z@example.org" {
			t.Errorf("Coordinators = %+v, %v", all, err)
		}
		return nil
	})

	// Failure counters; the zero value deletes.
	f := central.Failures{Count: 3, Last: now}
	update(t, b, func(tx central.Tx) error { return tx.PutFailures("email:b@example.org", f) })
	view(t, b, func(tx central.ReadTx) error {
		got, err := tx.Failures("email:b@example.org")
		if err != nil || got.Count != 3 || !got.Last.Equal(now) {
			t.Errorf("failures = %+v, %v", got, err)
		}
		if got, err := tx.Failures("addr:127.0.0.1"); err != nil || got != (central.Failures{}) {
			t.Errorf("absent failures = %+v, %v", got, err)
		}
		return nil
	})
	update(t, b, func(tx central.Tx) error { return tx.PutFailures("email:b@example.org", central.Failures{}) })
	view(t, b, func(tx central.ReadTx) error {
		if got, err := tx.Failures("email:b@example.org"); err != nil || got.Count != 0 {
			t.Errorf("cleared failures = %+v, %v", got, err)
		}
		return nil
	})
}
