// Package badgerdb is the embedded backend of the central service: one Badger
// v4 database in a directory, no set-up. Writers are serialised by a mutex,
// so sequence numbers are committed in the order they are handed out, and
// Badger's snapshots give readers a prefix of the commits.
package badgerdb

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/internal/jsonscan"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// ErrLocked is returned by Open when another process uses the directory
// (typically a running terrain-central serve).
var ErrLocked = errors.New("data directory is in use by another process")

// ErrNewerFormat means the data directory was written by a newer
// terrain-central, in a format this one does not know: run the newer one.
var ErrNewerFormat = errors.New("data directory written by a newer version of terrain-central")

// formatVersion is the layout of keys and values this package writes. It
// goes up when they change incompatibly; Open stamps it on a new directory
// and refuses a higher one.
const formatVersion = 1

// Options tune the backend. The zero value is fine.
type Options struct {
	// Logger receives Badger's warnings and errors; slog.Default when nil.
	Logger *slog.Logger
	// GCInterval is the period of value-log garbage collection: 10 minutes
	// when 0, never when negative.
	GCInterval time.Duration
	// MemTableBytes is the size of each of Badger's memtables, written in
	// full at every open: 128 MiB when 0. Simulations that open hundreds
	// of small databases set less.
	MemTableBytes int64
}

// DB is the Badger backend. It implements central.Backend.
type DB struct {
	db *badger.DB

	// writer serialises Updates: sequence numbers are handed out and
	// committed by one transaction at a time.
	writer sync.Mutex
	// life guards against use after Close: transactions hold it shared.
	life   sync.RWMutex
	closed bool

	stopGC chan struct{}
	gcDone chan struct{}
}

var _ central.Backend = (*DB)(nil)

// Open opens (creating if needed) the database in dir.
func Open(dir string, opt Options) (*DB, error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(slogAdapter{log}).
		// Records go to the value log and only their keys to the LSM tree:
		// Badger's per-transaction limit counts what goes to the tree, so an
		// all-or-nothing import of 20,000 members fits in one transaction.
		// Feed and index entries, smaller, stay in the tree for fast scans.
		WithValueThreshold(256).
		WithMemTableSize(cmp.Or(opt.MemTableBytes, 128<<20)).
		WithNumMemtables(3).
		WithNumCompactors(2)
	db, err := badger.Open(bo)
	if err != nil && !isLocked(err) {
		// A crash between Badger creating a memtable or value-log file and
		// sizing it (at every start, and when a log fills up) leaves it
		// empty, and Badger v4.9.6 refuses it ("Create a new file"), but
		// not before sizing it and writing its header: a second attempt
		// finds an empty log and opens. TestCrashServerKilledDuringPush
		// found it by killing the server while it started;
		// TestOpenAfterCrashLeftEmptyLogs pins it.
		db, err = badger.Open(bo)
	}
	if err != nil {
		if isLocked(err) {
			return nil, fmt.Errorf("open %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if err := stampFormat(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	d := &DB{db: db, stopGC: make(chan struct{}), gcDone: make(chan struct{})}
	interval := opt.GCInterval
	if interval == 0 {
		interval = 10 * time.Minute
	}
	if interval > 0 {
		go d.collect(interval)
	} else {
		close(d.gcDone)
	}
	return d, nil
}

// stampFormat writes formatVersion to a directory that has none (a new one,
// or one from before the stamp, which is format 1) and refuses a newer one.
func stampFormat(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte(keyFormat), []byte(strconv.Itoa(formatVersion)))
		}
		if err != nil {
			return fmt.Errorf("read format: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read format: %w", err)
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("format %q: %w", v, ErrNewerFormat)
		}
		if n > formatVersion {
			return fmt.Errorf("format %d, this program knows up to %d: %w", n, formatVersion, ErrNewerFormat)
		}
		return nil
	})
}

// isLocked recognises Badger's directory-lock failure, which it formats
// into its message instead of wrapping.
func isLocked(err error) bool {
	return strings.Contains(err.Error(), "Cannot acquire directory lock")
}

func (d *DB) collect(every time.Duration) {
	defer close(d.gcDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.stopGC:
			return
		case <-t.C:
			for d.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// Close stops garbage collection and closes the database once running
// transactions are done.
func (d *DB) Close() error {
	d.life.Lock()
	defer d.life.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.stopGC)
	<-d.gcDone
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("close badger: %w", err)
	}
	return nil
}

// View runs fn over a snapshot.
func (d *DB) View(ctx context.Context, fn func(central.ReadTx) error) error {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return central.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	txn := d.db.NewTransaction(false)
	defer txn.Discard()
	return fn(&tx{txn: txn})
}

// Update runs fn in the one write transaction allowed at a time.
func (d *DB) Update(ctx context.Context, fn func(central.Tx) error) error {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return central.ErrClosed
	}
	d.writer.Lock()
	defer d.writer.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	txn := d.db.NewTransaction(true)
	defer txn.Discard()
	t := &tx{txn: txn, write: true}
	if err := fn(t); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	if t.headDirty {
		// Written once: Badger counts every Set towards the transaction's
		// size, even of the same key.
		if err := txn.Set([]byte(keyHead), seqBytes(t.head)); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Key layout. Every key starts with a one-letter family and a slash.
const (
	keyHead    = "h"
	keyFormat  = "v"  // formatVersion, in decimal
	pMeta      = "m/" // m/<name>
	pRecord    = "r/" // r/<kind>/<id> -> stored record
	pFeed      = "s/" // s/<seq 8 bytes> -> feed entry
	pChild     = "c/" // c/<member id>/<kind>/<id> -> empty
	pDevice    = "d/" // d/<id> -> device
	pToken     = "t/" // t/<hex sha-256> -> device id
	pRejection = "j/" // j/<device id>/<seq 8 bytes> -> rejection
	pCoord     = "k/" // k/<id> -> coordinator
	pEmail     = "e/" // e/<email> -> coordinator id
	pFailures  = "f/" // f/<key> -> failures
)

func seqBytes(seq uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return b[:]
}

func feedKey(seq uint64) []byte { return append([]byte(pFeed), seqBytes(seq)...) }

func recordKey(kind domain.Kind, id string) []byte {
	return []byte(pRecord + string(kind) + "/" + id)
}

func childKey(parent string, kind domain.Kind, id string) []byte {
	return []byte(pChild + parent + "/" + string(kind) + "/" + id)
}

// feedEntry is the value of a feed key: enough to filter by region
// without reading the record.
type feedEntry struct {
	Kind   domain.Kind `json:"k"`
	ID     string      `json:"i"`
	Region string      `json:"g"`
	Exit   bool        `json:"x,omitempty"`
}

// storedRecord is a record as written to disk.
type storedRecord struct {
	Kind     domain.Kind                      `json:"kind"`
	ID       string                           `json:"id"`
	Region   string                           `json:"region"`
	Parent   string                           `json:"parent,omitempty"`
	Seq      uint64                           `json:"seq"`
	Deleted  bool                             `json:"deleted,omitempty"`
	Fields   map[string]json.RawMessage       `json:"fields"`
	Versions map[string]protocol.FieldVersion `json:"versions,omitempty"`
}

// encode marshals without HTML escaping, so text is stored as typed.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type tx struct {
	txn   *badger.Txn
	write bool
	head  uint64
	// headKnown is set once head was read in this transaction, headDirty
	// once NextSeq moved it.
	headKnown bool
	headDirty bool
	// err remembers a failure inside a write so Update refuses to commit
	// even if the caller ignored the error.
	err error
}

func (t *tx) fail(err error) error {
	if err != nil && t.write && t.err == nil {
		t.err = err
	}
	return err
}

func (t *tx) get(key []byte, v any) error {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return central.ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

func (t *tx) getRaw(key []byte) ([]byte, error) {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, central.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (t *tx) set(key []byte, v any) error {
	b, err := encode(v)
	if err != nil {
		return t.fail(err)
	}
	return t.fail(t.txn.Set(key, b))
}

func (t *tx) setRaw(key, value []byte) error { return t.fail(t.txn.Set(key, value)) }

func (t *tx) del(key []byte) error { return t.fail(t.txn.Delete(key)) }

func (t *tx) Head() (uint64, error) {
	if t.headKnown {
		return t.head, nil
	}
	b, err := t.getRaw([]byte(keyHead))
	switch {
	case errors.Is(err, central.ErrNotFound):
		t.head = 0
	case err != nil:
		return 0, err
	case len(b) != 8:
		return 0, errors.New("corrupt head key")
	default:
		t.head = binary.BigEndian.Uint64(b)
	}
	t.headKnown = true
	return t.head, nil
}

func (t *tx) NextSeq() (uint64, error) {
	head, err := t.Head()
	if err != nil {
		return 0, t.fail(err)
	}
	t.head = head + 1
	t.headDirty = true
	return t.head, nil
}

func (t *tx) Meta(key string) (string, error) {
	b, err := t.getRaw([]byte(pMeta + key))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (t *tx) SetMeta(key, value string) error {
	return t.setRaw([]byte(pMeta+key), []byte(value))
}

func (t *tx) Record(kind domain.Kind, id string) (central.Record, error) {
	item, err := t.txn.Get(recordKey(kind, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return central.Record{}, central.ErrNotFound
	}
	if err != nil {
		return central.Record{}, err
	}
	var s storedRecord
	if err := item.Value(func(b []byte) error { return decodeStoredRecord(b, &s) }); err != nil {
		return central.Record{}, err
	}
	return central.Record(s), nil
}

// decodeStoredRecord decodes a record as encode writes it without
// reflection (every page of the change feed reads thousands), and anything
// else with encoding/json.
func decodeStoredRecord(b []byte, r *storedRecord) error {
	if json.Valid(b) {
		s := jsonscan.New(bytes.Clone(b))
		var x storedRecord
		// encoding/json merges a repeated "fields" or "versions" object
		// into the first: that rare input goes to it.
		var fields, versions bool
		ok := s.Object(func(key string) bool {
			var ok bool
			var kind string
			switch key {
			case "kind":
				kind, ok = s.String()
				x.Kind = domain.Kind(kind)
			case "id":
				x.ID, ok = s.String()
			case "region":
				x.Region, ok = s.String()
			case "parent":
				x.Parent, ok = s.String()
			case "seq":
				x.Seq, ok = s.Uint()
			case "deleted":
				x.Deleted, ok = s.Bool()
			case "fields":
				x.Fields, ok = s.Fields()
				ok = ok && !fields
				fields = true
			case "versions":
				x.Versions, ok = s.Versions()
				ok = ok && !versions
				versions = true
			}
			return ok
		})
		if ok && s.End() {
			*r = x
			return nil
		}
	}
	*r = storedRecord{}
	return json.Unmarshal(b, r)
}

func (t *tx) RecordsByID(kind domain.Kind, ids []string) ([]central.Record, error) {
	out := make([]central.Record, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		r, err := t.Record(kind, id)
		if errors.Is(err, central.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *tx) Records(kind domain.Kind, fn func(central.Record) error) error {
	prefix := recordKey(kind, "")
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var s storedRecord
		if err := it.Item().Value(func(b []byte) error { return decodeStoredRecord(b, &s) }); err != nil {
			return fmt.Errorf("read %s: %w", it.Item().Key(), err)
		}
		if err := fn(central.Record(s)); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) Children(memberID string) ([]central.Record, error) {
	prefix := []byte(pChild + memberID + "/")
	type ref struct {
		kind domain.Kind
		id   string
	}
	var refs []ref
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		rest := string(it.Item().Key()[len(prefix):]) // a copy: the item's key dies with the iterator
		kind, id, ok := strings.Cut(rest, "/")
		if !ok {
			it.Close()
			return nil, fmt.Errorf("corrupt child key %q", string(prefix)+rest)
		}
		refs = append(refs, ref{domain.Kind(kind), id})
	}
	it.Close()
	out := make([]central.Record, 0, len(refs))
	for _, r := range refs {
		rec, err := t.Record(r.kind, r.id)
		if err != nil {
			return nil, fmt.Errorf("child %s %s: %w", r.kind, r.id, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// scanFeed calls fn for each feed entry with q.After < seq <= q.Through in
// one of q.Regions, in order, until fn returns false.
func (t *tx) scanFeed(q central.FeedQuery, fn func(seq uint64, e feedEntry) (bool, error)) error {
	regions := make(map[string]bool, len(q.Regions))
	for _, r := range q.Regions {
		regions[r] = true
	}
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pFeed), PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Seek(feedKey(q.After + 1)); it.Valid(); it.Next() {
		key := it.Item().Key()
		seq := binary.BigEndian.Uint64(key[len(pFeed):])
		if seq > q.Through {
			return nil
		}
		var e feedEntry
		if err := it.Item().Value(func(b []byte) error { return decodeFeedEntry(b, &e) }); err != nil {
			return fmt.Errorf("read feed entry %d: %w", seq, err)
		}
		if !regions[e.Region] {
			continue
		}
		more, err := fn(seq, e)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// decodeFeedEntry reads a feed entry as encode writes it, without
// reflection: a first sync counts what remains after every page, which
// reads every later entry of the feed. Anything else goes to json.
func decodeFeedEntry(b []byte, e *feedEntry) error {
	rest, ok := bytes.CutPrefix(b, []byte(`{"k":"`))
	var kind, id, region []byte
	if ok {
		kind, rest, ok = bytes.Cut(rest, []byte(`","i":"`))
	}
	if ok {
		id, rest, ok = bytes.Cut(rest, []byte(`","g":"`))
	}
	if ok {
		region, rest, ok = bytes.Cut(rest, []byte(`"`))
	}
	exit := false
	switch {
	case ok && string(rest) == "}":
	case ok && string(rest) == `,"x":true}`:
		exit = true
	default:
		ok = false
	}
	if !ok || bytes.ContainsAny(kind, `\"`) || bytes.ContainsAny(id, `\"`) || bytes.ContainsAny(region, `\"`) {
		*e = feedEntry{}
		return json.Unmarshal(b, e)
	}
	*e = feedEntry{Kind: domain.Kind(kind), ID: string(id), Region: string(region), Exit: exit}
	return nil
}

func (t *tx) Changes(q central.FeedQuery) ([]central.Entry, error) {
	var out []central.Entry
	var pending []feedEntry
	var seqs []uint64
	err := t.scanFeed(q, func(seq uint64, e feedEntry) (bool, error) {
		pending = append(pending, e)
		seqs = append(seqs, seq)
		return q.Limit <= 0 || len(pending) < q.Limit, nil
	})
	if err != nil {
		return nil, err
	}
	for i, e := range pending {
		if e.Exit {
			out = append(out, central.Entry{Exit: &central.Exit{Seq: seqs[i], Region: e.Region, Kind: e.Kind, ID: e.ID}})
			continue
		}
		rec, err := t.Record(e.Kind, e.ID)
		if err != nil {
			return nil, fmt.Errorf("feed entry %d: %w", seqs[i], err)
		}
		if rec.Seq != seqs[i] {
			return nil, fmt.Errorf("feed entry %d points at %s %s of seq %d", seqs[i], e.Kind, e.ID, rec.Seq)
		}
		out = append(out, central.Entry{Record: &rec})
	}
	return out, nil
}

func (t *tx) CountChanges(q central.FeedQuery) (int, error) {
	n := 0
	err := t.scanFeed(q, func(uint64, feedEntry) (bool, error) {
		n++
		return true, nil
	})
	return n, err
}

func (t *tx) PutRecord(r central.Record) error {
	old, err := t.Record(r.Kind, r.ID)
	switch {
	case err == nil:
		if old.Seq != r.Seq {
			if err := t.del(feedKey(old.Seq)); err != nil {
				return err
			}
		}
		if old.Parent != "" && old.Parent != r.Parent {
			if err := t.del(childKey(old.Parent, r.Kind, r.ID)); err != nil {
				return err
			}
		}
	case !errors.Is(err, central.ErrNotFound):
		return t.fail(err)
	}
	if err := t.set(recordKey(r.Kind, r.ID), storedRecord(r)); err != nil {
		return err
	}
	if err := t.set(feedKey(r.Seq), feedEntry{Kind: r.Kind, ID: r.ID, Region: r.Region}); err != nil {
		return err
	}
	if r.Parent != "" {
		return t.setRaw(childKey(r.Parent, r.Kind, r.ID), nil)
	}
	return nil
}

func (t *tx) PutExit(e central.Exit) error {
	return t.set(feedKey(e.Seq), feedEntry{Kind: e.Kind, ID: e.ID, Region: e.Region, Exit: true})
}

// storedDevice is a device as written to disk (the token hash is only in
// the token index key, hex-encoded, and here).
type storedDevice struct {
	ID             string    `json:"id"`
	CoordinatorID  string    `json:"coordinator_id"`
	Name           string    `json:"name,omitempty"`
	TokenHash      []byte    `json:"token_hash,omitempty"`
	LastSeq        uint64    `json:"last_seq"`
	Delivered      []string  `json:"delivered,omitempty"`
	Pending        []string  `json:"pending,omitempty"`
	PendingThrough uint64    `json:"pending_through,omitempty"`
	Dropped        []string  `json:"dropped,omitempty"`
	DroppedThrough uint64    `json:"dropped_through,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	SignedInAt     time.Time `json:"signed_in_at"`
	AppVersion     string    `json:"app_version,omitempty"`
}

func tokenKey(hash []byte) []byte { return []byte(pToken + hex.EncodeToString(hash)) }

func (t *tx) Device(id string) (central.Device, error) {
	var s storedDevice
	if err := t.get([]byte(pDevice+id), &s); err != nil {
		return central.Device{}, err
	}
	return central.Device(s), nil
}

func (t *tx) DeviceByToken(hash []byte) (central.Device, error) {
	id, err := t.getRaw(tokenKey(hash))
	if err != nil {
		return central.Device{}, err
	}
	return t.Device(string(id))
}

func (t *tx) Devices(fn func(central.Device) error) error {
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pDevice), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var s storedDevice
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &s) }); err != nil {
			return err
		}
		if err := fn(central.Device(s)); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) PutDevice(d central.Device) error {
	old, err := t.Device(d.ID)
	if err != nil && !errors.Is(err, central.ErrNotFound) {
		return t.fail(err)
	}
	if len(old.TokenHash) > 0 && !bytes.Equal(old.TokenHash, d.TokenHash) {
		if err := t.del(tokenKey(old.TokenHash)); err != nil {
			return err
		}
	}
	if len(d.TokenHash) > 0 {
		if err := t.setRaw(tokenKey(d.TokenHash), []byte(d.ID)); err != nil {
			return err
		}
	}
	return t.set([]byte(pDevice+d.ID), storedDevice(d))
}

func rejectionKey(device string, seq uint64) []byte {
	return append([]byte(pRejection+device+"/"), seqBytes(seq)...)
}

func (t *tx) Rejection(deviceID string, seq uint64) (protocol.Rejection, error) {
	var r protocol.Rejection
	err := t.get(rejectionKey(deviceID, seq), &r)
	return r, err
}

func (t *tx) Rejections(fn func(deviceID string, r protocol.Rejection) error) error {
	prefix := []byte(pRejection)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		key := it.Item().Key()
		// j/<device id>/<seq 8 bytes>: the id is what lies between.
		if len(key) < len(prefix)+1+8 {
			return fmt.Errorf("corrupt rejection key %q", key)
		}
		device := string(key[len(prefix) : len(key)-9])
		var r protocol.Rejection
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &r) }); err != nil {
			return fmt.Errorf("read rejection %s: %w", key, err)
		}
		if err := fn(device, r); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) PutRejection(deviceID string, r protocol.Rejection) error {
	return t.set(rejectionKey(deviceID, r.Seq), r)
}

type storedCoordinator struct {
	domain.Coordinator
	Role         string `json:"role"`
	PasswordHash string `json:"password_hash"`
}

func (t *tx) Coordinator(id string) (central.Coordinator, error) {
	var s storedCoordinator
	if err := t.get([]byte(pCoord+id), &s); err != nil {
		return central.Coordinator{}, err
	}
	return central.Coordinator(s), nil
}

func (t *tx) CoordinatorByEmail(email string) (central.Coordinator, error) {
	id, err := t.getRaw([]byte(pEmail + email))
	if err != nil {
		return central.Coordinator{}, err
	}
	return t.Coordinator(string(id))
}

func (t *tx) Coordinators() ([]central.Coordinator, error) {
	var ids []string
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pEmail), PrefetchValues: true})
	for it.Rewind(); it.Valid(); it.Next() {
		id, err := it.Item().ValueCopy(nil)
		if err != nil {
			it.Close()
			return nil, err
		}
		ids = append(ids, string(id))
	}
	it.Close()
	out := make([]central.Coordinator, 0, len(ids))
	for _, id := range ids {
		c, err := t.Coordinator(id)
		if err != nil {
			return nil, fmt.Errorf("coordinator %s: %w", id, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (t *tx) PutCoordinator(c central.Coordinator) error {
	owner, err := t.getRaw([]byte(pEmail + c.Email))
	switch {
	case err == nil && string(owner) != c.ID:
		return central.ErrDuplicateEmail
	case err != nil && !errors.Is(err, central.ErrNotFound):
		return t.fail(err)
	}
	old, err := t.Coordinator(c.ID)
	switch {
	case err == nil && old.Email != c.Email:
		if err := t.del([]byte(pEmail + old.Email)); err != nil {
			return err
		}
	case err != nil && !errors.Is(err, central.ErrNotFound):
		return t.fail(err)
	}
	if err := t.setRaw([]byte(pEmail+c.Email), []byte(c.ID)); err != nil {
		return err
	}
	return t.set([]byte(pCoord+c.ID), storedCoordinator(c))
}

type storedFailures struct {
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
}

func (t *tx) Failures(key string) (central.Failures, error) {
	var s storedFailures
	err := t.get([]byte(pFailures+key), &s)
	if errors.Is(err, central.ErrNotFound) {
		return central.Failures{}, nil
	}
	return central.Failures(s), err
}

func (t *tx) PutFailures(key string, f central.Failures) error {
	if f == (central.Failures{}) {
		return t.del([]byte(pFailures + key))
	}
	return t.set([]byte(pFailures+key), storedFailures(f))
}

func (t *tx) DeleteFailuresBefore(before time.Time) (int, error) {
	var stale [][]byte
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pFailures), PrefetchValues: true, PrefetchSize: 100})
	for it.Rewind(); it.Valid(); it.Next() {
		var f storedFailures
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &f) }); err != nil {
			it.Close()
			return 0, fmt.Errorf("read sign-in failures %s: %w", it.Item().Key(), err)
		}
		if f.Last.Before(before) {
			stale = append(stale, it.Item().KeyCopy(nil))
		}
	}
	it.Close() // before deleting: the iterator reads the transaction's writes
	for _, k := range stale {
		if err := t.del(k); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}

// slogAdapter sends Badger's warnings and errors to slog and drops its
// chatter.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Errorf(f string, args ...any) {
	a.log.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, args...)))
}

func (a slogAdapter) Warningf(f string, args ...any) {
	a.log.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, args...)))
}

func (a slogAdapter) Infof(string, ...any)  {}
func (a slogAdapter) Debugf(string, ...any) {}
