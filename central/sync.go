package central

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

var (
	errRevoked  = errors.New("device token revoked")
	errDisabled = errors.New("coordinator disabled")
	// errLostWork: the device knows of writes the server does not have, a
	// sign that the server's data was restored from an older backup.
	errLostWork = errors.New("server lost acknowledged work")
	// errCursorAhead: a device that has no epoch yet sent a cursor past
	// the head; served as is, it would wait for ever for records it
	// believes it has.
	errCursorAhead = errors.New("cursor past the head")
)

func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, r, "POST")
		return
	}
	dev, coord, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	data, ok := s.readJSON(w, r, s.maxDecodedBytes)
	if !ok {
		return
	}
	req, err := protocol.DecodeRequest(data)
	if err != nil {
		s.decodeError(w, r, err)
		return
	}
	if req.ClientID != dev.ID {
		writeError(w, r, http.StatusForbidden, protocol.CodeForbidden, "this token was issued to another device")
		return
	}
	if req.Epoch != "" && req.Epoch != s.Epoch() {
		writeError(w, r, http.StatusConflict, protocol.CodeEpochChanged,
			"the server's data was restored; send epoch \"\" and cursor 0 to fetch everything again")
		return
	}
	opt := newPageOptions(r, dev.ID, req)
	opt.share = &pageShare{s: s, ctx: r.Context(), sh: shareOf(r)}
	resp, ahead := s.takeAhead(r.Context(), dev, coord, req, opt)
	if !ahead {
		resp, err = s.sync(r.Context(), dev, coord, req, opt)
	}
	switch {
	case errors.Is(err, errCursorAhead):
		writeError(w, r, http.StatusConflict, protocol.CodeEpochChanged,
			"the cursor is past the server's last change; send epoch \"\" and cursor 0 to fetch everything")
		return
	case errors.Is(err, errBusy):
		s.busy(w, r)
		return
	case errors.Is(err, errLostWork):
		writeError(w, r, http.StatusConflict, protocol.CodeEpochChanged,
			"the server's data was restored from a backup older than this device's last sync; "+
				"send epoch \"\" and cursor 0 to fetch everything again, and push your own changes again")
		return
	case errors.Is(err, errRevoked):
		writeError(w, r, http.StatusUnauthorized, protocol.CodeUnauthorized, "unknown or revoked device token; sign in again")
		return
	case errors.Is(err, errDisabled):
		writeError(w, r, http.StatusForbidden, protocol.CodeDisabled, "this coordinator account is disabled")
		return
	case err != nil:
		s.internalError(w, r, "sync", err)
		return
	}
	s.buildAhead(dev, resp, opt)
	ri := info(r)
	ri.muts, ri.changes = len(req.Mutations), len(resp.Changes)
	if err := writeStream(w, r, resp.writeTo); err != nil {
		// The status is sent: all that is left is to break the answer off,
		// so that the device does not take a truncated page for a whole.
		s.log.Info("sync answer not sent", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// wireResponse is protocol.SyncResponse with the changes already encoded,
// so that a page is measured in bytes while it is built.
type wireResponse struct {
	AckedThrough   uint64               `json:"acked_through"`
	Rejected       []protocol.Rejection `json:"rejected"`
	Changes        []json.RawMessage    `json:"changes"`
	Cursor         uint64               `json:"cursor"`
	HasMore        bool                 `json:"has_more"`
	Epoch          string               `json:"epoch"`
	Remaining      int                  `json:"remaining"`
	DroppedRegions []string             `json:"dropped_regions,omitempty"`
	Backfill       *protocol.Backfill   `json:"backfill,omitempty"`
	// head is the feed head the page was read at (not sent).
	head uint64
}

// size is the encoded size of the page's changes.
func (r wireResponse) size() int {
	n := 0
	for _, c := range r.Changes {
		n += len(c) + 1
	}
	return n
}

// writeTo writes the answer as JSON, one change at a time. The changes are
// already encoded and valid: they are spliced in, not checked and copied
// again as json.Marshal does with a json.RawMessage.
func (r wireResponse) writeTo(w io.Writer) error {
	changes := r.Changes
	r.Changes = nil
	head, err := json.Marshal(r)
	if err != nil {
		return err
	}
	const null = `"changes":null`
	i := bytes.Index(head, []byte(null))
	if i < 0 {
		return errors.New("encode sync answer: no changes member")
	}
	if _, err := w.Write(append(head[:i:i], `"changes":[`...)); err != nil {
		return err
	}
	for k, c := range changes {
		if k > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	_, err = w.Write(append([]byte{']'}, head[i+len(null):]...))
	return err
}

// sync applies a device's mutations and scope changes in one transaction,
// then reads one page of the change feed from a snapshot.
func (s *Server) sync(ctx context.Context, dev Device, coord Coordinator, req protocol.SyncRequest, opt pageOptions) (wireResponse, error) {
	var rejected []protocol.Rejection
	_, scopeMoves, _ := advanceScope(dev, scopeOf(coord), req.Cursor, nil)
	// An app that sends no version (an older one) leaves the last known.
	newVersion := req.AppVersion != "" && req.AppVersion != dev.AppVersion
	if len(req.Mutations) > 0 || scopeMoves || newVersion {
		today := s.today()
		err := s.backend.Update(ctx, func(btx Tx) error {
			tx := newRecordCache(btx)
			rejected = rejected[:0]
			d, err := tx.Device(dev.ID)
			if errors.Is(err, ErrNotFound) {
				return errRevoked
			} else if err != nil {
				return err
			}
			if !bytes.Equal(d.TokenHash, dev.TokenHash) {
				return errRevoked
			}
			c, err := tx.Coordinator(d.CoordinatorID)
			if err != nil {
				return fmt.Errorf("coordinator of device: %w", err)
			}
			if c.Disabled {
				return errDisabled
			}
			head, err := tx.Head()
			if err != nil {
				return err
			}
			if err := checkLostWork(d, req, head); err != nil {
				return err
			}
			a := actorFor(c, d.ID)
			before := d.LastSeq
			if err := primeCache(tx, req.Mutations); err != nil {
				return err
			}
			for _, m := range req.Mutations {
				if m.Seq <= d.LastSeq && !skipIdempotency {
					// Already applied: a retry after a lost reply. Say again
					// what was said the first time.
					if rej, err := tx.Rejection(d.ID, m.Seq); err == nil {
						rejected = append(rejected, rej)
					} else if !errors.Is(err, ErrNotFound) {
						return err
					}
					continue
				}
				rej, err := s.applyMutation(tx, a, m, today)
				if err != nil {
					return fmt.Errorf("mutation %d: %w", m.Seq, err)
				}
				if rej != nil {
					if err := tx.PutRejection(d.ID, *rej); err != nil {
						return err
					}
					rejected = append(rejected, *rej)
				}
				d.LastSeq = m.Seq
			}
			if head, err = tx.Head(); err != nil {
				return err
			}
			next, scopeChanged, err := advanceScope(d, scopeOf(c), min(req.Cursor, head), tx.NextSeq)
			if err != nil {
				return err
			}
			versionChanged := req.AppVersion != "" && req.AppVersion != next.AppVersion
			if versionChanged {
				next.AppVersion = req.AppVersion
			}
			if scopeChanged || d.LastSeq != before || versionChanged {
				return tx.PutDevice(next)
			}
			return nil
		})
		if err != nil {
			return wireResponse{}, err
		}
	}
	if opt.share != nil {
		var err error
		if opt.maxBytes, opt.maxCount, err = opt.share.grant(); err != nil {
			return wireResponse{}, err
		}
	}
	var resp wireResponse
	err := s.backend.View(ctx, func(tx ReadTx) error {
		d, err := tx.Device(dev.ID)
		if err != nil {
			return err
		}
		head, err := tx.Head()
		if err != nil {
			return err
		}
		if err := checkLostWork(d, protocol.SyncRequest{Epoch: req.Epoch, Cursor: req.Cursor}, head); err != nil {
			return err
		}
		resp, err = s.page(tx, d, req.Cursor, req.Backfill, opt)
		return err
	})
	if err != nil {
		return wireResponse{}, err
	}
	if opt.share != nil {
		opt.share.built(resp.size())
	}
	resp.Rejected = append(resp.Rejected, rejected...)
	return resp, nil
}

// primeCache reads in one go per kind the records a request's mutations
// name and the members their visits and follow-ups belong to, instead of
// one read each as the mutations are applied.
func primeCache(tx *recordCache, muts []protocol.Mutation) error {
	ids := map[domain.Kind][]string{}
	for _, m := range muts {
		ids[m.Kind] = append(ids[m.Kind], m.ID)
		if raw, ok := m.Fields["member_id"]; ok {
			var member string
			if json.Unmarshal(raw, &member) == nil && member != "" {
				ids[domain.KindMember] = append(ids[domain.KindMember], member)
			}
		}
	}
	return tx.primeKinds(ids)
}

// checkLostWork refuses, with errLostWork, a request from a device that
// knows more than the server: a cursor past the head (changes it received
// are gone) or a first new mutation after a gap (mutations acknowledged to
// it are gone). Both happen when a backup older than the device's last sync
// is restored without a new epoch. A device refetching (epoch "") starts
// over and is not checked for gaps, but its cursor must not be past the
// head either (errCursorAhead): the same 409 has it start from 0.
func checkLostWork(d Device, req protocol.SyncRequest, head uint64) error {
	if req.Epoch == "" {
		if req.Cursor > head {
			return fmt.Errorf("%w: cursor %d, head %d", errCursorAhead, req.Cursor, head)
		}
		return nil
	}
	if req.Cursor > head {
		return fmt.Errorf("%w: cursor %d is past the head %d", errLostWork, req.Cursor, head)
	}
	for _, m := range req.Mutations {
		if m.Seq <= d.LastSeq {
			continue
		}
		if m.Seq > d.LastSeq+1 {
			return fmt.Errorf("%w: mutation %d follows %d", errLostWork, m.Seq, d.LastSeq)
		}
		break
	}
	return nil
}

// advanceScope returns the device's scope state after a sync with cursor,
// when the coordinator's regions are scope, and whether anything changed.
// With nextSeq nil it only reports whether something would.
//
// Regions gained are backfilled: they become Pending up to a fresh marker
// sequence, and Delivered once the device sends a cursor at or past it.
// Regions lost become Dropped until the device sends a cursor at or past
// another marker. Markers are fresh sequence numbers so that no cursor the
// device already has can acknowledge them.
func advanceScope(d Device, scope []string, cursor uint64, nextSeq func() (uint64, error)) (Device, bool, error) {
	next := d
	next.Delivered = slices.Clone(d.Delivered)
	next.Pending = slices.Clone(d.Pending)
	next.Dropped = slices.Clone(d.Dropped)
	changed := false
	if next.PendingThrough > 0 && cursor >= next.PendingThrough {
		next.Delivered = newRegionSet(next.Delivered, next.Pending).sorted()
		next.Pending, next.PendingThrough = nil, 0
		changed = true
	}
	if next.DroppedThrough > 0 && cursor >= next.DroppedThrough {
		next.Dropped, next.DroppedThrough = nil, 0
		changed = true
	}
	want := newRegionSet(scope)
	held := newRegionSet(next.Delivered, next.Pending)
	var lost, gained []string
	for r := range held {
		if !want[r] {
			lost = append(lost, r)
		}
	}
	for r := range want {
		if !held[r] {
			gained = append(gained, r)
		}
	}
	if len(lost) == 0 && len(gained) == 0 {
		return next, changed, nil
	}
	if nextSeq == nil {
		return next, true, nil
	}
	marker, err := nextSeq()
	if err != nil {
		return d, false, err
	}
	if len(lost) > 0 {
		drop := newRegionSet(lost)
		next.Delivered = without(next.Delivered, drop)
		next.Pending = without(next.Pending, drop)
		next.Dropped = newRegionSet(next.Dropped, lost).sorted()
		next.DroppedThrough = marker
		if len(next.Pending) == 0 {
			next.PendingThrough = 0
		}
	}
	if len(gained) > 0 {
		next.Pending = newRegionSet(next.Pending, gained).sorted()
		next.PendingThrough = marker
		next.Dropped = without(next.Dropped, newRegionSet(gained))
		if len(next.Dropped) == 0 {
			next.DroppedThrough = 0
		}
	}
	return next, true, nil
}

func without(list []string, drop regionSet) []string {
	var out []string
	for _, r := range list {
		if !drop[r] {
			out = append(out, r)
		}
	}
	return out
}
