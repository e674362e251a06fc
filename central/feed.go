package central

import (
	"encoding/json"
	"errors"
	"slices"

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
func (s *Server) page(tx ReadTx, d Device, cursor uint64, bf *protocol.Backfill) (wireResponse, error) {
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
	}
	if d.DroppedThrough > 0 && cursor < d.DroppedThrough {
		resp.DroppedRegions = d.Dropped
	}
	held := append(slices.Clone(d.Delivered), "")
	all := append(slices.Clone(held), d.Pending...)
	keep := newRegionSet(all)
	limit := s.pageLimit

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
		last, more, err := s.fill(tx, &resp, mergeEntries(pending, ongoing), keep)
		if err != nil {
			return wireResponse{}, err
		}
		if more {
			resp.Cursor, resp.HasMore = cursor, true
			resp.Backfill = &protocol.Backfill{Through: through, After: last}
			resp.Remaining, err = countAll(tx,
				FeedQuery{After: last, Through: through, Regions: d.Pending},
				FeedQuery{After: max(cursor, last), Through: through, Regions: held},
				FeedQuery{After: through, Through: head, Regions: all})
			return resp, err
		}
		resp.Cursor, resp.HasMore = through, head > through
		resp.Remaining, err = countAll(tx, FeedQuery{After: through, Through: head, Regions: all})
		return resp, err
	}

	entries, err := tx.Changes(FeedQuery{After: cursor, Through: head, Regions: all, Limit: limit + 1})
	if err != nil {
		return wireResponse{}, err
	}
	last, more, err := s.fill(tx, &resp, entries, keep)
	if err != nil {
		return wireResponse{}, err
	}
	if !more {
		resp.Cursor = head
		return resp, nil
	}
	resp.Cursor, resp.HasMore = last, true
	resp.Remaining, err = countAll(tx, FeedQuery{After: last, Through: head, Regions: all})
	return resp, err
}

// fill encodes entries into resp until the page is full, by count or by
// bytes (at least one entry always goes in). It returns the sequence of the
// last entry consumed and whether entries remain. An exit is skipped when
// the record now lives in a region the device keeps: the device receives
// the record itself instead.
func (s *Server) fill(tx ReadTx, resp *wireResponse, entries []Entry, keep regionSet) (last uint64, more bool, err error) {
	size := 0
	for i, e := range entries {
		if i == s.pageLimit {
			return last, true, nil
		}
		var ch protocol.Change
		switch {
		case e.Exit != nil:
			rec, err := tx.Record(e.Exit.Kind, e.Exit.ID)
			if err == nil && keep[rec.Region] {
				last = e.Exit.Seq
				continue
			} else if err != nil && !errors.Is(err, ErrNotFound) {
				return 0, false, err
			}
			ch = protocol.Change{Seq: e.Exit.Seq, Kind: e.Exit.Kind, ID: e.Exit.ID, Removed: true}
		case e.Record.Deleted:
			ch = protocol.Change{Seq: e.Record.Seq, Kind: e.Record.Kind, ID: e.Record.ID, Delete: true}
		default:
			r := e.Record
			ch = protocol.Change{Seq: r.Seq, Kind: r.Kind, ID: r.ID, Fields: r.Fields, Versions: r.Versions}
		}
		b, err := json.Marshal(ch)
		if err != nil {
			return 0, false, err
		}
		if len(resp.Changes) > 0 && size+len(b) > s.pageBytes {
			return last, true, nil
		}
		size += len(b) + 1
		resp.Changes = append(resp.Changes, b)
		last = e.Seq()
	}
	return last, false, nil
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
