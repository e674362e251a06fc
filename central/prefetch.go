package central

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"leconsortium.coop/terrain/sync/protocol"
)

// A device pulling several pages (a first sync) waits, for every page, for
// the server to read and encode it, while the server waits for the device
// to store the previous one and ask. So when an answer says has_more, the
// server builds the next page at once, in the background, and keeps it for
// the request that comes for it: same device, cursor, epoch, backfill and
// form, no mutations. It is served only if nothing it depends on changed
// in between: the feed's head (any write to a record, by anyone), the
// device's sync state and scope. The device then gets exactly what it
// would have got had it asked a moment earlier; otherwise the page is
// built again as usual. On a satellite link this hides the server's share
// of every page; on loopback, the server reads page N+1 while the device
// stores page N.

// maxPrefetched bounds the pages kept ahead, all devices together: each is
// up to PageBytes of encoded changes.
const maxPrefetched = 8

// prefetchTTL is how long a page kept ahead waits for its request.
const prefetchTTL = time.Minute

// errNoPrefetch aborts a prefetch that would have to write (the device's
// scope would move): only the request itself may.
var errNoPrefetch = errors.New("page not built ahead")

// pageRequest is what a page depends on in a request.
type pageRequest struct {
	cursor      uint64
	epoch       string
	backfill    protocol.Backfill
	hasBackfill bool
	compact     bool
}

func requestOf(req protocol.SyncRequest, compact bool) pageRequest {
	p := pageRequest{cursor: req.Cursor, epoch: req.Epoch, compact: compact}
	if req.Backfill != nil {
		p.backfill, p.hasBackfill = *req.Backfill, true
	}
	return p
}

// aheadPage is a page built ahead of its request.
type aheadPage struct {
	req  pageRequest
	at   time.Time
	done chan struct{} // closed once built
	// Set before done is closed.
	dev  Device // the device's state it was built for
	head uint64
	resp wireResponse
	err  error
}

// prefetcher holds the pages built ahead, one per device at most.
type prefetcher struct {
	mu    sync.Mutex
	pages map[string]*aheadPage
	// served counts the pages served ahead, for tests.
	served atomic.Int64
}

// put keeps p for device, unless too many pages are kept already.
func (f *prefetcher) put(device string, p *aheadPage) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pages == nil {
		f.pages = map[string]*aheadPage{}
	}
	for id, old := range f.pages {
		if time.Since(old.at) > prefetchTTL {
			delete(f.pages, id)
		}
	}
	if _, ok := f.pages[device]; !ok && len(f.pages) >= maxPrefetched {
		return false
	}
	f.pages[device] = p
	return true
}

// take removes and returns the page kept for device.
func (f *prefetcher) take(device string) *aheadPage {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pages[device]
	delete(f.pages, device)
	return p
}

// takeAhead returns the page built ahead for this request, if there is one
// and it is still what the request would get.
func (s *Server) takeAhead(ctx context.Context, dev Device, coord Coordinator, req protocol.SyncRequest, opt pageOptions) (wireResponse, bool) {
	p := s.ahead.take(dev.ID)
	if p == nil || len(req.Mutations) > 0 || p.req != requestOf(req, opt.compact) {
		return wireResponse{}, false
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return wireResponse{}, false
	}
	if p.err != nil || !sameSyncState(p.dev, dev) {
		return wireResponse{}, false
	}
	if _, moves, _ := advanceScope(dev, scopeOf(coord), req.Cursor, nil); moves {
		return wireResponse{}, false
	}
	var head uint64
	err := s.backend.View(ctx, func(tx ReadTx) error {
		var err error
		head, err = tx.Head()
		return err
	})
	if err != nil || head != p.head {
		return wireResponse{}, false
	}
	s.ahead.served.Add(1)
	return p.resp, true
}

// buildAhead starts building the page that follows resp, for the request
// the device will send next.
func (s *Server) buildAhead(dev Device, resp wireResponse, opt pageOptions) {
	if !resp.HasMore {
		return
	}
	next := protocol.SyncRequest{ClientID: dev.ID, SchemaVersion: protocol.SchemaVersion,
		Cursor: resp.Cursor, Epoch: resp.Epoch, Backfill: resp.Backfill}
	opt.own = nil
	opt.share = nil
	opt.after = &pagePosition{head: resp.head, remaining: resp.Remaining}
	p := &aheadPage{req: requestOf(next, opt.compact), at: time.Now(), done: make(chan struct{})}
	// A page is built ahead only with a full share of the memory budget,
	// given back once built: kept pages are bounded by maxPrefetched.
	cost := int64(opt.bytes(s)) * pageFactor
	if !s.budget.tryTake(cost) {
		return
	}
	if !s.ahead.put(dev.ID, p) {
		s.budget.give(cost)
		return
	}
	go func() {
		defer s.budget.give(cost)
		defer close(p.done)
		ctx, cancel := context.WithTimeout(context.Background(), prefetchTTL)
		defer cancel()
		p.err = s.backend.View(ctx, func(tx ReadTx) error {
			d, err := tx.Device(dev.ID)
			if err != nil {
				return err
			}
			c, err := tx.Coordinator(d.CoordinatorID)
			if err != nil {
				return err
			}
			if _, moves, _ := advanceScope(d, scopeOf(c), next.Cursor, nil); moves {
				return errNoPrefetch
			}
			head, err := tx.Head()
			if err != nil {
				return err
			}
			if err := checkLostWork(d, next, head); err != nil {
				return err
			}
			p.dev, p.head = d, head
			p.resp, err = s.page(tx, d, next.Cursor, next.Backfill, opt)
			return err
		})
	}()
}

// sameSyncState reports whether two reads of a device agree on everything
// a page depends on.
func sameSyncState(a, b Device) bool {
	return a.ID == b.ID && a.CoordinatorID == b.CoordinatorID && a.LastSeq == b.LastSeq &&
		slices.Equal(a.Delivered, b.Delivered) && slices.Equal(a.Pending, b.Pending) &&
		a.PendingThrough == b.PendingThrough && slices.Equal(a.Dropped, b.Dropped) &&
		a.DroppedThrough == b.DroppedThrough
}
