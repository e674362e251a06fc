package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// device is a simulated laptop: it keeps the cursor, the members of its
// scope and the version of each member's notes, which is enough to make
// realistic edits.
type device struct {
	client  *http.Client
	base    string
	id      string
	token   string
	coordID string
	clock   *hlc.Clock
	rng     *rand.Rand

	cursor  uint64
	epoch   string
	nextSeq uint64
	members []string
	notes   map[string]uint64 // member id -> server seq of its notes
}

func newDevice(ctx context.Context, client *http.Client, base string, a account, seed int64) (*device, error) {
	d := &device{client: client, base: base, id: domain.NewID(), clock: hlc.NewClock(nil, 0),
		rng: rand.New(rand.NewPCG(uint64(seed), 7)), notes: map[string]uint64{}}
	body, _ := json.Marshal(protocol.SessionRequest{Email: a.email, Password: a.password, ClientID: d.id, DeviceName: "terrain-load"})
	var sr protocol.SessionResponse
	if _, _, err := d.post(ctx, "/v1/session", "", body, &sr); err != nil {
		return nil, fmt.Errorf("sign in as %s: %w", a.email, err)
	}
	d.token, d.coordID = sr.Token, sr.Coordinator.ID
	return d, nil
}

// post sends one JSON body (gzipped) and decodes the answer into v. A 503
// or 429 is waited out as the app does, for its Retry-After, and counted.
func (d *device) post(ctx context.Context, path, token string, body []byte, v any) (took time.Duration, busy int, err error) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(body)
	_ = zw.Close()
	for {
		status, retry, took, err := d.send(ctx, path, token, zb.Bytes(), v)
		if err != nil || (status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests) {
			return took, busy, err
		}
		busy++
		select {
		case <-ctx.Done():
			return took, busy, ctx.Err()
		case <-time.After(retry):
		}
	}
}

// send makes one request. The answer is decoded as it arrives: many
// devices pulling pages of megabytes at once must not weigh on the machine
// the server is measured on.
func (d *device) send(ctx context.Context, path, token string, gzBody []byte, v any) (status int, retry, took time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, bytes.NewReader(gzBody))
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Accept-Encoding", "gzip")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return 0, 0, 0, err
		}
		r = zr
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		_, _ = io.Copy(io.Discard, r)
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 {
			secs = 1
		}
		return resp.StatusCode, time.Duration(secs) * time.Second, time.Since(start), nil
	default:
		data, _ := io.ReadAll(io.LimitReader(r, 4096))
		return resp.StatusCode, 0, time.Since(start), fmt.Errorf("%s: %d %s", path, resp.StatusCode, data)
	}
	if sr, ok := v.(*protocol.SyncResponse); ok {
		err = decodeSyncStream(r, sr)
	} else {
		err = json.NewDecoder(r).Decode(v)
	}
	return resp.StatusCode, 0, time.Since(start), err
}

// decodeSyncStream decodes a sync answer one change at a time, keeping of
// each change only what apply reads.
func decodeSyncStream(r io.Reader, sr *protocol.SyncResponse) error {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("sync answer: not an object (%v)", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case "changes":
			if t, err := dec.Token(); err != nil || t == nil {
				if err != nil {
					return err
				}
				continue // null
			}
			for dec.More() {
				var ch struct {
					Kind     domain.Kind                      `json:"kind"`
					ID       string                           `json:"id"`
					Delete   bool                             `json:"delete"`
					Removed  bool                             `json:"removed"`
					Versions map[string]protocol.FieldVersion `json:"versions"`
				}
				if err := dec.Decode(&ch); err != nil {
					return err
				}
				keep := protocol.Change{Kind: ch.Kind, ID: ch.ID, Delete: ch.Delete, Removed: ch.Removed}
				if ch.Kind == domain.KindMember {
					keep.Versions = map[string]protocol.FieldVersion{"notes": ch.Versions["notes"]}
				}
				sr.Changes = append(sr.Changes, keep)
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
		case "cursor":
			err = dec.Decode(&sr.Cursor)
		case "has_more":
			err = dec.Decode(&sr.HasMore)
		case "epoch":
			err = dec.Decode(&sr.Epoch)
		case "backfill":
			err = dec.Decode(&sr.Backfill)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inflatingPrefix is a gzip member of 32 kB that inflates to 31 MiB of
// white space; a hostile request is it followed by a gzip member holding a
// valid request (gzip readers read concatenated members as one stream).
func inflatingPrefix() []byte {
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for range 31 {
		_, _ = zw.Write(spaces)
	}
	_ = zw.Close()
	return zb.Bytes()
}

// hostile sends one hostile sync request and returns the answer's status.
func (d *device) hostile(ctx context.Context, prefix []byte) (int, time.Duration, error) {
	body, _ := json.Marshal(protocol.SyncRequest{ClientID: d.id, SchemaVersion: protocol.SchemaVersion})
	var zb bytes.Buffer
	zb.Write(prefix)
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(body)
	_ = zw.Close()
	var resp protocol.SyncResponse
	status, _, took, err := d.send(ctx, "/v1/sync", d.token, zb.Bytes(), &resp)
	if err != nil && status != 0 {
		err = nil // an error answer is what is counted
	}
	return status, took, err
}

// stats is what one sync cost.
type stats struct {
	requests, changes, busy int
	latencies               []time.Duration
}

// sync pushes muts and pulls until the server has nothing more.
func (d *device) sync(ctx context.Context, muts []protocol.Mutation) (stats, error) {
	var st stats
	var bf *protocol.Backfill
	for {
		req := protocol.SyncRequest{ClientID: d.id, SchemaVersion: protocol.SchemaVersion, Cursor: d.cursor,
			Epoch: d.epoch, Mutations: muts, Backfill: bf}
		body, err := json.Marshal(req)
		if err != nil {
			return st, err
		}
		var resp protocol.SyncResponse
		took, busy, err := d.post(ctx, "/v1/sync", d.token, body, &resp)
		st.requests++
		st.busy += busy
		if err != nil {
			return st, err
		}
		st.latencies = append(st.latencies, took)
		st.changes += len(resp.Changes)
		d.apply(resp)
		muts, bf = nil, resp.Backfill
		if !resp.HasMore {
			return st, nil
		}
	}
}

func (d *device) apply(resp protocol.SyncResponse) {
	for _, ch := range resp.Changes {
		if ch.Kind != domain.KindMember {
			continue
		}
		if ch.Delete || ch.Removed {
			delete(d.notes, ch.ID)
			continue
		}
		if _, known := d.notes[ch.ID]; !known {
			d.members = append(d.members, ch.ID)
		}
		d.notes[ch.ID] = ch.Versions["notes"].Seq
	}
	d.cursor, d.epoch = resp.Cursor, resp.Epoch
}

// edits returns, with probability p, one edit: a new visit or new notes on
// a member of the device's scope.
func (d *device) edits(p float64) []protocol.Mutation {
	if len(d.members) == 0 || d.rng.Float64() >= p {
		return nil
	}
	memberID := d.members[d.rng.IntN(len(d.members))]
	if _, ok := d.notes[memberID]; !ok {
		return nil // moved out of scope since
	}
	d.nextSeq++
	m := protocol.Mutation{Seq: d.nextSeq, Kind: domain.KindMember, ID: memberID, HLC: d.clock.Now()}
	if d.rng.IntN(2) == 0 {
		note, _ := json.Marshal(fmt.Sprintf("Appel de suivi du %s", time.Now().Format(time.DateTime)))
		m.Fields = map[string]json.RawMessage{"notes": note}
		m.Base = map[string]uint64{"notes": d.notes[memberID]}
		return []protocol.Mutation{m}
	}
	v := domain.Visit{ID: domain.NewID(), MemberID: memberID, CoordinatorID: d.coordID, Date: domain.DateOf(time.Now()),
		DurationMinutes: 45, Mode: domain.Phone, Notes: "Visite simulée par terrain-load"}
	b, _ := json.Marshal(v)
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(b, &fields)
	m.Kind, m.ID, m.Fields = domain.KindVisit, v.ID, fields
	return []protocol.Mutation{m}
}
