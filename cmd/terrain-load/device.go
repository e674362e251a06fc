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
	if _, err := d.post(ctx, "/v1/session", "", body, &sr); err != nil {
		return nil, fmt.Errorf("sign in as %s: %w", a.email, err)
	}
	d.token, d.coordID = sr.Token, sr.Coordinator.ID
	return d, nil
}

// post sends one JSON body (gzipped) and decodes the answer into v.
func (d *device) post(ctx context.Context, path, token string, body []byte, v any) (time.Duration, error) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(body)
	_ = zw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, &zb)
	if err != nil {
		return 0, err
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
		return 0, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return 0, err
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	took := time.Since(start)
	if err != nil {
		return took, err
	}
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("%s: %d %s", path, resp.StatusCode, data)
	}
	return took, json.Unmarshal(data, v)
}

// stats is what one sync cost.
type stats struct {
	requests, changes int
	latencies         []time.Duration
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
		took, err := d.post(ctx, "/v1/sync", d.token, body, &resp)
		st.requests++
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
