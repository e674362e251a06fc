package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// KindConflict names conflict records, as on the wire: the value the server
// kept from a concurrent edit that lost, delivered like any record.
const KindConflict domain.Kind = "conflict"

// Keys of the sync side of the store.
const (
	// pConflict is "cf/<id>" -> the envelope of a conflict record.
	pConflict = "cf/"
	// pQuarantine is "q/<seq>" -> a mutation the server refused.
	pQuarantine = "q/"
	// kRefetch marks a refetch in progress: the next pulled page first
	// clears the records of the old epoch.
	kRefetch = "meta/refetch"
	kSession = "meta/session"
)

// FieldStamp is the server's stamp of a field's last write.
type FieldStamp struct {
	HLC    hlc.Timestamp
	Seq    uint64
	Device string
}

// Change is one record of the server's change feed: its full current state,
// a tombstone (Delete) or its removal from the device's scope (Removed).
type Change struct {
	Seq     uint64
	Kind    domain.Kind
	ID      string
	Delete  bool
	Removed bool
	// Erased: the server keeps nothing of the record either (see forget).
	Erased   bool
	Fields   map[string]json.RawMessage
	Versions map[string]FieldStamp
}

// Rejection is a pushed mutation the server refused, with its reason.
type Rejection struct {
	Seq     uint64
	Kind    domain.Kind
	ID      string
	Code    string
	Message string
	Fields  []domain.FieldError
}

// Page is one answer of the server, as the store applies it.
type Page struct {
	// AckedThrough: the outbox is trimmed up to it.
	AckedThrough uint64
	// Rejected go to the quarantine.
	Rejected []Rejection
	// DroppedRegions: every record of these regions is deleted, before
	// Changes are applied.
	DroppedRegions []string
	Changes        []Change
	// Cursor, Epoch and Backfill are stored with the changes.
	Cursor   uint64
	Epoch    string
	Backfill *Backfill
}

// Backfill is the server's position in a backfill: the records of regions
// the device gained (every region, on the first sync) up to Through, sent up
// to After. The server accepts it back while the backfill it names runs.
type Backfill struct {
	Through uint64 `json:"through"`
	After   uint64 `json:"after"`
}

// PendingWrite is a local edit of one field that the server has not
// acknowledged: the latest value, the base of the first pending edit (what
// the server will compare) and the stamp of the latest.
type PendingWrite struct {
	Value json.RawMessage
	Base  uint64
	HLC   hlc.Timestamp
}

// FieldMerge is a pulled field that has a pending local edit.
type FieldMerge struct {
	Field string
	// Server is the pulled value; Stamp its version, ServerSet false when
	// the server has no version for the field.
	Server    json.RawMessage
	Stamp     FieldStamp
	ServerSet bool
	Local     PendingWrite
}

// KeepLocal decides whether a pending local edit stays on top of a pulled
// value of the same field. The sync engine predicts the server's merge rule
// with it (the edit will be pushed and merged there; the outcome comes
// back through the feed). Nil keeps every local edit on top. Either way the
// local value stays in the outbox until the server has it.
type KeepLocal func(FieldMerge) bool

// PullResult counts what ApplyPull did.
type PullResult struct {
	// Applied counts changes stored (records, conflicts, services,
	// coordinators); Deleted tombstones and removals applied.
	Applied, Deleted int
	// Quarantined counts refused mutations moved to the quarantine;
	// Trimmed the outbox entries acknowledged.
	Quarantined, Trimmed int
}

// Budgets of one apply transaction, in Badger's own reckoning (entrySize).
// A page of incremental changes fits in one; a first-sync page (2 MiB of
// JSON) does not fit in one Badger transaction with the laptop profile
// (Badger takes 15% of the memtable, 1.2 MiB), so it is committed in
// several, the cursor in the last. Records are sized exactly; the margin
// covers the few writes sized by a bound (tombstones, purges) and those of
// the last transaction (cursor, clock, catalog).
const (
	applyTxnBytes = memTableSize*15/100 - 64<<10
	applyTxnOps   = 8000
)

// ApplyPull applies one page pulled from the server: it moves refused
// mutations to the quarantine, trims the outbox through AckedThrough,
// deletes the records of dropped regions, stores the changes (tombstones,
// removals, conflicts, services, coordinators), folds their clocks into the
// device's hybrid logical clock, and stores the cursor and epoch, with the
// in-memory member index following.
//
// A field with a pending local edit keeps the local value on top when keep
// says so, and takes the server's sequence as the base of the next edit.
//
// The page is applied in one transaction when it fits; a larger one in
// several, the cursor and epoch always in the last. Applying a change twice
// gives the same state, so an interruption leaves the old cursor, the page
// is pulled again and the result is the same: nothing is lost or doubled.
// During a refetch (BeginRefetch) the first page first clears the records
// of the old epoch, except those with local edits not yet acknowledged.
func (s *Store) ApplyPull(p Page, keep KeepLocal) (PullResult, error) {
	if err := s.acquire(); err != nil {
		return PullResult{}, err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a := &applier{s: s, keep: keep, pending: map[string]*pendingRecord{},
		maxDay: map[string]int{}, dirty: map[string]bool{}, sums: map[string]*memberSummary{},
		gone: map[string]bool{}, erased: map[string]bool{}}
	defer a.close()
	if err := a.run(p); err != nil {
		return PullResult{}, fmt.Errorf("apply pull: %w", err)
	}
	return a.res, nil
}

// applier applies one page, in as many transactions as it takes.
type applier struct {
	s    *Store
	keep KeepLocal
	w    *writeTx
	// snap reads the committed state: an iterator over a transaction with
	// pending writes sorts them all each time it is made.
	snap       *badger.Txn
	bytes, ops int

	// sums holds the summaries committed by this apply; the in-memory
	// index takes them once, at the end (or on failure), instead of being
	// re-sorted at every commit.
	sums      map[string]*memberSummary
	published bool

	pending map[string]*pendingRecord // "<kind>/<id>"
	maxDay  map[string]int            // latest visit day stored, per member
	dirty   map[string]bool           // members whose history lost or moved a visit

	services      []domain.Service
	servicesDirty bool
	me            string
	stashed       map[string]bool // records stashed by BeginRefetch (requeue.go)
	res           PullResult

	// pipelined is set while the changes of a page are applied: commits
	// then overlap with the next transaction (next). flying is the
	// transaction being committed; unseen the records it wrote, which
	// the current transaction cannot see; written those the current one
	// wrote; tracked that written holds all it wrote that the changes
	// may read.
	pipelined bool
	tracked   bool
	flying    *flight
	unseen    map[string]bool
	written   map[string]bool

	// gone holds the records ("<kind>/<id>") whose erased tombstone
	// (Change.Erased) this page brought, and erased the members among
	// them: forget drops what the device still holds about them.
	gone   map[string]bool
	erased map[string]bool

	// hidden holds the pulled values merged kept under pending edits,
	// until rebase records them.
	hidden []hiddenValue
}

type pendingRecord struct {
	fields  map[string]PendingWrite
	deleted bool
	// first holds, per field, the outbox number of its first pending edit.
	first map[string]uint64
}

// hiddenValue is a pulled value kept under a pending local edit: the first
// edit of the field, numbered seq, now replaces it (rebase).
type hiddenValue struct {
	seq   uint64
	field string
	value json.RawMessage
}

func refKey(kind domain.Kind, id string) string { return string(kind) + "/" + id }

func (a *applier) close() {
	// A transaction still being committed may land: the index must
	// follow what the disk holds.
	a.land()
	a.publish()
	if a.w != nil {
		a.w.txn.Discard()
	}
	if a.snap != nil {
		a.snap.Discard()
	}
}

func (a *applier) begin() {
	a.w = &writeTx{s: a.s, txn: a.s.db.NewTransaction(true), seq: a.s.outSeq}
	a.bytes, a.ops = 0, 0
	a.unseen, a.written, a.tracked = nil, map[string]bool{}, a.pipelined
}

// commit commits the current transaction, after the one in flight.
func (a *applier) commit() error {
	if err := a.land(); err != nil {
		return err
	}
	if err := a.w.txn.Commit(); err != nil {
		return err
	}
	maps.Copy(a.sums, a.w.summary)
	return nil
}

// flight is a transaction being committed while the next one fills.
type flight struct {
	w       *writeTx
	written map[string]bool
	done    chan error
}

// next commits the current transaction and begins another. Among the
// changes of a page, the commit (Badger writing and syncing its log) runs
// while the applier fills the next transaction, which is begun first so as
// not to wait for it: that one cannot see what the other wrote, so a record
// written there is read only once it has landed (record). Badger writes
// commits in order, one at a time, and the cursor's commit waits for every
// earlier one: an interruption still leaves the cursor behind the data.
func (a *applier) next() error {
	if !a.tracked {
		if err := a.commit(); err != nil {
			return err
		}
		a.begin()
		return nil
	}
	// The next transaction sees what landed before it begins.
	if err := a.land(); err != nil {
		return err
	}
	txn := a.s.db.NewTransaction(true)
	f := &flight{w: a.w, written: a.written, done: make(chan error, 1)}
	a.w.txn.CommitWith(func(err error) { f.done <- err })
	a.flying = f
	a.w = &writeTx{s: a.s, txn: txn, seq: a.s.outSeq}
	a.bytes, a.ops = 0, 0
	a.unseen, a.written, a.tracked = f.written, map[string]bool{}, true
	return nil
}

// land waits for the transaction in flight, if any, to be committed.
func (a *applier) land() error {
	f := a.flying
	if f == nil {
		return nil
	}
	a.flying = nil
	if err := <-f.done; err != nil {
		return err
	}
	maps.Copy(a.sums, f.w.summary)
	return nil
}

// publish hands the committed summaries to the in-memory index, once.
func (a *applier) publish() {
	if !a.published {
		a.published = true
		a.s.members.apply(a.sums)
	}
}

// summary is loadSummary seeing this apply's earlier commits.
func (a *applier) summary(id string) *memberSummary {
	if sum, ok := a.w.summary[id]; ok {
		return sum
	}
	if a.flying != nil {
		if sum, ok := a.flying.w.summary[id]; ok {
			return sum
		}
	}
	if sum, ok := a.sums[id]; ok {
		return sum
	}
	return a.s.members.get(id)
}

// room commits the current transaction when the next write might not fit.
func (a *applier) room(size, ops int) error {
	if a.ops > 0 && (a.bytes+size > applyTxnBytes || a.ops+ops > applyTxnOps) {
		if err := a.next(); err != nil {
			return err
		}
	}
	a.bytes += size
	a.ops += ops
	return nil
}

// resnap starts a new snapshot of the committed state.
func (a *applier) resnap() {
	if a.snap != nil {
		a.snap.Discard()
	}
	a.snap = a.s.db.NewTransaction(false)
}

func (a *applier) run(p Page) error {
	a.resnap()
	refetch, err := getUint(a.snap, kRefetch)
	if err != nil {
		return err
	}
	if err := a.loadPending(p.AckedThrough); err != nil {
		return err
	}
	if a.me, err = getString(a.snap, kMe); err != nil {
		return err
	}
	a.stashed = loadStashed(a.snap)
	if a.stashed != nil {
		if err := a.injectStashed(); err != nil {
			return err
		}
	}
	if refetch != 0 {
		keep, err := a.keepers()
		if err != nil {
			return err
		}
		if err := a.s.wipe(a.snap, keep); err != nil {
			return err
		}
		a.resnap()
		for _, e := range a.s.members.entries() {
			a.dirty[e] = true // their visits were cleared
		}
	}
	a.begin()
	if err := a.quarantine(p.Rejected); err != nil {
		return err
	}
	if err := a.trim(p.AckedThrough); err != nil {
		return err
	}
	if err := a.dropRegions(p.DroppedRegions); err != nil {
		return err
	}
	prep := a.prepare(p.Changes)
	defer prep.close()
	// What was written so far (refused changes, trims, dropped regions)
	// is not tracked: the first commit will not overlap.
	a.pipelined, a.tracked = true, a.ops == 0
	for i := range p.Changes {
		if err := a.change(&p.Changes[i], prep.take(i)); err != nil {
			c := &p.Changes[i]
			return fmt.Errorf("change %d (%s %s): %w", c.Seq, c.Kind, c.ID, err)
		}
	}
	a.pipelined, a.tracked = false, false
	if err := a.forget(); err != nil {
		return err
	}
	if err := a.lastVisits(); err != nil {
		return err
	}
	if a.servicesDirty {
		if err := setJSON(a.w.txn, []byte(kServices), a.services); err != nil {
			return err
		}
	}
	var st SyncState
	if _, err := getJSON(a.w.txn, kSync, &st); err != nil {
		return err
	}
	st.Cursor, st.Epoch, st.Backfill = p.Cursor, p.Epoch, p.Backfill
	if err := setJSON(a.w.txn, []byte(kSync), st); err != nil {
		return err
	}
	if err := setUint(a.w.txn, kHLC, uint64(a.s.clock.Last())); err != nil {
		return err
	}
	if refetch != 0 {
		if err := a.w.txn.Delete([]byte(kRefetch)); err != nil {
			return err
		}
	}
	if err := a.commit(); err != nil {
		return err
	}
	a.publish()
	return nil
}

// loadPending reads the outbox past acked: the local edits the server has
// not seen yet.
func (a *applier) loadPending(acked uint64) error {
	opt := badger.DefaultIteratorOptions
	opt.Prefix = []byte(pOutbox)
	it := a.snap.NewIterator(opt)
	defer it.Close()
	for it.Seek(outboxKey(acked + 1)); it.Valid(); it.Next() {
		var m Mutation
		err := it.Item().Value(func(val []byte) error { return jsonUnmarshal(it.Item().Key(), val, &m) })
		if err != nil {
			return err
		}
		pr := a.pending[refKey(m.Kind, m.ID)]
		if pr == nil {
			pr = &pendingRecord{fields: map[string]PendingWrite{}, first: map[string]uint64{}}
			a.pending[refKey(m.Kind, m.ID)] = pr
		}
		if m.Delete {
			pr.deleted = true
			continue
		}
		for name, v := range m.Fields {
			pw, seen := pr.fields[name]
			if !seen {
				pw.Base = m.Base[name]
				pr.first[name] = m.Seq
			}
			pw.Value, pw.HLC = v, m.HLC
			pr.fields[name] = pw
		}
	}
	return nil
}

// keepers are the records a refetch must not clear: those with pending
// edits or refused ones, and the members of those.
func (a *applier) keepers() (map[string]bool, error) {
	keep := make(map[string]bool, len(a.pending))
	for k := range a.pending {
		keep[k] = true
	}
	err := scanValues(a.snap, []byte(pQuarantine), func(key, val []byte) (bool, error) {
		var q Quarantined
		if err := jsonUnmarshal(key, val, &q); err != nil {
			return false, err
		}
		keep[refKey(q.Mutation.Kind, q.Mutation.ID)] = true
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	// Changes unsent when the refetch began were folded into the stash
	// (requeue.go): their records stay too.
	unsent, err := stashedUnsent(a.snap)
	if err != nil {
		return nil, err
	}
	maps.Copy(keep, unsent)
	for k := range maps.Clone(keep) {
		kind, id, _ := strings.Cut(k, "/")
		if kind != string(domain.KindVisit) && kind != string(domain.KindFollowUp) {
			continue
		}
		_, env, err := findRecord(a.snap, domain.Kind(kind), id)
		if err != nil {
			return nil, err
		}
		if env == nil {
			continue
		}
		var ref struct {
			MemberID string `json:"member_id"`
		}
		if json.Unmarshal(env.Data, &ref) == nil && ref.MemberID != "" {
			keep[refKey(domain.KindMember, ref.MemberID)] = true
		}
	}
	return keep, nil
}

// quarantine moves refused mutations from the outbox to the quarantine. The
// server repeats a refusal when a push is retried; the entry is the same.
func (a *applier) quarantine(rejected []Rejection) error {
	now := a.s.now().UTC()
	for _, r := range rejected {
		key := quarantineKey(r.Seq)
		if old, err := getRaw(a.w.txn, key); err != nil {
			return err
		} else if old != nil {
			continue
		}
		q := Quarantined{Code: r.Code, Message: r.Message, Fields: r.Fields, At: now,
			Mutation: Mutation{Seq: r.Seq, Kind: r.Kind, ID: r.ID}}
		if _, err := getJSON(a.snap, string(outboxKey(r.Seq)), &q.Mutation); err != nil {
			return err
		}
		enc, err := json.Marshal(q)
		if err != nil {
			return err
		}
		if err := a.room(entrySize(len(key), len(enc)), 1); err != nil {
			return err
		}
		if err := a.w.txn.Set(key, enc); err != nil {
			return err
		}
		a.res.Quarantined++
	}
	return nil
}

// trim deletes the acknowledged outbox entries.
func (a *applier) trim(through uint64) error {
	var keys [][]byte
	scanKeys(a.snap, []byte(pOutbox), nil, func(key []byte) bool {
		if outboxSeq(key) > through {
			return false
		}
		keys = append(keys, bytes.Clone(key))
		return true
	})
	for _, k := range keys {
		if err := a.room(entrySize(len(k), 0), 1); err != nil {
			return err
		}
		if err := a.w.txn.Delete(k); err != nil {
			return err
		}
	}
	a.res.Trimmed = len(keys)
	return nil
}

// change applies one change; pre is the record prepared ahead, if it was.
func (a *applier) change(c *Change, pre *prepared) error {
	for _, v := range c.Versions {
		a.s.clock.Observe(v.HLC)
	}
	gone := c.Delete || c.Removed
	switch c.Kind {
	case domain.KindMember, domain.KindVisit, domain.KindFollowUp:
		if err := domain.CheckID(c.ID); err != nil {
			return err
		}
		return a.record(c, pre)
	case KindConflict:
		return a.conflict(c)
	case domain.KindService:
		return a.service(c, gone)
	case domain.KindCoordinator:
		return a.coordinator(c, gone)
	}
	return nil // a kind from a newer server: nothing this version can show
}

// merged is a pulled record's fields and versions with the pending local
// edits kept on top.
func (a *applier) merged(c *Change) (map[string]json.RawMessage, map[string]fieldVersion) {
	fields := maps.Clone(c.Fields)
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	versions := make(map[string]fieldVersion, len(c.Versions))
	for name, v := range c.Versions {
		versions[name] = fieldVersion{HLC: v.HLC, Seq: v.Seq, Mine: v.Device == a.s.device}
	}
	pr := a.pending[refKey(c.Kind, c.ID)]
	if pr == nil {
		return fields, versions
	}
	for name, pw := range pr.fields {
		stamp, set := c.Versions[name]
		if set && stamp.Device == a.s.device && stamp.HLC > pw.HLC {
			// This device's own later write (an unsent value stashed by a
			// refetch, written over and sent since): it stands.
			continue
		}
		fm := FieldMerge{Field: name, Server: c.Fields[name], Stamp: stamp, ServerSet: set, Local: pw}
		if a.keep == nil || a.keep(fm) {
			if set {
				a.hidden = append(a.hidden, hiddenValue{seq: pr.first[name], field: name, value: c.Fields[name]})
			}
			fields[name] = pw.Value
			// The next local edit of the field is based on what the
			// server has now, which this device has seen.
			versions[name] = fieldVersion{HLC: pw.HLC, Seq: stamp.Seq, Mine: true}
		}
	}
	return fields, versions
}

// rebase makes the pulled values kept under pending edits what those edits
// replaced (their Prev): what the server holds is then what discarding a
// refused one brings back, not the value the device had before the edit.
func (a *applier) rebase() error {
	hidden := a.hidden
	a.hidden = a.hidden[:0]
	for _, h := range hidden {
		key := outboxKey(h.seq)
		var m Mutation
		ok, err := getJSON(a.w.txn, string(key), &m)
		if err != nil || !ok {
			return err
		}
		if p, had := m.Prev[h.field]; had && sameValue(p, h.value) {
			continue
		}
		if m.Prev == nil {
			m.Prev = map[string]json.RawMessage{}
		}
		m.Prev[h.field] = h.value
		enc, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := a.room(entrySize(len(key), len(enc)), 1); err != nil {
			return err
		}
		if err := a.w.txn.Set(key, enc); err != nil {
			return err
		}
	}
	return nil
}

// record applies a change of a member, visit or follow-up, prepared ahead
// (pre) when it has no pending local edit.
func (a *applier) record(c *Change, pre *prepared) error {
	ref := refKey(c.Kind, c.ID)
	if a.unseen[ref] {
		// Written by the transaction in flight, which this one cannot
		// see: commit this one after it, and read in a new one.
		if err := a.commit(); err != nil {
			return err
		}
		a.begin()
	}
	if a.stashed[ref] && !c.Removed {
		if err := a.markSeen(ref, c); err != nil {
			return err
		}
	}
	// room may commit the current transaction and begin another: the
	// record is written, and so tracked, in the one after it.
	room := func(size, ops int) error {
		if err := a.room(size, ops); err != nil {
			return err
		}
		a.written[ref] = true
		return nil
	}
	from, prev, err := findRecord(a.w.txn, c.Kind, c.ID)
	if err != nil {
		return err
	}
	// Indexes need the previous value of visits and follow-ups only.
	var old any
	if prev != nil && prev.Deleted == 0 && c.Kind != domain.KindMember {
		if old, err = decodeValue(c.Kind, prev.Data); err != nil {
			return err
		}
	}
	switch {
	case c.Removed:
		if prev == nil {
			return nil
		}
		if err := room(512, 6); err != nil {
			return err
		}
		a.res.Deleted++
		return a.purge(c.Kind, c.ID, from, old)
	case c.Delete:
		// Members are only ever deleted by an erasure; other records say
		// so (an ordinary delete keeps their values on the server).
		if c.Erased || c.Kind == domain.KindMember {
			a.gone[refKey(c.Kind, c.ID)] = true
		}
		if c.Kind == domain.KindMember {
			a.erased[c.ID] = true
		}
		if prev == nil && (c.Kind != domain.KindMember || a.stashed == nil) {
			return nil // never had it: nothing to keep
		}
		if prev == nil {
			// During a refetch after a restore, a deleted member's id is
			// kept: Requeue must not send again what this device wrote
			// about it (requeue.go).
			prev = &envelope{}
		}
		// The server deleted it: only the id stays, so that saving over
		// it fails with ErrDeleted; what it held is gone from the device.
		// A tombstone it already had was deleted here (an erasure is
		// never pushed again).
		env := &envelope{Data: idOnly(c.ID), Deleted: prev.Deleted, Seq: c.Seq, Gone: true,
			Mine: prev.Deleted != 0 && (!prev.Gone || prev.Mine) && !c.Erased}
		if env.Deleted == 0 {
			env.Deleted = a.w.stamp()
		}
		if err := room(1024, 6); err != nil {
			return err
		}
		a.res.Deleted++
		if err := putRecord(a.w.txn, c.Kind, c.ID, from, placeOf(c.Kind, c.ID, nil), env); err != nil {
			return err
		}
		return a.reindex(c.Kind, c.ID, old, nil)
	}
	var cur any
	var to, enc []byte
	if pre != nil {
		if pre.err != nil {
			return pre.err
		}
		cur, to, enc = pre.value, pre.to, pre.enc
	} else {
		fields, versions := a.merged(c)
		if err := a.rebase(); err != nil {
			return err
		}
		fields["id"] = jsonString(c.ID)
		value, err := decodeFields(c.Kind, fields)
		if err != nil {
			return err
		}
		data, err := json.Marshal(value)
		if err != nil {
			return err
		}
		env := &envelope{Data: data, Fields: versions, Seq: c.Seq}
		cur = value
		if pr := a.pending[refKey(c.Kind, c.ID)]; pr != nil && pr.deleted && prev != nil && prev.Deleted != 0 {
			// Deleted here, not yet pushed: it stays deleted, with the
			// server's latest state kept in the tombstone.
			env.Deleted, cur = prev.Deleted, nil
		}
		enc = appendEnvelope(nil, env)
		to = placeOf(c.Kind, c.ID, cur)
	}
	// The transaction is sized exactly: the fewer commits, the faster a
	// first sync.
	moved := !bytes.Equal(from, to)
	size := entrySize(len(to), len(enc))
	if from != nil && moved {
		size += entrySize(len(from), 0)
	}
	var sum *memberSummary
	var sumEnc []byte
	switch {
	case c.Kind == domain.KindVisit && moved:
		size += entrySize(len(pVisitLocator)+len(c.ID), len(to))
	case c.Kind == domain.KindMember && cur != nil:
		if sum, sumEnc, err = a.nextSummary(c.ID, cur.(*domain.Member)); err != nil {
			return err
		}
		size += entrySize(len(pSummary)+len(c.ID), len(sumEnc))
	case c.Kind == domain.KindMember:
		size += entrySize(len(pSummary)+len(c.ID), 0)
	case c.Kind == domain.KindFollowUp:
		size += followUpIndexSize(asFollowUp(old), false) + followUpIndexSize(asFollowUp(cur), true)
	}
	if err := room(size, 8); err != nil {
		return err
	}
	if err := putEncoded(a.w.txn, c.Kind, c.ID, from, to, enc); err != nil {
		return err
	}
	a.res.Applied++
	if sum != nil {
		return a.w.storeSummary(c.ID, sum, sumEnc)
	}
	return a.reindex(c.Kind, c.ID, old, cur)
}

// entrySize is what a write costs a Badger transaction: key, value, two
// bytes of metadata and ten of version.
func entrySize(key, val int) int { return key + val + 12 }

// followUpIndexSize is what a follow-up's index entries cost: their
// writes (set) or deletes.
func followUpIndexSize(f *domain.FollowUp, set bool) int {
	if f == nil {
		return 0
	}
	var status, member int
	if set {
		status, member = len(f.MemberID)+1+len(f.ServiceID), len(f.Status)+1+len(f.ServiceID)
	}
	return entrySize(len(followUpStatusKey(f)), status) + entrySize(len(memberFollowUpKey(f)), member)
}

// nextSummary is a member's summary once cur is stored, encoded, with the
// last visit it had.
func (a *applier) nextSummary(id string, cur *domain.Member) (*memberSummary, []byte, error) {
	last := 0
	var err error
	if sum := a.summary(id); sum != nil {
		last = sum.LastVisit
	} else if last, err = lastVisitDay(a.snap, id); err != nil {
		return nil, nil, err
	}
	sum := summaryOf(cur, last)
	return sum, encodeSummary(sum), nil
}

// purge deletes every trace of a record stored at from (old is its live
// value, nil for a tombstone).
func (a *applier) purge(kind domain.Kind, id string, from []byte, old any) error {
	if err := a.w.txn.Delete(from); err != nil {
		return err
	}
	if kind == domain.KindVisit {
		if err := a.w.txn.Delete(recordKey(pVisitLocator, id)); err != nil {
			return err
		}
	}
	return a.reindex(kind, id, old, nil)
}

// reindex keeps summaries and indexes right after a record went from old to
// cur (live values; nil for absent or deleted). Visits only note which
// members' last visit must be recomputed, once the page is stored.
func (a *applier) reindex(kind domain.Kind, id string, old, cur any) error {
	switch kind {
	case domain.KindMember:
		if cur == nil {
			return a.w.dropSummary(id)
		}
		sum, enc, err := a.nextSummary(id, cur.(*domain.Member))
		if err != nil {
			return err
		}
		return a.w.storeSummary(id, sum, enc)
	case domain.KindVisit:
		o, c := asVisit(old), asVisit(cur)
		if o != nil && (c == nil || o.MemberID != c.MemberID || o.Date != c.Date) {
			a.dirty[o.MemberID] = true
		}
		if c != nil {
			if day := dayNumber(c.Date); day > a.maxDay[c.MemberID] {
				a.maxDay[c.MemberID] = day
			}
		}
	case domain.KindFollowUp:
		return a.w.indexFollowUp(asFollowUp(old), asFollowUp(cur))
	}
	return nil
}

// lastVisits brings the summaries of members whose history changed up to
// date: a later visit raises the date; a visit that moved away or went means
// asking the stored history once everything else is committed.
func (a *applier) lastVisits() error {
	if len(a.dirty) > 0 {
		if err := a.commit(); err != nil {
			return err
		}
		a.resnap()
		a.begin()
	}
	ids := maps.Clone(a.dirty)
	for id := range a.maxDay {
		ids[id] = true
	}
	for id := range ids {
		sum := a.summary(id)
		if sum == nil {
			continue // visits of a member not (yet) here
		}
		day := max(sum.LastVisit, a.maxDay[id])
		if a.dirty[id] {
			var err error
			if day, err = lastVisitDay(a.snap, id); err != nil {
				return err
			}
		}
		if day != sum.LastVisit {
			next := *sum
			next.LastVisit = day
			enc := encodeSummary(&next)
			if err := a.room(entrySize(len(pSummary)+len(id), len(enc)), 1); err != nil {
				return err
			}
			if err := a.w.storeSummary(id, &next, enc); err != nil {
				return err
			}
		}
	}
	return nil
}

// conflict stores a conflict record; its resolved flag may have a pending
// local edit like any field.
func (a *applier) conflict(c *Change) error {
	key := recordKey(pConflict, c.ID)
	if c.Delete || c.Removed {
		if err := a.room(entrySize(len(key), 0), 1); err != nil {
			return err
		}
		if c.Delete && c.Erased {
			a.gone[refKey(KindConflict, c.ID)] = true
		}
		a.res.Deleted++
		return a.w.txn.Delete(key)
	}
	fields, versions := a.merged(c)
	if err := a.rebase(); err != nil {
		return err
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	enc, err := json.Marshal(&envelope{Data: data, Fields: versions, Seq: c.Seq})
	if err != nil {
		return err
	}
	if err := a.room(entrySize(len(key), len(enc)), 1); err != nil {
		return err
	}
	a.res.Applied++
	return a.w.txn.Set(key, enc)
}

// service updates the catalog: a known service in place, a new one at the
// end, a deleted one out.
func (a *applier) service(c *Change, gone bool) error {
	if a.services == nil {
		if _, err := getJSON(a.w.txn, kServices, &a.services); err != nil {
			return err
		}
	}
	i := slices.IndexFunc(a.services, func(sv domain.Service) bool { return sv.ID == c.ID })
	a.servicesDirty = true
	if gone {
		if i >= 0 {
			a.services = slices.Delete(a.services, i, i+1)
		}
		a.res.Deleted++
		return nil
	}
	var sv domain.Service
	if err := decodeInto(c.Fields, &sv); err != nil {
		return err
	}
	sv.ID = c.ID
	sv.NameFR, sv.NameEN = domain.NormalizeText(sv.NameFR), domain.NormalizeText(sv.NameEN)
	if i >= 0 {
		a.services[i] = sv
	} else {
		a.services = append(a.services, sv)
	}
	a.res.Applied++
	return nil
}

// coordinator stores a coordinator's public card; the signed-in
// coordinator's own card is never deleted.
func (a *applier) coordinator(c *Change, gone bool) error {
	key := recordKey(pCoordinator, c.ID)
	if gone {
		a.res.Deleted++
		if c.ID == a.me {
			return nil
		}
		if err := a.room(entrySize(len(key), 0), 1); err != nil {
			return err
		}
		return a.w.txn.Delete(key)
	}
	var k domain.Coordinator
	if err := decodeInto(c.Fields, &k); err != nil {
		return err
	}
	k.ID = c.ID
	k.Normalize()
	enc, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := a.room(entrySize(len(key), len(enc)), 1); err != nil {
		return err
	}
	a.res.Applied++
	return a.w.txn.Set(key, enc)
}

// dropRegions deletes the members of regions that left the device's scope,
// with their visits, follow-ups and conflicts.
func (a *applier) dropRegions(regions []string) error {
	if len(regions) == 0 {
		return nil
	}
	members := a.s.members.inRegions(regions)
	if len(members) == 0 {
		return nil
	}
	gone := make(map[string]bool, len(members))
	for _, id := range members {
		gone[id] = true
		if err := a.room(256, 2); err != nil {
			return err
		}
		if err := a.w.txn.Delete(recordKey(pMember, id)); err != nil {
			return err
		}
		if err := a.w.dropSummary(id); err != nil {
			return err
		}
		a.res.Deleted++
		if _, err := a.dropChildren(id); err != nil {
			return err
		}
	}
	_, err := a.dropConflicts(gone)
	return err
}

// dropChildren deletes the live visits and follow-ups of a member, as the
// committed snapshot holds them, and returns them ("<kind>/<id>").
func (a *applier) dropChildren(id string) ([]string, error) {
	var refs []string
	var visits [][]byte
	prefix := []byte(memberVisitPrefix(id))
	scanKeys(a.snap, prefix, nil, func(key []byte) bool {
		visits = append(visits, bytes.Clone(key))
		return true
	})
	for _, k := range visits {
		if err := a.room(2*len(k), 2); err != nil {
			return nil, err
		}
		vid := invertHex(string(k[bytes.LastIndexByte(k, '/')+1:]))
		if err := a.w.txn.Delete(k); err != nil {
			return nil, err
		}
		if err := a.w.txn.Delete(recordKey(pVisitLocator, vid)); err != nil {
			return nil, err
		}
		refs = append(refs, refKey(domain.KindVisit, vid))
	}
	type fu struct{ key, status, due, id string }
	var fus []fu
	fprefix := []byte(pMemberFollowUps + id + "/")
	err := scanValues(a.snap, fprefix, func(key, val []byte) (bool, error) {
		due, fid, ok := splitDueID(key[len(fprefix):])
		status, _, _ := strings.Cut(string(val), "|")
		if ok {
			fus = append(fus, fu{string(key), status, due, fid})
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range fus {
		if err := a.room(256, 3); err != nil {
			return nil, err
		}
		for _, k := range []string{f.key, pFollowUpStatus + f.status + "/" + f.due + "/" + f.id, pFollowUp + f.id} {
			if err := a.w.txn.Delete([]byte(k)); err != nil {
				return nil, err
			}
		}
		refs = append(refs, refKey(domain.KindFollowUp, f.id))
	}
	a.res.Deleted += len(visits) + len(fus)
	return refs, nil
}

// dropConflicts deletes the conflicts about the given members, as the
// committed snapshot holds them, and returns them ("<kind>/<id>").
func (a *applier) dropConflicts(members map[string]bool) ([]string, error) {
	var conflicts [][]byte
	err := scanValues(a.snap, []byte(pConflict), func(key, val []byte) (bool, error) {
		var env envelope
		var ref struct {
			MemberID string `json:"member_id"`
		}
		if json.Unmarshal(val, &env) == nil && json.Unmarshal(env.Data, &ref) == nil && members[ref.MemberID] {
			conflicts = append(conflicts, bytes.Clone(key))
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	refs := make([]string, 0, len(conflicts))
	for _, k := range conflicts {
		if err := a.room(entrySize(len(k), 0), 1); err != nil {
			return nil, err
		}
		if err := a.w.txn.Delete(k); err != nil {
			return nil, err
		}
		refs = append(refs, refKey(KindConflict, string(k[len(pConflict):])))
	}
	a.res.Deleted += len(conflicts)
	return refs, nil
}

// inRegions lists the members of the index in the given regions.
func (x *memberIndex) inRegions(regions []string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for id, e := range x.byID {
		if slices.Contains(regions, e.sum.Region) {
			out = append(out, id)
		}
	}
	return out
}

// entries lists the ids of the index.
func (x *memberIndex) entries() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Collect(maps.Keys(x.byID))
}

// dropSummary removes a member's summary, from the disk and, once the
// transaction commits, from the in-memory index.
func (w *writeTx) dropSummary(memberID string) error {
	if w.summary == nil {
		w.summary = make(map[string]*memberSummary)
	}
	w.summary[memberID] = nil
	return w.txn.Delete([]byte(pSummary + memberID))
}

// BeginRefetch starts over after the server's data was restored (a new
// epoch): the cursor and epoch are reset, and the next pulled page clears
// the records of the old epoch first. The outbox and the quarantine stay:
// local edits not yet sent are pushed again and merge like any others.
// What this device wrote before is stashed, to be pushed again where the
// restored server lacks it once the refetch is done (Requeue).
func (s *Store) BeginRefetch() error {
	if err := s.stashMine(); err != nil {
		return fmt.Errorf("begin refetch: %w", err)
	}
	err := s.update(func(w *writeTx) error {
		var st SyncState
		if _, err := getJSON(w.txn, kSync, &st); err != nil {
			return err
		}
		st.Cursor, st.Epoch, st.Backfill = 0, "", nil
		if err := setJSON(w.txn, []byte(kSync), st); err != nil {
			return err
		}
		return setUint(w.txn, kRefetch, 1)
	})
	if err != nil {
		return fmt.Errorf("begin refetch: %w", err)
	}
	return nil
}

// Refetching reports whether a refetch has begun and not yet received its
// first page.
func (s *Store) Refetching() (bool, error) {
	var v uint64
	err := s.view(func(txn *badger.Txn) error {
		var err error
		v, err = getUint(txn, kRefetch)
		return err
	})
	return v != 0, err
}

// wipeBatch bounds the deletes of one wiping transaction.
const wipeBatch = 5000

// wipe deletes the records of the old epoch (members, visits, follow-ups,
// conflicts and their indexes) but those keep names, and rebuilds the
// in-memory index. It commits in batches; the caller holds writeMu.
func (s *Store) wipe(snap *badger.Txn, keep map[string]bool) error {
	type target struct {
		prefix string
		kind   domain.Kind
		id     func(rest string) string
	}
	last := func(rest string) string { return rest[strings.LastIndexByte(rest, '/')+1:] }
	whole := func(rest string) string { return rest }
	targets := []target{
		{pMember, domain.KindMember, whole},
		{pSummary, domain.KindMember, whole},
		{pVisit, domain.KindVisit, func(rest string) string { return invertHex(last(rest)) }},
		{pVisitLocator, domain.KindVisit, whole},
		{pVisitTomb, domain.KindVisit, whole},
		{pFollowUp, domain.KindFollowUp, whole},
		{pFollowUpStatus, domain.KindFollowUp, last},
		{pMemberFollowUps, domain.KindFollowUp, last},
		{pConflict, KindConflict, whole},
	}
	// Deleted in batches as the snapshot is walked: 500,000 visits are
	// never all in memory.
	var doomed [][]byte
	flush := func() error {
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, k := range doomed {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		doomed = doomed[:0]
		return err
	}
	var err error
	for _, t := range targets {
		scanKeys(snap, []byte(t.prefix), nil, func(key []byte) bool {
			if !keep[refKey(t.kind, t.id(string(key[len(t.prefix):])))] {
				doomed = append(doomed, bytes.Clone(key))
			}
			if len(doomed) == wipeBatch {
				err = flush()
			}
			return err == nil
		})
		if err != nil {
			return fmt.Errorf("wipe: %w", err)
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	return s.db.View(s.members.load)
}

// decodeValue decodes a stored member, visit or follow-up.
func decodeValue(kind domain.Kind, data []byte) (any, error) {
	var v any
	switch kind {
	case domain.KindMember:
		v = new(domain.Member)
	case domain.KindVisit:
		v = new(domain.Visit)
	case domain.KindFollowUp:
		v = new(domain.FollowUp)
	default:
		return nil, fmt.Errorf("kind %q has no records", kind)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return v, nil
}

// decodeFields builds a normalised member, visit or follow-up from fields,
// which must hold valid JSON (decoded from an answer or an outbox entry).
func decodeFields(kind domain.Kind, fields map[string]json.RawMessage) (any, error) {
	v, err := decodeValue(kind, rawObject(fields))
	if err != nil {
		return nil, err
	}
	normalize(v)
	return v, nil
}

// normalize puts a decoded member, visit or follow-up in its stored form.
func normalize(v any) {
	switch x := v.(type) {
	case *domain.Member:
		x.Normalize()
	case *domain.Visit:
		x.Normalize()
	case *domain.FollowUp:
		x.Normalize()
	}
}

func decodeInto(fields map[string]json.RawMessage, v any) error {
	return json.Unmarshal(rawObject(fields), v)
}

// rawObject writes fields as one JSON object without validating the values
// again (json.Marshal would, and sort the keys, on every record of a page).
func rawObject(fields map[string]json.RawMessage) []byte {
	n := 2
	for k, v := range fields {
		n += len(k) + len(v) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for k, v := range fields {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendKey(b, k)
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		b = append(b, v...)
	}
	return append(b, '}')
}

// appendKey writes "key": as json.Marshal would.
func appendKey(b []byte, k string) []byte {
	simple := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"')
	} else {
		q, _ := json.Marshal(k)
		b = append(b, q...)
	}
	return append(b, ':')
}

// appendEnvelope encodes e exactly as json.Marshal does, without checking
// Data again: it comes from json.Marshal. A page stores thousands of them.
func appendEnvelope(b []byte, e *envelope) []byte {
	b = append(b, `{"d":`...)
	b = append(b, e.Data...)
	if len(e.Fields) > 0 {
		for i, k := range slices.Sorted(maps.Keys(e.Fields)) {
			b = appendFieldVersion(b, i, k, e.Fields[k])
		}
		b = append(b, '}')
	}
	return appendEnvelopeTail(b, e.Deleted, e.Seq, e.Gone)
}

// appendFieldVersion writes the i-th field version of an envelope, in the
// order of the names; the caller closes the object after the last.
func appendFieldVersion(b []byte, i int, name string, v fieldVersion) []byte {
	if i == 0 {
		b = append(b, `,"f":{`...)
	} else {
		b = append(b, ',')
	}
	b = appendKey(b, name)
	b = append(b, `{"h":`...)
	b = strconv.AppendUint(b, uint64(v.HLC), 10)
	if v.Seq != 0 {
		b = append(b, `,"s":`...)
		b = strconv.AppendUint(b, v.Seq, 10)
	}
	if v.Mine {
		b = append(b, `,"m":true`...)
	}
	return append(b, '}')
}

// appendEnvelopeTail writes what follows an envelope's field versions.
func appendEnvelopeTail(b []byte, deleted hlc.Timestamp, seq uint64, gone bool) []byte {
	if deleted != 0 {
		b = append(b, `,"del":`...)
		b = strconv.AppendUint(b, uint64(deleted), 10)
	}
	if seq != 0 {
		b = append(b, `,"s":`...)
		b = strconv.AppendUint(b, seq, 10)
	}
	if gone {
		b = append(b, `,"gone":true`...)
	}
	return append(b, '}')
}

// putEncoded is putRecord with the envelope already encoded.
func putEncoded(txn *badger.Txn, kind domain.Kind, id string, from, to, enc []byte) error {
	moved := !bytes.Equal(from, to)
	if from != nil && moved {
		if err := txn.Delete(from); err != nil {
			return err
		}
	}
	if err := txn.Set(to, enc); err != nil {
		return err
	}
	if kind == domain.KindVisit && moved {
		return txn.Set(recordKey(pVisitLocator, id), to)
	}
	return nil
}

func asVisit(v any) *domain.Visit {
	if x, ok := v.(*domain.Visit); ok {
		return x
	}
	return nil
}

func asFollowUp(v any) *domain.FollowUp {
	if x, ok := v.(*domain.FollowUp); ok {
		return x
	}
	return nil
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// sameValue reports whether two JSON texts hold the same value.
func sameValue(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}
