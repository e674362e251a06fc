package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
	"leconsortium.coop/terrain/sync/protocol"
)

// The tests run the real central server (its HTTP handler over the embedded
// Badger backend) behind httptest, and real stores in temporary
// directories: nothing is mocked.

const password = "correct horse battery staple"

var passphrase = []byte("une phrase de passe")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// world is one central service.
type world struct {
	t       testing.TB
	ctx     context.Context
	backend *badgerdb.DB
	srv     *central.Server
	web     *httptest.Server
	opt     central.Options

	mu sync.Mutex
	h  http.Handler // the current server's, swapped by restore
}

func newWorld(t testing.TB, tune func(*central.Options)) *world {
	t.Helper()
	b, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	opt := central.Options{Logger: quiet(), Argon2: central.TestArgon2}
	if tune != nil {
		tune(&opt)
	}
	w := &world{t: t, ctx: context.Background(), backend: b, opt: opt}
	w.start()
	return w
}

// start serves a server over the backend.
func (w *world) start() {
	srv, err := central.New(w.ctx, w.backend, w.opt)
	if err != nil {
		w.t.Fatal(err)
	}
	w.srv = srv
	w.h = srv.Handler()
	w.web = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		h := w.h
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	}))
	w.t.Cleanup(w.web.Close)
}

// restore gives the server's data a new epoch, as a restore from backup
// does, and restarts it.
func (w *world) restore() {
	err := w.backend.Update(w.ctx, func(tx central.Tx) error { return tx.SetMeta("epoch", "restored-"+domain.NewID()) })
	if err != nil {
		w.t.Fatal(err)
	}
	srv, err := central.New(w.ctx, w.backend, w.opt)
	if err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.srv, w.h = srv, srv.Handler()
	w.mu.Unlock()
}

func (w *world) coordinator(email string, regions ...string) central.Coordinator {
	w.t.Helper()
	c, err := w.srv.AddCoordinator(w.ctx, central.NewCoordinator{Name: "Coordo " + strings.Split(email, "@")[0],
		Email: email, Regions: regions, Password: []byte(password)})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// members imports members in batches, as the demo command does.
func (w *world) members(ms []domain.Member) {
	w.t.Helper()
	for i := 0; i < len(ms); i += 2000 {
		if err := w.srv.Import(w.ctx, ms[i:min(i+2000, len(ms))], nil, nil); err != nil {
			w.t.Fatal(err)
		}
	}
}

// seedMembers stores members straight into the backend as the central
// office's import stores them (every field stamped by "central" at the
// record's sequence), in large transactions: the server's import merges and
// validates each record, which under the race detector takes longer than
// the sync under test.
func (w *world) seedMembers(ms []domain.Member) {
	w.t.Helper()
	stamp := hlc.New(time.Now().UnixMilli(), 0)
	for i := 0; i < len(ms); i += 5000 {
		err := w.backend.Update(w.ctx, func(tx central.Tx) error {
			for _, m := range ms[i:min(i+5000, len(ms))] {
				m.Normalize()
				data, err := json.Marshal(m)
				if err != nil {
					return err
				}
				var fields map[string]json.RawMessage
				if err := json.Unmarshal(data, &fields); err != nil {
					return err
				}
				seq, err := tx.NextSeq()
				if err != nil {
					return err
				}
				versions := make(map[string]protocol.FieldVersion, len(fields))
				for name := range fields {
					versions[name] = protocol.FieldVersion{HLC: stamp, Seq: seq, Device: protocol.CentralDevice}
				}
				rec := central.Record{Kind: domain.KindMember, ID: m.ID, Region: m.Region, Seq: seq,
					Fields: fields, Versions: versions}
				if err := tx.PutRecord(rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

func member(name, region string) domain.Member {
	return domain.Member{ID: domain.NewID(), Name: name, LegalForm: domain.WorkerCoop, Region: region,
		Municipality: "Sept-Îles", Phone: "418 555-0142", Email: "info@example.org",
		MemberSince: domain.NewDate(2015, 3, 1), Status: domain.MemberActive}
}

// snapshot is a set of records as JSON, by kind and id.
type snapshot map[string]string

func (s snapshot) add(kind domain.Kind, id string, v any) {
	b, _ := json.Marshal(v)
	s[string(kind)+"/"+id] = string(b)
}

// diff lists the records that differ, for a readable failure.
func (s snapshot) diff(o snapshot) []string {
	var out []string
	for k, v := range s {
		if o[k] != v {
			out = append(out, fmt.Sprintf("%s: %s\n   vs %s", k, v, o[k]))
		}
	}
	for k, v := range o {
		if _, ok := s[k]; !ok {
			out = append(out, fmt.Sprintf("%s: missing\n   vs %s", k, v))
		}
	}
	sort.Strings(out)
	return out
}

// serverSnapshot is the server's members, visits and follow-ups of regions.
func (w *world) serverSnapshot(regions ...string) snapshot {
	w.t.Helper()
	out := snapshot{}
	in := map[string]bool{}
	err := w.srv.ExportMembers(w.ctx, func(m domain.Member) error {
		if len(regions) == 0 || contains(regions, m.Region) {
			in[m.ID] = true
			out.add(domain.KindMember, m.ID, m)
		}
		return nil
	})
	if err == nil {
		err = w.srv.ExportVisits(w.ctx, func(v domain.Visit) error {
			if in[v.MemberID] {
				out.add(domain.KindVisit, v.ID, v)
			}
			return nil
		})
	}
	if err == nil {
		err = w.srv.ExportFollowUps(w.ctx, func(f domain.FollowUp) error {
			if in[f.MemberID] {
				out.add(domain.KindFollowUp, f.ID, f)
			}
			return nil
		})
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// waitForVisit waits until the server holds visit id.
func (w *world) waitForVisit(id string) {
	w.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		found := false
		err := w.srv.ExportVisits(w.ctx, func(v domain.Visit) error {
			found = found || v.ID == id
			return nil
		})
		if err != nil {
			w.t.Fatal(err)
		}
		if found {
			return
		}
	}
	w.t.Fatalf("visit %s never reached the server", id)
}

// serverConflicts returns the server's conflict records.
func (w *world) serverConflicts() []protocol.Conflict {
	var out []protocol.Conflict
	err := w.backend.View(w.ctx, func(tx central.ReadTx) error {
		return tx.Records(protocol.KindConflict, func(r central.Record) error {
			b, _ := json.Marshal(r.Fields)
			var c protocol.Conflict
			if err := json.Unmarshal(b, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// device is one laptop: a real store and an engine, its clock offset from
// the real one.
type device struct {
	t      testing.TB
	st     *store.Store
	eng    *engine.Engine
	me     domain.Coordinator
	offset time.Duration
}

type deviceOptions struct {
	offset time.Duration
	tune   func(*engine.Options)
}

// newDevice creates a profile and signs it in at server (the world's URL or
// a proxy's).
func newDevice(t testing.TB, server, email string, do deviceOptions) *device {
	t.Helper()
	now := func() time.Time { return time.Now().Add(do.offset) }
	st, err := store.Create(t.TempDir(), passphrase, store.Options{Now: now, Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	opt := engine.Options{NetCheck: -1, Now: now, Logger: quiet(),
		Client: client.Config{Retries: 8, RetryWait: 5 * time.Millisecond, RetryMaxWait: 40 * time.Millisecond,
			AttemptTimeout: 2 * time.Minute}}
	if do.tune != nil {
		do.tune(&opt)
	}
	eng := engine.New(st, opt)
	d := &device{t: t, st: st, eng: eng, offset: do.offset}
	t.Cleanup(func() {
		if err := eng.Stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	if err := eng.SignIn(context.Background(), server, email, password); err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	if d.me, err = st.Me(); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *device) sync() engine.Summary {
	d.t.Helper()
	sum, err := d.eng.SyncOnce(context.Background())
	if err != nil {
		d.t.Fatalf("sync: %v", err)
	}
	return sum
}

// visit records a visit of memberID dated on the real day.
func (d *device) visit(memberID, notes string) domain.Visit {
	d.t.Helper()
	v := domain.Visit{ID: domain.NewID(), MemberID: memberID, CoordinatorID: d.me.ID,
		Date: domain.DateOf(time.Now()), DurationMinutes: 45, Mode: domain.OnSite, Notes: notes}
	if err := d.st.SaveVisit(v); err != nil {
		d.t.Fatalf("save visit: %v", err)
	}
	return v
}

func (d *device) edit(memberID string, fn func(*domain.Member)) {
	d.t.Helper()
	m, err := d.st.Member(memberID)
	if err != nil {
		d.t.Fatal(err)
	}
	fn(&m)
	if err := d.st.SaveMember(m); err != nil {
		d.t.Fatalf("save member: %v", err)
	}
}

// snapshot is the device's members, visits and follow-ups.
func (d *device) snapshot() snapshot {
	d.t.Helper()
	out := snapshot{}
	err := d.st.EachMember(func(m domain.Member) error { out.add(domain.KindMember, m.ID, m); return nil })
	if err == nil {
		err = d.st.EachVisit(func(v domain.Visit) error { out.add(domain.KindVisit, v.ID, v); return nil })
	}
	if err == nil {
		err = d.st.EachFollowUp(func(f domain.FollowUp) error { out.add(domain.KindFollowUp, f.ID, f); return nil })
	}
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

func (d *device) visitCount() int {
	n := 0
	if err := d.st.EachVisit(func(domain.Visit) error { n++; return nil }); err != nil {
		d.t.Fatal(err)
	}
	return n
}

// fault is what the proxy does to one request.
type fault int

const (
	pass        fault = iota
	dropRequest       // close the connection half-way through the request body
	dropReply         // forward, let the server commit, close before answering
	slow              // wait, then forward
	badGateway        // 502 from the proxy
	unavailable       // 503 with Retry-After
	tooMany           // 429 with Retry-After
)

func (f fault) String() string {
	return [...]string{"pass", "drop-request", "drop-reply", "slow", "502", "503", "429"}[f]
}

// proxy sits between the devices and the server and spoils requests to
// /v1/sync as plan says. It counts what reaches the devices.
type proxy struct {
	t      testing.TB
	target string
	web    *httptest.Server
	tr     *http.Transport

	mu       sync.Mutex
	plan     func(n int) fault // n counts /v1/sync requests from 1
	n        int
	faults   map[fault]int
	pages    int   // sync answers delivered
	bytesOut int64 // body bytes of sync answers delivered
	down     bool  // every request fails: the network is gone
}

func newProxy(t testing.TB, target string) *proxy {
	p := &proxy{t: t, target: target, faults: map[fault]int{},
		tr: &http.Transport{DisableCompression: true}}
	p.web = httptest.NewServer(p)
	t.Cleanup(func() {
		p.web.CloseClientConnections()
		p.web.Close()
		p.tr.CloseIdleConnections()
	})
	return p
}

func (p *proxy) URL() string { return p.web.URL }

func (p *proxy) setPlan(plan func(n int) fault) {
	p.mu.Lock()
	p.plan, p.n = plan, 0
	p.mu.Unlock()
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.web.CloseClientConnections()
	}
}

// stats returns and resets the counters of delivered sync answers.
func (p *proxy) stats() (pages int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pages, bytes = p.pages, p.bytesOut
	p.pages, p.bytesOut = 0, 0
	return
}

func (p *proxy) faultCounts() map[fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[fault]int{}
	for k, v := range p.faults {
		out[k] = v
	}
	return out
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := pass
	if p.down {
		p.mu.Unlock()
		hangUp(w)
		return
	}
	if r.URL.Path == "/v1/sync" && p.plan != nil {
		p.n++
		f = p.plan(p.n)
	}
	p.faults[f]++
	p.mu.Unlock()
	switch f {
	case dropRequest:
		_, _ = io.CopyN(io.Discard, r.Body, max(r.ContentLength/2, 1))
		hangUp(w)
		return
	case badGateway:
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		return
	case unavailable, tooMany:
		w.Header().Set("Retry-After", "1")
		status := map[fault]int{unavailable: http.StatusServiceUnavailable, tooMany: http.StatusTooManyRequests}[f]
		http.Error(w, "<html>try later</html>", status)
		return
	case slow:
		time.Sleep(30 * time.Millisecond)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		p.t.Error(err)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.tr.RoundTrip(req)
	if err != nil {
		hangUp(w)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		hangUp(w)
		return
	}
	if f == dropReply {
		hangUp(w) // the server has committed; the device never hears of it
		return
	}
	if r.URL.Path == "/v1/sync" && resp.StatusCode == http.StatusOK {
		p.mu.Lock()
		p.pages++
		p.bytesOut += int64(len(data))
		p.mu.Unlock()
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// waitFor waits until cond holds for a published state, failing after a
// generous deadline (a hang, not a timing requirement).
func waitFor(t testing.TB, e *engine.Engine, what string, cond func(engine.State) bool) engine.State {
	t.Helper()
	return expect(t, e, what, cond)()
}

// expect starts watching for a state now and returns the wait: a test that
// causes the state (a save the loop pushes within milliseconds) subscribes
// before causing it, or may miss it.
func expect(t testing.TB, e *engine.Engine, what string, cond func(engine.State) bool) func() engine.State {
	t.Helper()
	ch := make(chan engine.State, 1)
	unsub := e.Subscribe(func(s engine.State) {
		if cond(s) {
			select {
			case ch <- s:
			default:
			}
		}
	})
	return func() engine.State {
		t.Helper()
		defer unsub()
		select {
		case s := <-ch:
			return s
		case <-time.After(60 * time.Second):
			t.Fatalf("waiting for %s: last state %+v", what, e.State())
		}
		return engine.State{}
	}
}
