package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"unicode/utf8"

	"leconsortium.coop/terrain/domain"
)

// ErrBadResponse is wrapped by every refusal of DecodeResponse: the server
// answered 200 with a page the device must not store.
var ErrBadResponse = errors.New("malformed sync response")

func badResponse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadResponse, fmt.Sprintf(format, args...))
}

// DecodeResponse decodes the server's answer to req and checks what the
// device's sync relies on, so that a broken or hostile server cannot loop
// the device forever, move its cursor back, or have it store records it
// cannot tell apart.
//
// Unlike DecodeRequest it accepts object keys it does not know, and changes
// of kinds it does not know (the store skips them): a newer server may add
// both. It refuses, wrapping ErrBadResponse: anything but one JSON value in
// UTF-8; a key that appears twice in one object, or that differs only in
// case from a key it knows ("Cursor"); an empty or oversized epoch; a cursor that goes back within the
// epoch; a page that says has_more while the next request would be the
// same as this one; rejections outside acked_through; changes whose seq
// does not go up, with a bad id, that are both deleted and removed, that
// carry fields while gone or none while live, or whose field stamps come
// after the change itself.
func DecodeResponse(data []byte, req SyncRequest) (SyncResponse, error) {
	if !utf8.Valid(data) {
		return SyncResponse{}, badResponse("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var resp SyncResponse
	if err := dec.Decode(&resp); err != nil {
		return SyncResponse{}, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return SyncResponse{}, badResponse("data after the value")
	}
	if ke := checkKeys(data, reflect.TypeFor[SyncResponse](), true); ke != nil {
		return SyncResponse{}, badResponse("%s", ke.decodeError().Message)
	}
	if err := resp.ExpandChanges(req); err != nil {
		return SyncResponse{}, err
	}
	if err := resp.Check(req); err != nil {
		return SyncResponse{}, err
	}
	return resp, nil
}

// Check verifies a response against the request it answers; see
// DecodeResponse. The error wraps ErrBadResponse.
func (r SyncResponse) Check(req SyncRequest) error {
	switch {
	case r.Epoch == "" || len(r.Epoch) > MaxNameBytes:
		// An empty epoch would turn every later request into a refetch
		// request the server does not check; a long one is refused by the
		// server at the next request, for ever.
		return badResponse("epoch missing or longer than %d bytes", MaxNameBytes)
	case r.Remaining < 0:
		return badResponse("negative remaining")
	case req.Epoch != "" && r.Epoch == req.Epoch && r.Cursor < req.Cursor:
		return badResponse("cursor goes back from %d to %d", req.Cursor, r.Cursor)
	case r.HasMore && len(req.Mutations) == 0 && r.Epoch == req.Epoch && r.Cursor == req.Cursor &&
		!backfillAdvances(req.Backfill, r.Backfill):
		// The device would send the same request again and get the same
		// page: a loop. (A push makes progress of its own: the outbox
		// shrinks.)
		return badResponse("has_more without moving the cursor or the backfill")
	}
	for _, region := range r.DroppedRegions {
		if region == "" || len(region) > MaxNameBytes {
			return badResponse("bad dropped region")
		}
	}
	for i, rj := range r.Rejected {
		// A rejection is acknowledged like an applied mutation; one past
		// acked_through would stay in the outbox and in the quarantine.
		if rj.Seq == 0 || rj.Seq > r.AckedThrough {
			return badResponse("rejection %d: seq %d outside 1..acked_through %d", i, rj.Seq, r.AckedThrough)
		}
	}
	var last uint64
	for i, c := range r.Changes {
		if err := c.check(last); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		last = c.Seq
	}
	return nil
}

// backfillAdvances reports whether a backfill position moved on from prev
// (nil: none).
func backfillAdvances(prev, next *Backfill) bool {
	switch {
	case next == nil:
		return false
	case prev == nil || next.Through != prev.Through:
		return true
	}
	return next.After > prev.After
}

// uuidKinds are the kinds whose ids the device uses as keys as they are.
var uuidKinds = map[domain.Kind]bool{
	domain.KindMember: true, domain.KindVisit: true, domain.KindFollowUp: true, KindConflict: true,
}

func (c Change) check(prevSeq uint64) error {
	gone := c.Delete || c.Removed
	switch {
	case c.Seq <= prevSeq:
		// Each record appears once, at the sequence of its latest write.
		return badResponse("seq %d does not follow %d", c.Seq, prevSeq)
	case c.Kind == "" || len(c.Kind) > MaxNameBytes:
		return badResponse("bad kind")
	case uuidKinds[c.Kind] && domain.CheckID(c.ID) != nil:
		return badResponse("%s id is not a lower-case UUID", c.Kind)
	case c.ID == "" || len(c.ID) > MaxNameBytes:
		return badResponse("bad id")
	case c.Delete && c.Removed:
		return badResponse("both deleted and removed")
	case c.Erased && !c.Delete:
		return badResponse("erased but not deleted")
	case gone && (len(c.Fields) > 0 || len(c.Versions) > 0):
		return badResponse("a deleted or removed record carries fields")
	case !gone && len(c.Fields) == 0:
		return badResponse("a live record without fields")
	}
	for name := range c.Fields {
		if name == "" || len(name) > MaxNameBytes {
			return badResponse("bad field name")
		}
		// The store decodes fields as encoding/json does, ignoring case:
		// "Name" next to "name" would be read as either.
		if foldsToFieldOf(c.Kind, name) {
			return badResponse("field %q of a %s differs from a known one only in case", truncate(name), truncate(string(c.Kind)))
		}
	}
	for name, v := range c.Versions {
		if name == "" || len(name) > MaxNameBytes {
			return badResponse("bad field name in versions")
		}
		// The device bases its next edit on this seq: one from the future
		// would make that edit overwrite, without a conflict, writes it
		// never saw.
		if v.Seq > c.Seq {
			return badResponse("field %q stamped with seq %d, after the change's %d", truncate(name), v.Seq, c.Seq)
		}
	}
	return nil
}
