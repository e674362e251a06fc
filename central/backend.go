package central

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// Backend is where the central service keeps its data. It is deliberately
// dumb storage: every sync, merge, scope and authentication rule lives once
// in this package, and a backend only has to store, index and order what it
// is given. Every implementation must pass central/contract.
type Backend interface {
	// View runs fn in a read-only transaction over a consistent snapshot
	// that holds every committed Update whole and none partially: a reader
	// never sees sequence N+1 without N.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Update runs fn in one serialisable read-write transaction and commits
	// it when fn returns nil. Updates are serialised (one writer at a time:
	// a mutex for Badger, pg_advisory_xact_lock for PostgreSQL), so the
	// sequence numbers handed out by NextSeq become visible to readers in
	// order, only after commit. If fn returns an error, nothing it did is
	// kept and that error is returned unchanged (errors.Is works on it); a
	// cancelled ctx also fails the Update without committing.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the backend; it waits for running transactions.
	Close() error
}

// ReadTx reads inside a transaction. Lookups of something absent return
// ErrNotFound (possibly wrapped).
type ReadTx interface {
	// Head returns the last sequence number handed out by a committed
	// Update (0 for an empty backend).
	Head() (uint64, error)
	// Meta returns a small named value (e.g. "epoch").
	Meta(key string) (string, error)

	// Record returns the latest version of a record, tombstones included.
	Record(kind domain.Kind, id string) (Record, error)
	// RecordsByID returns the records of a kind whose ids are listed and
	// exist, tombstones included, each once, in any order. It is how a
	// push of a thousand records reads them in one go rather than one
	// database round trip each.
	RecordsByID(kind domain.Kind, ids []string) ([]Record, error)
	// Records calls fn for every record of a kind, tombstones included, in
	// ascending id order. An error from fn stops the walk and is returned.
	Records(kind domain.Kind, fn func(Record) error) error
	// Children returns the records whose Parent is memberID (visits,
	// follow-ups, conflicts), tombstones included, in any order.
	Children(memberID string) ([]Record, error)
	// Changes returns the feed entries with q.After < seq <= q.Through
	// whose region is in q.Regions, in ascending seq order, at most q.Limit
	// of them. A record appears once, at its current Seq; exits appear at
	// their own Seq.
	Changes(q FeedQuery) ([]Entry, error)
	// CountChanges returns how many entries Changes would return with no
	// limit.
	CountChanges(q FeedQuery) (int, error)

	// Device returns a device by id (the client_id of the sync protocol).
	Device(id string) (Device, error)
	// DeviceByToken returns the device whose TokenHash equals hash.
	DeviceByToken(hash []byte) (Device, error)
	// Devices calls fn for every device, in ascending id order.
	Devices(fn func(Device) error) error
	// Rejection returns the rejection stored for a device's mutation.
	Rejection(deviceID string, seq uint64) (protocol.Rejection, error)
	// Rejections calls fn for every stored rejection, by device id then
	// seq. An error from fn stops the walk and is returned.
	Rejections(fn func(deviceID string, r protocol.Rejection) error) error

	// Coordinator returns a coordinator by id.
	Coordinator(id string) (Coordinator, error)
	// CoordinatorByEmail returns a coordinator by e-mail (stored lower
	// case; the caller lower-cases before asking).
	CoordinatorByEmail(email string) (Coordinator, error)
	// Coordinators returns every coordinator in ascending e-mail order.
	Coordinators() ([]Coordinator, error)

	// Failures returns the sign-in failure counter under key, or the zero
	// Failures when there is none.
	Failures(key string) (Failures, error)
}

// Tx reads and writes inside an Update.
type Tx interface {
	ReadTx
	// NextSeq hands out the next sequence number: Head()+1, then +2…
	// within the transaction. The new head is committed with the
	// transaction; numbers of a rolled-back transaction are handed out
	// again.
	NextSeq() (uint64, error)
	// PutRecord stores r as the latest version of (r.Kind, r.ID). r.Seq is
	// a number from NextSeq of this transaction; the record leaves its
	// previous place in the change feed and takes r.Seq. Fields values must
	// come back as the same JSON values (white space, key order and
	// escaping may change; numbers keep every digit, so jsonb is fine). The
	// Children index follows r.Parent. A backend may send the write later,
	// with others, as long as every read of the transaction sees it; a
	// failure then comes back from a later call or from Update, and nothing
	// is committed.
	PutRecord(r Record) error
	// PutExit adds an exit to the change feed. e.Seq is a number from
	// NextSeq of this transaction, not shared with a record.
	PutExit(e Exit) error
	// PutDevice creates or replaces a device, keeping the token index in
	// step: the previous TokenHash, if any, no longer finds it.
	PutDevice(d Device) error
	// PutRejection stores a rejection under (deviceID, r.Seq).
	PutRejection(deviceID string, r protocol.Rejection) error
	// PutCoordinator creates or replaces a coordinator. It returns
	// ErrDuplicateEmail when another coordinator has c.Email.
	PutCoordinator(c Coordinator) error
	// PutFailures replaces the sign-in failure counter under key; the zero
	// Failures deletes it.
	PutFailures(key string, f Failures) error
	// DeleteFailuresBefore deletes the sign-in failure counters whose last
	// failure is before the time given, and returns how many.
	DeleteFailuresBefore(before time.Time) (int, error)
	// SetMeta stores a small named value.
	SetMeta(key, value string) error
}

// Sentinel errors a backend returns (wrapped or not) and callers tell apart
// with errors.Is.
var (
	// ErrNotFound: the record, device, coordinator or value does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicateEmail: another coordinator already has this e-mail.
	ErrDuplicateEmail = errors.New("e-mail already used by another coordinator")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("backend closed")
)

// Record is one stored record with what the merge needs.
type Record struct {
	Kind domain.Kind
	ID   string
	// Region is the region that decides who receives the record: a
	// member's region for the member and for its visits, follow-ups and
	// conflicts; "" for records every device receives (services,
	// coordinators).
	Region string
	// Parent is the member id of a visit, follow-up or conflict, so that
	// they follow their member when it moves to another region; "" for the
	// others.
	Parent string
	// Seq is the server sequence of the record's latest write.
	Seq     uint64
	Deleted bool
	// Fields is the full record, keyed by JSON field name. A tombstone
	// made by a device's delete keeps its last fields so nothing typed is
	// lost on the server; one made by an erasure (DeleteMember, the visit
	// retention) keeps only Kind, ID, Region and Seq: no fields, versions
	// or parent.
	Fields map[string]json.RawMessage
	// Versions stamps the last write of each field.
	Versions map[string]protocol.FieldVersion
}

// Exit is a change-feed entry saying that a record left a region: devices
// that hold the region and not the record's new one delete their copy.
type Exit struct {
	Seq    uint64
	Region string
	Kind   domain.Kind
	ID     string
}

// Entry is one element of the change feed: exactly one of Record and Exit
// is set.
type Entry struct {
	Record *Record
	Exit   *Exit
}

// Seq returns the entry's sequence number.
func (e Entry) Seq() uint64 {
	if e.Record != nil {
		return e.Record.Seq
	}
	return e.Exit.Seq
}

// FeedQuery selects feed entries with After < seq <= Through whose region is
// one of Regions ("" selects the records every device receives). Limit <= 0
// means no limit.
type FeedQuery struct {
	After   uint64
	Through uint64
	Regions []string
	Limit   int
}

// Device is one signed-in copy of the app, identified by the id its store
// made. Its sync state lives here so that a push and the record of having
// applied it are written in the same transaction.
type Device struct {
	ID            string
	CoordinatorID string
	Name          string
	// TokenHash is the SHA-256 of the device token; nil once signed out or
	// revoked.
	TokenHash []byte
	// LastSeq is the last mutation seq applied (or rejected).
	LastSeq uint64
	// Delivered lists the regions whose records the device holds in full.
	Delivered []string
	// Pending lists regions being backfilled; they join Delivered once the
	// device sends a cursor at or past PendingThrough.
	Pending        []string
	PendingThrough uint64
	// Dropped lists regions the device must delete; they are repeated until
	// it sends a cursor at or past DroppedThrough.
	Dropped        []string
	DroppedThrough uint64
	CreatedAt      time.Time
	SignedInAt     time.Time
	// AppVersion is the app release the device last synced with; empty
	// until an app that sends it syncs.
	AppVersion string
}

// Coordinator is a coordinator with what the server needs to authenticate
// and scope them. Coordinator.Regions is ignored for admins, who see every
// region.
type Coordinator struct {
	domain.Coordinator
	// Role is protocol.RoleCoordinator or protocol.RoleAdmin.
	Role string
	// PasswordHash is a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	PasswordHash string
}

// Failures counts recent failed sign-ins under one key (an e-mail or a
// remote address).
type Failures struct {
	Count int
	Last  time.Time
}
