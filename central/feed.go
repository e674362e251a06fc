package central

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// page reads one page of the change feed for device d, whose stored cursor
// is cursor.
//
// Normally the page holds the entries after cursor in the regions the device
// holds (and the records every device receives). While regions are pending
// (gained, not yet delivered), the page holds instead the entries up to the
// marker PendingThrough: those of the pending regions from the start, and
// those of the held regions after cursor, merged in sequence order. The
// device's cursor does not move until the last backfill page, which sets it
// to the marker; the position within the backfill travels in
// protocol.Backfill and is only kept in the device's memory, so a device
// that loses it starts the backfill again and never misses a record.
func (s *Server) page(tx ReadTx, d Device, cursor uint64, bf *protocol.Backfill, opt pageOptions) (wireResponse, error) {
	head, err := tx.Head()
	if err != nil {
		return wireResponse{}, err
	}
	cursor = min(cursor, head)
	resp := wireResponse{
		AckedThrough: d.LastSeq,
		Rejected:     []protocol.Rejection{},
		Changes:      []json.RawMessage{},
		Epoch:        s.Epoch(),
		head:         head,
	}
	if d.DroppedThrough > 0 && cursor < d.DroppedThrough {
		resp.DroppedRegions = d.Dropped
	}
	held := append(slices.Clone(d.Delivered), "")
	all := append(slices.Clone(held), d.Pending...)
	keep := newRegionSet(all)
	limit := opt.count(s)

	if len(d.Pending) > 0 && cursor < d.PendingThrough {
		through := d.PendingThrough
		var after uint64
		if bf != nil && bf.Through == through && bf.After < through {
			after = bf.After
		}
		pending, err := tx.Changes(FeedQuery{After: after, Through: through, Regions: d.Pending, Limit: limit + 1})
		if err != nil {
			return wireResponse{}, err
		}
		ongoing, err := tx.Changes(FeedQuery{After: max(cursor, after), Through: through, Regions: held, Limit: limit + 1})
		if err != nil {
			return wireResponse{}, err
		}
		last, consumed, more, err := s.fill(tx, &resp, mergeEntries(pending, ongoing), keep, opt)
		if err != nil {
			return wireResponse{}, err
		}
		if more {
			resp.Cursor, resp.HasMore = cursor, true
			resp.Backfill = &protocol.Backfill{Through: through, After: last}
			resp.Remaining, err = opt.remaining(tx, head, consumed,
				FeedQuery{After: last, Through: through, Regions: d.Pending},
				FeedQuery{After: max(cursor, last), Through: through, Regions: held},
				FeedQuery{After: through, Through: head, Regions: all})
			return resp, err
		}
		resp.Cursor, resp.HasMore = through, head > through
		resp.Remaining, err = opt.remaining(tx, head, consumed, FeedQuery{After: through, Through: head, Regions: all})
		return resp, err
	}

	entries, err := tx.Changes(FeedQuery{After: cursor, Through: head, Regions: all, Limit: limit + 1})
	if err != nil {
		return wireResponse{}, err
	}
	last, consumed, more, err := s.fill(tx, &resp, entries, keep, opt)
	if err != nil {
		return wireResponse{}, err
	}
	if !more {
		resp.Cursor = head
		return resp, nil
	}
	resp.Cursor, resp.HasMore = last, true
	resp.Remaining, err = opt.remaining(tx, head, consumed, FeedQuery{After: last, Through: head, Regions: all})
	return resp, err
}

// fill encodes entries into resp until the page is full, by count or by
// bytes (at least one entry always goes in). It returns the sequence of the
// last entry consumed, how many were consumed and whether entries remain.
// An exit is skipped (yet consumed) when the record now lives in a region
// the device keeps: the device receives the record itself instead.
func (s *Server) fill(tx ReadTx, resp *wireResponse, entries []Entry, keep regionSet, opt pageOptions) (last uint64, consumed int, more bool, err error) {
	size := 0
	for i, e := range entries {
		if i == opt.count(s) {
			return last, i, true, nil
		}
		var ch protocol.Change
		switch {
		case e.Exit != nil:
			rec, err := tx.Record(e.Exit.Kind, e.Exit.ID)
			if err == nil && keep[rec.Region] {
				last = e.Exit.Seq
				continue
			} else if err != nil && !errors.Is(err, ErrNotFound) {
				return 0, 0, false, err
			}
			ch = protocol.Change{Seq: e.Exit.Seq, Kind: e.Exit.Kind, ID: e.Exit.ID, Removed: true}
		case e.Record.Deleted:
			ch = protocol.Change{Seq: e.Record.Seq, Kind: e.Record.Kind, ID: e.Record.ID, Delete: true, Erased: bare(*e.Record)}
		default:
			ch = opt.change(e.Record)
		}
		b := ch.AppendJSON(nil)
		if len(resp.Changes) > 0 && size+len(b) > opt.bytes(s) {
			return last, i, true, nil
		}
		size += len(b) + 1
		resp.Changes = append(resp.Changes, b)
		last = e.Seq()
	}
	return last, len(entries), false, nil
}

// mergeEntries merges two seq-ordered entry lists (from disjoint regions).
func mergeEntries(a, b []Entry) []Entry {
	out := make([]Entry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Seq() <= b[0].Seq() {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

func countAll(tx ReadTx, qs ...FeedQuery) (int, error) {
	total := 0
	for _, q := range qs {
		if q.Through <= q.After {
			continue
		}
		n, err := tx.CountChanges(q)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// pageOptions say how the changes of one answer are written.
type pageOptions struct {
	// compact: the device asked for protocol.FeatureCompact.
	compact bool
	device  string
	// own is, per record, the last mutation of the request (deletes
	// aside).
	own map[recordRef]*protocol.Mutation
	// after is the page this one follows, when it is built ahead.
	after *pagePosition
	// maxBytes and maxCount bound the page when its share of the memory
	// budget is less than a full page's; the server's bounds when 0.
	maxBytes, maxCount int
	// share, when set, is the page's share of the memory budget, granted
	// when the page is read (admission.go).
	share *pageShare
}

func (o pageOptions) bytes(s *Server) int {
	if o.maxBytes > 0 {
		return min(o.maxBytes, s.pageBytes)
	}
	return s.pageBytes
}

func (o pageOptions) count(s *Server) int {
	if o.maxCount > 0 {
		return min(o.maxCount, s.pageLimit)
	}
	return s.pageLimit
}

// pagePosition is where a page left the feed: the head it was read at and
// how many changes remained after it.
type pagePosition struct {
	head      uint64
	remaining int
}

// remaining is how many changes remain after a page that consumed that
// many feed entries: the count of qs, or, for a page built ahead of a
// request, the previous page's count less what this one consumed when the
// feed has not moved since (counting reads every later entry of the feed,
// again for every page of a first sync).
func (o pageOptions) remaining(tx ReadTx, head uint64, consumed int, qs ...FeedQuery) (int, error) {
	if o.after != nil && o.after.head == head {
		return max(0, o.after.remaining-consumed), nil
	}
	return countAll(tx, qs...)
}

type recordRef struct {
	kind domain.Kind
	id   string
}

// newPageOptions reads what the device asked for.
func newPageOptions(r *http.Request, deviceID string, req protocol.SyncRequest) pageOptions {
	opt := pageOptions{device: deviceID,
		compact: protocol.HasFeature(r.Header.Get(protocol.FeaturesHeader), protocol.FeatureCompact)}
	if !opt.compact {
		return opt
	}
	for i := range req.Mutations {
		m := &req.Mutations[i]
		if m.Delete {
			continue
		}
		if opt.own == nil {
			opt.own = make(map[recordRef]*protocol.Mutation, len(req.Mutations))
		}
		opt.own[recordRef{m.Kind, m.ID}] = m
	}
	return opt
}

// change is a live record as the device asked for it.
func (o pageOptions) change(r *Record) protocol.Change {
	ch := protocol.Change{Seq: r.Seq, Kind: r.Kind, ID: r.ID, Fields: r.Fields, Versions: r.Versions}
	if !o.compact {
		return ch
	}
	fields := r.Fields
	if m := o.own[recordRef{r.Kind, r.ID}]; m != nil && o.storedAsSent(r, m) {
		fields = make(map[string]json.RawMessage, len(r.Fields))
		for name, v := range r.Fields {
			if _, sent := m.Fields[name]; !sent {
				fields[name] = v
			}
		}
		ch.Own = m.Seq
	}
	ch.Fields = fields
	if len(fields) == 0 {
		ch.Fields, ch.Versions = nil, nil
		return ch
	}
	// The most common stamp becomes the default. A field without one (the
	// id) is an exception with the zero stamp, which no write has.
	counts := make(map[protocol.FieldVersion]int, 2)
	var def protocol.FieldVersion
	best := 0
	for name := range fields {
		v := r.Versions[name]
		if v == (protocol.FieldVersion{}) {
			continue
		}
		counts[v]++
		if n := counts[v]; n > best || n == best && laterVersion(v, def) {
			def, best = v, n
		}
	}
	var exceptions map[string]protocol.FieldVersion
	for name := range fields {
		if v := r.Versions[name]; v != def {
			if exceptions == nil {
				exceptions = make(map[string]protocol.FieldVersion)
			}
			exceptions[name] = v
		}
	}
	ch.Versions = exceptions
	if best > 0 {
		ch.Version = &def
	}
	return ch
}

// laterVersion orders stamps, so that the default one does not depend on
// map order.
func laterVersion(a, b protocol.FieldVersion) bool {
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	if a.HLC != b.HLC {
		return a.HLC > b.HLC
	}
	return a.Device > b.Device
}

// storedAsSent reports whether every field of m holds the value m carried,
// stamped by m at the record's seq: the device has all of it already.
func (o pageOptions) storedAsSent(r *Record, m *protocol.Mutation) bool {
	want := protocol.FieldVersion{HLC: m.HLC, Seq: r.Seq, Device: o.device}
	for name, sent := range m.Fields {
		cur, ok := r.Fields[name]
		if !ok || r.Versions[name] != want || !bytes.Equal(cur, sent) && !protocol.SameJSON(cur, sent) {
			return false
		}
	}
	return true
}
