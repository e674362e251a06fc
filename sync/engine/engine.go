package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/protocol"
)

// Options tune an Engine. The zero value is ready to use.
type Options struct {
	// Interval is the period of automatic syncs while online; 5 minutes
	// when 0.
	Interval time.Duration
	// ProbeMin and ProbeMax bound the wait between two probes of the
	// server while offline: it doubles from ProbeMin (5 s) up to ProbeMax
	// (2 minutes), and starts over when the network changes.
	ProbeMin, ProbeMax time.Duration
	// NetCheck is how often the network interfaces and the outbox are
	// looked at: a new address means the network changed (probe now), a
	// longer outbox means the coordinator saved something (push soon).
	// 5 s when 0; never when negative.
	NetCheck time.Duration
	// PushDelay is how long after a local change an automatic push waits,
	// so that a burst of saves goes in one request; 2 s when 0.
	PushDelay time.Duration
	// BatchSize bounds the mutations of one request (1,000 when 0, at most
	// protocol.MaxMutations); BatchBytes bounds their values (4 MiB when
	// 0), well under the server's body limits.
	BatchSize  int
	BatchBytes int
	// RequestTimeout is the overall deadline of one request, retries
	// included; 10 minutes when 0.
	RequestTimeout time.Duration
	// Client is the template of the HTTP client: CA file, timeouts,
	// retries, transport. Server and Token come from the session.
	Client client.Config
	// DeviceName names this computer in the server's device list; the
	// host name when empty.
	DeviceName string
	// AppVersion is sent with every sync, for the server's device list,
	// and names the app in the User-Agent header.
	AppVersion string
	// Logger receives diagnostics; slog.Default when nil.
	Logger *slog.Logger
	// Now is the wall clock; time.Now when nil.
	Now func() time.Time
}

// Errors of the engine itself; the client's sentinels come through as they
// are.
var (
	// ErrNotSignedIn means the device has no token: sign in first.
	ErrNotSignedIn = errors.New("not signed in")
	// ErrNotRevoked means sign-out forgot the token on this device but
	// could not tell the server (offline): the token stays valid there
	// until the central office revokes the device.
	ErrNotRevoked = errors.New("signed out here, but the server could not be told")
	// ErrLocal wraps a failure of the local store during a sync.
	ErrLocal = errors.New("local data could not be updated")
	// ErrNotAcknowledged means the server answered without acknowledging
	// the mutations it was sent: a server defect; the sync stops rather
	// than loop.
	ErrNotAcknowledged = errors.New("server did not acknowledge the changes sent")
)

// Summary is what one sync did.
type Summary struct {
	// Pushed counts mutations the server acknowledged, Rejected those of
	// them it refused (now in the quarantine).
	Pushed, Rejected int
	// Pulled counts changes received, in Pages pages.
	Pulled, Pages int
	// Refetched is set when the server's data had been restored and the
	// device fetched everything again.
	Refetched bool
	// Requests, BytesSent and BytesReceived are the HTTP attempts and the
	// body bytes on the wire (compressed).
	Requests, BytesSent, BytesReceived int64
}

// Engine is the app's sync loop over one store. Its methods are safe for
// concurrent use.
type Engine struct {
	st     *store.Store
	opt    Options
	log    *slog.Logger
	device string

	mu         sync.Mutex
	state      State
	subs       map[int]func(State)
	nextSub    int
	cl         *client.Client
	auto       bool
	started    bool
	syncCancel context.CancelFunc
	pending    int // outbox length last seen by the loop

	pubMu  sync.Mutex // publishes in order
	syncMu sync.Mutex // one sync, sign-in or sign-out at a time

	wake   chan struct{} // sync now
	kick   chan struct{} // something changed: look again soon
	cancel context.CancelFunc
	done   chan struct{}
}

// Defaults.
const (
	defaultInterval       = 5 * time.Minute
	defaultProbeMin       = 5 * time.Second
	defaultProbeMax       = 2 * time.Minute
	defaultNetCheck       = 5 * time.Second
	defaultPushDelay      = 2 * time.Second
	defaultBatchSize      = 1000
	defaultBatchBytes     = 4 << 20
	defaultRequestTimeout = 10 * time.Minute
	signOutTimeout        = 10 * time.Second
)

// New returns an engine over st, not yet started. It reads the session and
// the counts so that State is right at once.
func New(st *store.Store, opt Options) *Engine {
	if opt.Interval <= 0 {
		opt.Interval = defaultInterval
	}
	if opt.ProbeMin <= 0 {
		opt.ProbeMin = defaultProbeMin
	}
	if opt.ProbeMax < opt.ProbeMin {
		opt.ProbeMax = max(defaultProbeMax, opt.ProbeMin)
	}
	if opt.NetCheck == 0 {
		opt.NetCheck = defaultNetCheck
	}
	if opt.PushDelay <= 0 {
		opt.PushDelay = defaultPushDelay
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = defaultBatchSize
	}
	opt.BatchSize = min(opt.BatchSize, protocol.MaxMutations)
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = defaultBatchBytes
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = defaultRequestTimeout
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DeviceName == "" {
		opt.DeviceName, _ = os.Hostname()
	}
	e := &Engine{st: st, opt: opt, log: opt.Logger, device: st.DeviceID(), auto: true,
		subs: map[int]func(State){}, wake: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	sess, err := st.Session()
	if err == nil && sess.SignedIn() {
		e.cl, err = e.newClient(sess.Server, sess.Token, sess.CAFile)
	}
	e.state.SignedIn = e.cl != nil
	e.state.LastError = err
	if ss, err := st.SyncState(); err == nil {
		e.state.LastSuccess = ss.LastSync
	}
	e.counts().set(&e.state)
	e.pending = e.state.Pending
	return e
}

// newClient makes a client for server; caFile, when set, replaces the
// options' (it is the one given at sign-in).
func (e *Engine) newClient(server, token, caFile string) (*client.Client, error) {
	cfg := e.opt.Client
	cfg.Server, cfg.Token = server, token
	if caFile != "" {
		cfg.CAFile = caFile
	}
	if cfg.Logger == nil {
		cfg.Logger = e.log
	}
	if cfg.UserAgent == "" && e.opt.AppVersion != "" {
		cfg.UserAgent = "Terrain/" + e.opt.AppVersion
	}
	return client.New(cfg)
}

// counts are what the status bar shows besides the sync itself; -1 when
// unreadable.
type counts struct{ pending, conflicts, quarantined int }

func (e *Engine) counts() counts {
	c := counts{-1, -1, -1}
	if n, err := e.st.PendingCount(); err == nil {
		c.pending = n
	}
	if n, err := e.st.ConflictCount(); err == nil {
		c.conflicts = n
	}
	if n, err := e.st.QuarantineCount(); err == nil {
		c.quarantined = n
	}
	return c
}

// set copies the counts into s; a count that could not be read leaves the
// previous one: they inform, the sync result is what matters.
func (c counts) set(s *State) {
	if c.pending >= 0 {
		s.Pending = c.pending
	}
	if c.conflicts >= 0 {
		s.Conflicts = c.conflicts
	}
	if c.quarantined >= 0 {
		s.Quarantined = c.quarantined
	}
}

// recount publishes fresh counts.
func (e *Engine) recount() {
	c := e.counts()
	e.update(func(s *State) {
		c.set(s)
		if c.pending >= 0 {
			e.pending = c.pending
		}
	})
}

// Subscribe calls fn with the current state at once, then with every new
// state, in order, until unsubscribe is called. fn runs on the engine's
// goroutine (or the caller of SignIn or SignOut): it must return quickly
// and must not call Stop or SignOut. The UI hands the state to its own
// goroutine with fyne.Do.
func (e *Engine) Subscribe(fn func(State)) (unsubscribe func()) {
	e.pubMu.Lock()
	e.mu.Lock()
	id := e.nextSub
	e.nextSub++
	e.subs[id] = fn
	st := e.state
	e.mu.Unlock()
	fn(st)
	e.pubMu.Unlock()
	return func() {
		e.mu.Lock()
		delete(e.subs, id)
		e.mu.Unlock()
	}
}

// State returns the last published state.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// update changes the state under the lock and publishes the result.
func (e *Engine) update(fn func(s *State)) {
	e.pubMu.Lock()
	defer e.pubMu.Unlock()
	e.mu.Lock()
	fn(&e.state)
	st := e.state
	subs := make([]func(State), 0, len(e.subs))
	for _, id := range slices.Sorted(maps.Keys(e.subs)) {
		subs = append(subs, e.subs[id])
	}
	e.mu.Unlock()
	for _, fn := range subs {
		fn(st)
	}
}

// Start starts the background loop: it probes the server, syncs when it
// comes back, on the timer and when asked. Starting twice does nothing.
func (e *Engine) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return
	}
	e.started = true
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan struct{})
	go e.loop(ctx)
}

// SyncNow asks for a sync as soon as possible, even with automatic syncs
// off or the server unreachable (the attempt then says why).
func (e *Engine) SyncNow() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Refresh re-reads the counts (after the coordinator saved something) and,
// with automatic syncs on, pushes soon. The loop also notices a longer
// outbox by itself within Options.NetCheck.
func (e *Engine) Refresh() {
	e.recount()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// SetAutoSync turns automatic syncs (on the timer, on reconnection, after
// a local change) on or off; SyncNow works either way.
func (e *Engine) SetAutoSync(on bool) {
	e.mu.Lock()
	e.auto = on
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) autoSync() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.auto
}

func (e *Engine) client() *client.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cl
}

// Stop ends the loop and any sync in progress: the request in flight is
// abandoned (the server applies a push whole or not at all, and a retry
// later is harmless); a page being stored is finished first. It returns
// ctx's error if the loop has not ended by then.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	if e.syncCancel != nil {
		e.syncCancel()
	}
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop sync: %w", ctx.Err())
	}
}

// loop is the engine's goroutine.
func (e *Engine) loop(ctx context.Context) {
	defer close(e.done)
	timer := time.NewTimer(0) // probe at once
	defer timer.Stop()
	var netC <-chan time.Time
	if e.opt.NetCheck > 0 {
		t := time.NewTicker(e.opt.NetCheck)
		defer t.Stop()
		netC = t.C
	}
	addrs := interfaceAddrs()
	probeWait := e.opt.ProbeMin
	reset := func(d time.Duration) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
			e.syncOnce(ctx)
			probeWait = e.opt.ProbeMin
			reset(e.nextWait(probeWait))
		case <-timer.C:
			var wait time.Duration
			wait, probeWait = e.tick(ctx, probeWait)
			reset(wait)
		case <-e.kick:
			if e.State().Online && e.autoSync() {
				reset(e.opt.PushDelay)
			}
		case <-netC:
			if now := interfaceAddrs(); now != addrs {
				// A new network: whatever the backoff said, look now, and
				// sync if the server is there.
				addrs = now
				probeWait = e.opt.ProbeMin
				if cl := e.client(); cl != nil && e.probe(ctx, cl) == nil && e.autoSync() {
					reset(0)
				} else {
					reset(probeWait)
				}
				continue
			}
			e.mu.Lock()
			before := e.pending
			e.mu.Unlock()
			if n, err := e.st.PendingCount(); err == nil && n != before {
				e.recount()
				if n > before && e.State().Online && e.autoSync() {
					reset(e.opt.PushDelay)
				}
			}
		}
	}
}

// nextWait is the wait after a sync: the probe backoff while offline; the
// interval while online, or the push delay when changes were saved during
// the sync that just ended.
func (e *Engine) nextWait(probeWait time.Duration) time.Duration {
	s := e.State()
	switch {
	case !s.Online:
		return probeWait
	case s.Pending > 0 && s.LastError == nil && e.autoSync():
		return e.opt.PushDelay
	}
	return e.opt.Interval
}

// tick is the timer's work: while offline, probe (and sync when the server
// is back); while online, sync. It returns the next wait and probe backoff.
func (e *Engine) tick(ctx context.Context, probeWait time.Duration) (time.Duration, time.Duration) {
	cl := e.client()
	if cl == nil {
		return e.opt.Interval, e.opt.ProbeMin
	}
	if !e.State().Online {
		err := e.probe(ctx, cl)
		if ctx.Err() != nil {
			return e.opt.Interval, probeWait
		}
		if err != nil {
			return probeWait, min(probeWait*2, e.opt.ProbeMax)
		}
	}
	if e.autoSync() {
		e.syncOnce(ctx)
	}
	if !e.State().Online {
		return e.opt.ProbeMin, min(e.opt.ProbeMin*2, e.opt.ProbeMax)
	}
	return e.nextWait(e.opt.ProbeMin), e.opt.ProbeMin
}

// probe asks the server whether it is there and publishes the answer.
func (e *Engine) probe(ctx context.Context, cl *client.Client) error {
	err := cl.Health(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e.update(func(s *State) { s.Online = err == nil })
	return err
}

// Probe checks once whether the server answers, and publishes the result.
func (e *Engine) Probe(ctx context.Context) error {
	cl := e.client()
	if cl == nil {
		return ErrNotSignedIn
	}
	return e.probe(ctx, cl)
}

// interfaceAddrs is the set of the machine's addresses as one string: Go
// has no portable notification of network changes, and this is cheap to
// poll on every platform.
func interfaceAddrs() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.String())
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// SyncOnce runs one whole sync now, on the caller's goroutine, publishing
// progress like the loop does: push the outbox, pull until the server has
// nothing more.
func (e *Engine) SyncOnce(ctx context.Context) (Summary, error) {
	return e.syncOnce(ctx)
}

func (e *Engine) syncOnce(ctx context.Context) (Summary, error) {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	cl := e.client()
	if cl == nil {
		c := e.counts()
		e.update(func(s *State) {
			s.LastError = ErrNotSignedIn
			c.set(s)
		})
		return Summary{}, ErrNotSignedIn
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.syncCancel = cancel
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.syncCancel = nil
		e.mu.Unlock()
	}()
	e.update(func(s *State) {
		s.Syncing = true
		s.PagesDone, s.RecordsDone, s.RecordsTotal = 0, 0, 0
	})
	before := cl.Stats()
	sum, err := e.cycle(ctx, cl)
	if errors.Is(err, ErrLocal) {
		// Local data that cannot be read (a value log torn by a crash)
		// is dropped and fetched again from the server, once.
		if rep, rerr := e.st.RepairUnreadable(); rerr == nil && rep.Total() > 0 {
			more, cerr := e.cycle(ctx, cl)
			more.Pushed += sum.Pushed
			more.Pulled += sum.Pulled
			more.Pages += sum.Pages
			more.Refetched = more.Refetched || rep.Records > 0
			sum, err = more, cerr
		}
	}
	after := cl.Stats()
	sum.Requests = after.Attempts - before.Attempts
	sum.BytesSent = after.BytesSent - before.BytesSent
	sum.BytesReceived = after.BytesReceived - before.BytesReceived
	now := e.opt.Now()
	if err == nil {
		if merr := e.st.MarkSynced(now); merr != nil {
			err = fmt.Errorf("%w: %w", ErrLocal, merr)
		}
	}
	if errors.Is(err, client.ErrUnauthorized) {
		// The token was revoked: it is of no use any more.
		if ferr := e.st.ForgetToken(); ferr != nil {
			e.log.Error("forget revoked token", "err", ferr)
		}
		e.mu.Lock()
		e.cl = nil
		e.mu.Unlock()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		e.log.Warn("sync failed", "err", err)
	}
	c := e.counts()
	e.update(func(s *State) {
		s.Syncing = false
		if err == nil {
			s.LastSuccess, s.LastError, s.Online = now, nil, true
		} else {
			s.LastError = err
			if isUnreachable(err) {
				s.Online = false
			} else if !errors.Is(err, context.Canceled) {
				s.Online = true // it answered, even if to refuse
			}
		}
		s.SignedIn = e.cl != nil
		c.set(s)
		e.pending = s.Pending
	})
	return sum, err
}

// Offline reports whether err only says that the server could not be
// reached: the normal state on the road, which the UI says calmly.
func Offline(err error) bool { return errors.Is(err, client.ErrOffline) }

func isUnreachable(err error) bool {
	return errors.Is(err, client.ErrOffline) || errors.Is(err, client.ErrTimeout) ||
		errors.Is(err, client.ErrServer) || errors.Is(err, context.DeadlineExceeded)
}

// cycle pushes the outbox in batches and pulls until the server has no
// more, storing each page with its cursor.
func (e *Engine) cycle(ctx context.Context, cl *client.Client) (Summary, error) {
	var sum Summary
	ss, err := e.st.SyncState()
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrLocal, err)
	}
	cursor, epoch := ss.Cursor, ss.Epoch
	// The backfill position is stored with each page: an interrupted
	// first sync (a backfill of every region) resumes where it stopped.
	var bf *protocol.Backfill
	if ss.Backfill != nil {
		bf = &protocol.Backfill{Through: ss.Backfill.Through, After: ss.Backfill.After}
	}
	// Edits saved during this sync go with it only while it has pages to
	// pull; otherwise the next sync, soon after, takes them.
	lastQueued := e.st.LastQueued()
	refetched := false
	for {
		muts, err := e.batch()
		if err != nil {
			return sum, err
		}
		req := protocol.SyncRequest{ClientID: e.device, SchemaVersion: protocol.SchemaVersion,
			Cursor: cursor, Epoch: epoch, Mutations: muts, Backfill: bf, AppVersion: e.opt.AppVersion}
		rctx, cancel := context.WithTimeout(ctx, e.opt.RequestTimeout)
		resp, err := cl.Sync(rctx, req)
		cancel()
		if errors.Is(err, client.ErrEpochChanged) && !refetched {
			// The server's data was restored: start over from nothing,
			// keeping the outbox, which is pushed with the first request.
			refetched = true
			sum.Refetched = true
			if err := e.st.BeginRefetch(); err != nil {
				return sum, fmt.Errorf("%w: %w", ErrLocal, err)
			}
			cursor, epoch, bf = 0, "", nil
			continue
		}
		if err != nil {
			return sum, err
		}
		if len(muts) > 0 && resp.AckedThrough < muts[len(muts)-1].Seq {
			return sum, ErrNotAcknowledged
		}
		page := storePage(resp)
		// Only what this request carried is trimmed from the outbox: a
		// broken server acknowledging more would erase changes it never
		// received. (Entries it did apply earlier are sent again, and
		// acknowledged then.)
		var sent uint64
		if len(muts) > 0 {
			sent = muts[len(muts)-1].Seq
		}
		page.AckedThrough = min(page.AckedThrough, sent)
		res, err := e.st.ApplyPull(page, e.keepLocal)
		if err != nil {
			return sum, fmt.Errorf("%w: %w", ErrLocal, err)
		}
		sum.Pushed += res.Trimmed
		sum.Rejected += len(resp.Rejected)
		sum.Pulled += len(resp.Changes)
		sum.Pages++
		cursor, epoch, bf = resp.Cursor, resp.Epoch, resp.Backfill
		c := e.counts()
		e.update(func(s *State) {
			s.PagesDone++
			s.RecordsDone += len(resp.Changes)
			s.RecordsTotal = s.RecordsDone + resp.Remaining
			c.set(s)
		})
		if resp.HasMore {
			continue
		}
		// At the end of a refetch, what this device had pushed and the
		// restored server lacks is queued again, and goes with this sync.
		if n, err := e.st.Requeue(); err != nil {
			return sum, fmt.Errorf("%w: %w", ErrLocal, err)
		} else if n > 0 {
			lastQueued = e.st.LastQueued()
			// The restored server remembers an older last mutation of this
			// device, and takes the gap to the requeued ones for lost work
			// unless the request says it comes from a refetch.
			epoch = ""
		}
		next, err := e.st.Outbox(0, 1)
		if err != nil {
			return sum, fmt.Errorf("%w: %w", ErrLocal, err)
		}
		if len(next) > 0 && next[0].Seq <= lastQueued {
			continue // the rest of the backlog, batch after batch
		}
		return sum, nil
	}
}

// batch takes the first mutations of the outbox, bounded in number and in
// bytes (at least one).
func (e *Engine) batch() ([]protocol.Mutation, error) {
	muts, err := e.st.Outbox(0, e.opt.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLocal, err)
	}
	out := make([]protocol.Mutation, 0, len(muts))
	size := 0
	for _, m := range muts {
		n := 128
		for k, v := range m.Fields {
			n += len(k) + len(v) + 32
		}
		if len(out) > 0 && size+n > e.opt.BatchBytes {
			break
		}
		size += n
		out = append(out, protocol.Mutation{Seq: m.Seq, Kind: m.Kind, ID: m.ID, Delete: m.Delete,
			Fields: m.Fields, Base: m.Base, HLC: m.HLC})
	}
	return out, nil
}

// keepLocal predicts the server's decision for a pending local edit of a
// pulled field with the protocol's merge rule, the edit as the incoming
// write: the value that will win is the one shown.
func (e *Engine) keepLocal(fm store.FieldMerge) bool {
	cur := protocol.FieldState{Value: fm.Server, Set: fm.ServerSet,
		Version: protocol.FieldVersion{HLC: fm.Stamp.HLC, Seq: fm.Stamp.Seq, Device: fm.Stamp.Device}}
	apply, _ := protocol.Decide(cur, protocol.FieldWrite{Value: fm.Local.Value, Base: fm.Local.Base,
		HLC: fm.Local.HLC, Device: e.device})
	return apply
}

// storePage converts a sync response into what the store applies.
func storePage(r protocol.SyncResponse) store.Page {
	p := store.Page{AckedThrough: r.AckedThrough, DroppedRegions: r.DroppedRegions, Cursor: r.Cursor, Epoch: r.Epoch,
		Rejected: make([]store.Rejection, len(r.Rejected)), Changes: make([]store.Change, len(r.Changes))}
	if r.Backfill != nil {
		p.Backfill = &store.Backfill{Through: r.Backfill.Through, After: r.Backfill.After}
	}
	for i, rj := range r.Rejected {
		p.Rejected[i] = store.Rejection{Seq: rj.Seq, Kind: rj.Kind, ID: rj.ID, Code: rj.Code, Message: rj.Message, Fields: rj.Fields}
	}
	for i, c := range r.Changes {
		sc := store.Change{Seq: c.Seq, Kind: c.Kind, ID: c.ID, Delete: c.Delete, Removed: c.Removed, Erased: c.Erased,
			Fields: c.Fields}
		if len(c.Versions) > 0 {
			sc.Versions = make(map[string]store.FieldStamp, len(c.Versions))
			for name, v := range c.Versions {
				sc.Versions[name] = store.FieldStamp{HLC: v.HLC, Seq: v.Seq, Device: v.Device}
			}
		}
		p.Changes[i] = sc
	}
	return p
}

// SignIn exchanges an e-mail and a password for this device's token at
// server, and keeps the token in the encrypted store. The next sync starts
// at once when the loop runs.
func (e *Engine) SignIn(ctx context.Context, server, email, password string) error {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	cl, err := e.newClient(server, "", "")
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	resp, err := cl.SignIn(ctx, email, password, e.device, e.opt.DeviceName)
	if err != nil {
		e.update(func(s *State) { s.Online = !isUnreachable(err) })
		return fmt.Errorf("sign in: %w", err)
	}
	me := domain.Coordinator{ID: resp.Coordinator.ID, Name: resp.Coordinator.Name,
		Email: resp.Coordinator.Email, Regions: resp.Coordinator.Regions}
	sess := store.Session{Server: cl.Server(), CAFile: e.opt.Client.CAFile, Token: resp.Token,
		Email: resp.Coordinator.Email, Role: resp.Coordinator.Role, SignedInAt: e.opt.Now().UTC()}
	if err := e.st.SaveSession(sess, me); err != nil {
		return fmt.Errorf("sign in: %w: %w", ErrLocal, err)
	}
	cl.SetToken(resp.Token)
	e.mu.Lock()
	e.cl = cl
	e.mu.Unlock()
	e.update(func(s *State) {
		s.SignedIn, s.Online, s.LastError = true, true, nil
	})
	e.SyncNow()
	return nil
}

// SignOut forgets the device token. The server is told when it can be
// (ErrNotRevoked otherwise: the token is gone from here all the same). The
// data, the cursor and the unsent changes stay: signing in again carries
// on and sends them.
func (e *Engine) SignOut(ctx context.Context) error {
	e.mu.Lock()
	if e.syncCancel != nil {
		e.syncCancel()
	}
	e.mu.Unlock()
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	cl := e.client()
	var revokeErr error
	if cl != nil {
		rctx, cancel := context.WithTimeout(ctx, signOutTimeout)
		err := cl.SignOut(rctx)
		cancel()
		if err != nil && !errors.Is(err, client.ErrUnauthorized) {
			e.log.Warn("sign out on the server", "err", err)
			revokeErr = fmt.Errorf("%w: %w", ErrNotRevoked, err)
		}
	}
	if err := e.st.ForgetToken(); err != nil {
		return fmt.Errorf("sign out: %w: %w", ErrLocal, err)
	}
	e.mu.Lock()
	e.cl = nil
	e.mu.Unlock()
	c := e.counts()
	e.update(func(s *State) {
		s.SignedIn, s.Syncing, s.LastError = false, false, nil
		c.set(s)
	})
	return revokeErr
}

// MessageID returns the locales message ID that explains err to a
// coordinator ("" for nil). Every ID it returns exists in both languages.
func MessageID(err error) string {
	if err == nil {
		return ""
	}
	for _, m := range messages {
		if errors.Is(err, m.err) {
			return m.id
		}
	}
	return "sync.error.unexpected"
}

// messages maps errors to message IDs, most specific first.
var messages = []struct {
	err error
	id  string
}{
	{ErrNotSignedIn, "sync.error.signed_out"},
	{ErrNotRevoked, "sync.error.not_revoked"},
	{ErrLocal, "sync.error.local"},
	{ErrNotAcknowledged, "sync.error.server"},
	{client.ErrInsecure, "sync.error.insecure"},
	{client.ErrBadURL, "sync.error.bad_url"},
	{client.ErrCertificate, "sync.error.certificate"},
	{client.ErrUnauthorized, "sync.error.unauthorized"},
	{client.ErrBadCredentials, "sync.error.bad_credentials"},
	{client.ErrTooManyAttempts, "sync.error.too_many_attempts"},
	{client.ErrDisabled, "sync.error.disabled"},
	{client.ErrForbidden, "sync.error.forbidden"},
	{client.ErrEpochChanged, "sync.error.epoch_changed"},
	{client.ErrUnsupported, "sync.error.upgrade"},
	{client.ErrRefused, "sync.error.refused"},
	{client.ErrServer, "sync.error.server"},
	{client.ErrTimeout, "sync.error.timeout"},
	{context.DeadlineExceeded, "sync.error.timeout"},
	{client.ErrOffline, "sync.error.offline"},
	{context.Canceled, "sync.error.interrupted"},
}

// MessageIDs lists every ID MessageID may return, for the locales tests.
func MessageIDs() []string {
	ids := []string{"sync.error.unexpected"}
	for _, m := range messages {
		ids = append(ids, m.id)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
