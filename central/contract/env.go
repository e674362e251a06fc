package contract

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/sync/protocol"
)

// password is every test coordinator's password.
const password = "correct horse battery staple"

// start is the test clock's first reading: a fixed day keeps validation
// ("not after tomorrow") deterministic.
var start = time.Date(2025, 6, 16, 14, 0, 0, 0, time.UTC)

// clock is a settable wall clock shared by the server and the test devices.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // every reading is a new instant, as on a real machine
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one server over one fresh backend, behind a real HTTP listener.
type env struct {
	t       *testing.T
	ctx     context.Context
	backend central.Backend
	srv     *central.Server
	web     *httptest.Server
	clock   *clock
}

func newEnv(t *testing.T, open func(t *testing.T) central.Backend, tune func(*central.Options)) *env {
	t.Helper()
	b := open(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close backend: %v", err)
		}
	})
	clk := &clock{t: start}
	opt := central.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    clk.Now,
		Argon2: central.TestArgon2,
	}
	if tune != nil {
		tune(&opt)
	}
	ctx := context.Background()
	srv, err := central.New(ctx, b, opt)
	if err != nil {
		t.Fatalf("central.New: %v", err)
	}
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	return &env{t: t, ctx: ctx, backend: b, srv: srv, web: web, clock: clk}
}

func (e *env) today() domain.Date { return domain.DateOf(e.clock.Now()) }

// coordinator creates a coordinator (an admin when regions is nil).
func (e *env) coordinator(email string, regions ...string) central.Coordinator {
	e.t.Helper()
	c, err := e.srv.AddCoordinator(e.ctx, central.NewCoordinator{
		Name: "Coordo " + strings.Split(email, "@")[0], Email: email, Regions: regions,
		Admin: len(regions) == 0, Password: []byte(password),
	})
	if err != nil {
		e.t.Fatalf("add coordinator %s: %v", email, err)
	}
	return c
}

// raw sends one request and returns the status, the decoded error body (if
// any) and the raw body, failing the test on a transport error or on an
// error answer without a JSON code and message.
func (e *env) raw(method, path, token, contentType string, payload []byte, header map[string]string) (int, protocol.Error, []byte) {
	e.t.Helper()
	status, pe, data, err := e.do(method, path, token, contentType, payload, header)
	if err != nil {
		e.t.Fatal(err)
	}
	return status, pe, data
}

// do is raw for goroutines: it returns errors instead of failing the test.
func (e *env) do(method, path, token, contentType string, payload []byte, header map[string]string) (int, protocol.Error, []byte, error) {
	var pe protocol.Error
	req, err := http.NewRequestWithContext(e.ctx, method, e.web.URL+path, bytes.NewReader(payload))
	if err != nil {
		return 0, pe, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.web.Client().Do(req)
	if err != nil {
		return 0, pe, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return 0, pe, nil, fmt.Errorf("%s %s: gzip answer: %w", method, path, err)
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return 0, pe, nil, fmt.Errorf("read %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(data, &pe); err != nil {
			return 0, pe, nil, fmt.Errorf("%s %s: status %d with a body that is not a JSON error: %q", method, path, resp.StatusCode, data)
		}
		if pe.Code == "" || pe.Message == "" {
			return 0, pe, nil, fmt.Errorf("%s %s: status %d without code or message: %q", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, pe, data, nil
}

// signIn returns a token for clientID.
func (e *env) signIn(email, pass, clientID string) (int, protocol.Error, protocol.SessionResponse) {
	e.t.Helper()
	body, _ := json.Marshal(protocol.SessionRequest{Email: email, Password: pass, ClientID: clientID, DeviceName: "test"})
	status, pe, data := e.raw(http.MethodPost, "/v1/session", "", "application/json", body, nil)
	var sr protocol.SessionResponse
	if status == http.StatusOK {
		if err := json.Unmarshal(data, &sr); err != nil {
			e.t.Fatalf("session response: %v", err)
		}
	}
	return status, pe, sr
}

// record is a device's copy of one record.
type record struct {
	fields   map[string]json.RawMessage
	versions map[string]protocol.FieldVersion
}

// device is a test double of the app's sync engine: an outbox numbered 1,
// 2, 3…, a replica of what it was sent, a cursor and an HLC.
type device struct {
	e       *env
	id      string
	token   string
	coord   protocol.CoordinatorInfo
	clock   *hlc.Clock
	nextSeq uint64
	cursor  uint64
	epoch   string
	replica map[string]record // key: kind + "/" + id
	// seen counts changes received per record, and seqs lists every change
	// sequence received, in order.
	seen    map[string]int
	seqs    []uint64
	drops   [][]string
	lastRej []protocol.Rejection
}

func (e *env) device(email string) *device {
	e.t.Helper()
	return e.deviceWithClock(email, 0)
}

// deviceWithClock signs in a device whose clock is off by skew.
func (e *env) deviceWithClock(email string, skew time.Duration) *device {
	e.t.Helper()
	id := domain.NewID()
	status, pe, sr := e.signIn(email, password, id)
	if status != http.StatusOK {
		e.t.Fatalf("sign in %s: %d %s", email, status, pe.Message)
	}
	return &device{
		e: e, id: id, token: sr.Token, coord: sr.Coordinator,
		clock:   hlc.NewClock(func() time.Time { return e.clock.Now().Add(skew) }, 0),
		replica: map[string]record{}, seen: map[string]int{},
	}
}

func key(kind domain.Kind, id string) string { return string(kind) + "/" + id }

// edit builds a mutation of the given fields (values are Go values,
// marshalled), based on what the replica holds.
func (d *device) edit(kind domain.Kind, id string, fields map[string]any) protocol.Mutation {
	d.e.t.Helper()
	d.nextSeq++
	m := protocol.Mutation{Seq: d.nextSeq, Kind: kind, ID: id, Fields: map[string]json.RawMessage{}, Base: map[string]uint64{}, HLC: d.clock.Now()}
	cur := d.replica[key(kind, id)]
	for name, v := range fields {
		raw, err := json.Marshal(v)
		if err != nil {
			d.e.t.Fatal(err)
		}
		m.Fields[name] = raw
		if ver, ok := cur.versions[name]; ok {
			m.Base[name] = ver.Seq
		}
	}
	return m
}

// create builds a mutation carrying every field of a domain value.
func (d *device) create(kind domain.Kind, v any) protocol.Mutation {
	d.e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		d.e.t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		d.e.t.Fatal(err)
	}
	return d.edit(kind, fields["id"].(string), fields)
}

// remove builds a delete mutation based, as the app's store does, on the
// version of every field the replica holds, so that the server can tell a
// delete that raced an edit.
func (d *device) remove(kind domain.Kind, id string) protocol.Mutation {
	d.nextSeq++
	m := protocol.Mutation{Seq: d.nextSeq, Kind: kind, ID: id, Delete: true, Base: map[string]uint64{}, HLC: d.clock.Now()}
	cur := d.replica[key(kind, id)]
	for name := range cur.fields {
		if name != "id" {
			m.Base[name] = cur.versions[name].Seq
		}
	}
	return m
}

func (d *device) request(muts []protocol.Mutation, bf *protocol.Backfill) protocol.SyncRequest {
	if muts == nil {
		muts = []protocol.Mutation{}
	}
	return protocol.SyncRequest{ClientID: d.id, SchemaVersion: protocol.SchemaVersion, Cursor: d.cursor, Epoch: d.epoch, Mutations: muts, Backfill: bf}
}

// post sends a sync request and decodes the answer, without applying it.
func (d *device) post(req protocol.SyncRequest) (int, protocol.Error, protocol.SyncResponse) {
	d.e.t.Helper()
	status, pe, resp, err := d.postErr(req)
	if err != nil {
		d.e.t.Fatal(err)
	}
	return status, pe, resp
}

// postErr is post for goroutines. Requests and answers are gzipped, as the
// app sends them.
func (d *device) postErr(req protocol.SyncRequest) (int, protocol.Error, protocol.SyncResponse, error) {
	var resp protocol.SyncResponse
	body, err := protocol.EncodeBody(req, true)
	if err != nil {
		return 0, protocol.Error{}, resp, err
	}
	status, pe, data, err := d.e.do(http.MethodPost, "/v1/sync", d.token, "application/json", body,
		map[string]string{"Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
	if err != nil {
		return 0, pe, resp, err
	}
	if status == http.StatusOK {
		if err := protocol.DecodeStrict(data, &resp); err != nil {
			return 0, pe, resp, fmt.Errorf("sync response: %w", err)
		}
	}
	return status, pe, resp, nil
}

// apply stores a response as the app would: drops, then changes, then the
// cursor.
func (d *device) apply(resp protocol.SyncResponse) {
	d.e.t.Helper()
	if len(resp.DroppedRegions) > 0 {
		d.drops = append(d.drops, resp.DroppedRegions)
		d.dropRegions(resp.DroppedRegions)
	}
	for i, ch := range resp.Changes {
		if i > 0 && ch.Seq <= resp.Changes[i-1].Seq {
			d.e.t.Errorf("device %s: change %d after %d in one page", d.id[:8], ch.Seq, resp.Changes[i-1].Seq)
		}
		d.seqs = append(d.seqs, ch.Seq)
		k := key(ch.Kind, ch.ID)
		d.seen[k]++
		if ch.Delete || ch.Removed {
			delete(d.replica, k)
			continue
		}
		d.replica[k] = record{fields: ch.Fields, versions: ch.Versions}
	}
	d.cursor = resp.Cursor
	d.epoch = resp.Epoch
}

func (d *device) dropRegions(regions []string) {
	drop := map[string]bool{}
	for _, r := range regions {
		drop[r] = true
	}
	gone := map[string]bool{}
	for k, r := range d.replica {
		if strings.HasPrefix(k, string(domain.KindMember)+"/") && drop[str(r.fields["region"])] {
			gone[str(r.fields["id"])] = true
		}
	}
	for k, r := range d.replica {
		if gone[str(r.fields["id"])] || gone[str(r.fields["member_id"])] {
			delete(d.replica, k)
		}
	}
}

// sync pushes muts and pulls until has_more is false, failing the test on
// any non-200 answer. It returns the responses.
func (d *device) sync(muts ...protocol.Mutation) []protocol.SyncResponse {
	d.e.t.Helper()
	var out []protocol.SyncResponse
	var bf *protocol.Backfill
	d.lastRej = nil
	for i := 0; ; i++ {
		if i > 10000 {
			d.e.t.Fatal("sync does not end")
		}
		status, pe, resp := d.post(d.request(muts, bf))
		if status != http.StatusOK {
			d.e.t.Fatalf("sync: %d %s: %s", status, pe.Code, pe.Message)
		}
		if len(muts) > 0 && resp.AckedThrough < muts[len(muts)-1].Seq {
			d.e.t.Fatalf("acked_through %d, pushed up to %d", resp.AckedThrough, muts[len(muts)-1].Seq)
		}
		d.lastRej = append(d.lastRej, resp.Rejected...)
		muts = nil
		d.apply(resp)
		out = append(out, resp)
		bf = resp.Backfill
		if !resp.HasMore {
			return out
		}
	}
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// field returns a field of the replica's copy as a string.
func (d *device) field(kind domain.Kind, id, name string) string {
	r, ok := d.replica[key(kind, id)]
	if !ok {
		d.e.t.Fatalf("device %s has no %s %s", d.id[:8], kind, id)
	}
	return str(r.fields[name])
}

func (d *device) has(kind domain.Kind, id string) bool {
	_, ok := d.replica[key(kind, id)]
	return ok
}

// scope returns the regions the device should hold.
func (d *device) scope() map[string]bool {
	out := map[string]bool{"": true}
	var c central.Coordinator
	err := d.e.backend.View(d.e.ctx, func(tx central.ReadTx) error {
		dev, err := tx.Device(d.id)
		if err != nil {
			return err
		}
		c, err = tx.Coordinator(dev.CoordinatorID)
		return err
	})
	if err != nil {
		d.e.t.Fatal(err)
	}
	regions := c.Regions
	if c.Role == protocol.RoleAdmin {
		regions = nil
		for _, r := range domain.Regions() {
			regions = append(regions, r.Code)
		}
	}
	for _, r := range regions {
		out[r] = true
	}
	return out
}

// assertMirrors checks that the device holds exactly the server's records
// of its scope, field for field.
func (d *device) assertMirrors() {
	d.e.t.Helper()
	scope := d.scope()
	want := map[string]central.Record{}
	err := d.e.backend.View(d.e.ctx, func(tx central.ReadTx) error {
		for _, k := range allKinds() {
			err := tx.Records(k, func(r central.Record) error {
				if !r.Deleted && scope[r.Region] {
					want[key(r.Kind, r.ID)] = r
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		d.e.t.Fatal(err)
	}
	for k, r := range want {
		got, ok := d.replica[k]
		if !ok {
			d.e.t.Errorf("device %s misses %s", d.id[:8], k)
			continue
		}
		if !sameFields(got.fields, r.Fields) {
			d.e.t.Errorf("device %s: %s differs:\n got %s\nwant %s", d.id[:8], k, jsonOf(got.fields), jsonOf(r.Fields))
		}
	}
	for k := range d.replica {
		if _, ok := want[k]; !ok {
			d.e.t.Errorf("device %s holds %s, outside its scope or deleted", d.id[:8], k)
		}
	}
}

func sameFields(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !protocol.SameJSON(v, b[k]) {
			return false
		}
	}
	return true
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func allKinds() []domain.Kind { return append(domain.Kinds(), protocol.KindConflict) }

// dump renders the backend's whole state (records, change feed, head,
// devices, coordinators) as text, to prove a refused request changed
// nothing.
func (e *env) dump() string {
	e.t.Helper()
	var lines []string
	err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
		head, err := tx.Head()
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("head %d", head))
		for _, k := range allKinds() {
			err := tx.Records(k, func(r central.Record) error {
				lines = append(lines, "record "+jsonOf(r))
				return nil
			})
			if err != nil {
				return err
			}
		}
		var regions []string
		for _, r := range domain.Regions() {
			regions = append(regions, r.Code)
		}
		entries, err := tx.Changes(central.FeedQuery{Through: head, Regions: append(regions, "")})
		if err != nil {
			return err
		}
		for _, en := range entries {
			if en.Exit != nil {
				lines = append(lines, "feed exit "+jsonOf(en.Exit))
			} else {
				lines = append(lines, fmt.Sprintf("feed %d %s/%s", en.Seq(), en.Record.Kind, en.Record.ID))
			}
		}
		err = tx.Devices(func(d central.Device) error {
			lines = append(lines, "device "+jsonOf(d))
			return nil
		})
		if err != nil {
			return err
		}
		cs, err := tx.Coordinators()
		for _, c := range cs {
			lines = append(lines, "coordinator "+jsonOf(c))
		}
		return err
	})
	if err != nil {
		e.t.Fatalf("dump: %v", err)
	}
	return strings.Join(lines, "\n")
}

// records returns the backend's records of a kind by id.
func (e *env) records(kind domain.Kind) map[string]central.Record {
	e.t.Helper()
	out := map[string]central.Record{}
	err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
		return tx.Records(kind, func(r central.Record) error {
			out[r.ID] = r
			return nil
		})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) record(kind domain.Kind, id string) (central.Record, bool) {
	e.t.Helper()
	var r central.Record
	err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
		var err error
		r, err = tx.Record(kind, id)
		return err
	})
	if errors.Is(err, central.ErrNotFound) {
		return central.Record{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return r, true
}

func (e *env) head() uint64 {
	e.t.Helper()
	var h uint64
	err := e.backend.View(e.ctx, func(tx central.ReadTx) error {
		var err error
		h, err = tx.Head()
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// member returns a valid member of region.
func member(region, name string) domain.Member {
	return domain.Member{
		ID: domain.NewID(), Name: name, LegalForm: domain.WorkerCoop, Region: region,
		Municipality: "Sept-Îles", PostalCode: "G4R 1A1", Status: domain.MemberActive,
		Services: []string{"hr"},
	}
}

// visit returns a valid visit of member m by coordinator c.
func visit(m domain.Member, coordinatorID string, day domain.Date) domain.Visit {
	return domain.Visit{
		ID: domain.NewID(), MemberID: m.ID, CoordinatorID: coordinatorID, Date: day,
		DurationMinutes: 60, Mode: domain.OnSite, Notes: "Rencontre avec l'équipe",
	}
}

func followUp(m domain.Member, day domain.Date) domain.FollowUp {
	return domain.FollowUp{
		ID: domain.NewID(), MemberID: m.ID, ServiceID: "legal", Description: "Envoyer le modèle de règlements",
		Due: day.AddDays(14), Status: domain.FollowUpOpen,
	}
}

// conflicts returns the server's conflict records about one record.
func (e *env) conflicts(recordID string) []protocol.Conflict {
	e.t.Helper()
	var out []protocol.Conflict
	for _, r := range e.records(protocol.KindConflict) {
		var c protocol.Conflict
		b, _ := json.Marshal(r.Fields)
		if err := json.Unmarshal(b, &c); err != nil {
			e.t.Fatal(err)
		}
		if c.RecordID == recordID {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
