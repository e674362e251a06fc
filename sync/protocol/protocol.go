// Package protocol is the wire format spoken between Terrain's desktop app
// and the central service: the sync request and response, mutations,
// changes, rejections, conflicts, the session exchange, and the field-level
// merge rule both sides apply. It depends only on domain and hlc so that the
// app's sync engine and the server share one definition.
//
// docs/sync-protocol.md describes the exchange with an example.
package protocol

import (
	"encoding/json"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// SchemaVersion is the version of the wire format this package speaks. A
// request carrying another version is refused with CodeUnsupportedSchema.
const SchemaVersion = 1

// KindConflict names conflict records on the wire. A conflict is a record
// like the others: it has an id, it is delivered through the change feed to
// the devices whose scope holds the conflicting record, and its "resolved"
// field is written with a mutation.
const KindConflict domain.Kind = "conflict"

// CentralDevice is the device id stamped on writes made by the central
// service itself (imports, coordinator changes, the service catalog).
const CentralDevice = "central"

// SyncRequest is the body of POST /v1/sync: the device's pending mutations
// and where its copy of the feed stands.
type SyncRequest struct {
	// ClientID is the device id the session token was issued to.
	ClientID      string `json:"client_id"`
	SchemaVersion int    `json:"schema_version"`
	// Cursor is the last server sequence the device has stored.
	Cursor uint64 `json:"cursor"`
	// Epoch is the server epoch the cursor belongs to; empty on first sync.
	Epoch string `json:"epoch"`
	// Mutations are in increasing Seq order.
	Mutations []Mutation `json:"mutations"`
	// Backfill echoes the response's Backfill while a backfill runs.
	Backfill *Backfill `json:"backfill,omitempty"`
	// AppVersion is the release of the app making the request ("0.2.0"),
	// which the server keeps in its device list. Optional: older apps do
	// not send it. A server older than the field refuses it as an unknown
	// field; the client then sends it no more (sync/client).
	AppVersion string `json:"app_version,omitempty"`
}

// Mutation is one local edit of one record. Seq numbers a device's
// mutations 1, 2, 3… and is never reused; the server remembers the last one
// it applied, which makes a retried push harmless.
type Mutation struct {
	Seq    uint64      `json:"seq"`
	Kind   domain.Kind `json:"kind"`
	ID     string      `json:"id"`
	Delete bool        `json:"delete,omitempty"`
	// Fields holds only the changed fields, keyed by the JSON name of the
	// domain struct's field, each value being that field's JSON.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
	// Base is, per changed field, the server sequence of the version the
	// edit was made on (0 for a field never received from the server). A
	// delete gives it for every field of the record it deleted, so that the
	// server refuses (RejectEditedSince) a delete that raced another
	// device's edit.
	Base map[string]uint64 `json:"base,omitempty"`
	HLC  hlc.Timestamp     `json:"hlc"`
}

// SyncResponse answers a SyncRequest with one page of changes.
type SyncResponse struct {
	// AckedThrough is the last mutation Seq the server has applied or
	// rejected for this device; the device may drop its outbox up to it.
	AckedThrough uint64      `json:"acked_through"`
	Rejected     []Rejection `json:"rejected"`
	Changes      []Change    `json:"changes"`
	// Cursor is the value to store with the changes of this page. It may go
	// backwards only if the epoch changed.
	Cursor  uint64 `json:"cursor"`
	HasMore bool   `json:"has_more"`
	Epoch   string `json:"epoch"`
	// Remaining estimates the changes left after this page, for progress.
	Remaining int `json:"remaining"`
	// DroppedRegions lists regions that left the device's scope: the device
	// deletes every record of those regions, in the same transaction as the
	// changes, before applying the changes. It is repeated until the device
	// sends a cursor at or past the one that came with it.
	DroppedRegions []string `json:"dropped_regions,omitempty"`
	// Backfill is set while the server delivers regions the device gained;
	// the device sends it back with its next request.
	Backfill *Backfill `json:"backfill,omitempty"`
}

// Backfill is the position of a running backfill: the records of regions the
// device gained, up to Through, are delivered in pages after After. The
// device keeps it in memory only; if lost, the backfill starts over.
type Backfill struct {
	Through uint64 `json:"through"`
	After   uint64 `json:"after"`
}

// Rejection reports a mutation the server refused. It is acknowledged like an
// applied one (AckedThrough covers it) and goes to the device's quarantine.
type Rejection struct {
	Seq     uint64              `json:"seq"`
	Kind    domain.Kind         `json:"kind"`
	ID      string              `json:"id"`
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Fields  []domain.FieldError `json:"fields,omitempty"`
}

// Rejection codes.
const (
	// RejectForbidden: the record is outside the coordinator's scope, or the
	// coordinator may not write it (another coordinator's visit).
	RejectForbidden = "forbidden"
	// RejectInvalid: the record after merge fails validation; Fields says why.
	RejectInvalid = "invalid"
	// RejectReadOnly: the kind or field is managed centrally.
	RejectReadOnly = "read_only"
	// RejectUnknownField: a field name that the kind does not have.
	RejectUnknownField = "unknown_field"
	// RejectUnknownMember: a visit or follow-up names a member the server
	// does not have.
	RejectUnknownMember = "unknown_member"
	// RejectDeleted: an edit of a record that was deleted.
	RejectDeleted = "deleted"
	// RejectEditedSince: a delete of a record that another device changed
	// after the version the delete was based on. The record is kept; the
	// coordinator sees the change and deletes again if they still mean to.
	RejectEditedSince = "edited_since"
)

// Change is the current state of one record, delivered by the change feed.
// A record appears once, at the sequence of its latest write.
type Change struct {
	Seq  uint64      `json:"seq"`
	Kind domain.Kind `json:"kind"`
	ID   string      `json:"id"`
	// Delete marks a tombstone: the device deletes the record.
	Delete bool `json:"delete,omitempty"`
	// Removed says the record left the device's scope (its member moved to
	// another region): the device deletes its copy; the record lives on.
	Removed bool `json:"removed,omitempty"`
	// Erased marks a tombstone that keeps nothing on the server either: a
	// member the central office deleted with its records, an expired
	// visit. The device also strips its unsent changes of the record (Law
	// 25); after an ordinary delete they are refused and kept, for the
	// coordinator to see.
	Erased bool `json:"erased,omitempty"`
	// Fields is the full record, keyed by JSON field name.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
	// Versions holds, per field, the stamp of its last write.
	Versions map[string]FieldVersion `json:"versions,omitempty"`
	// Version and Own are the compact form (FeatureCompact), sent only to
	// a device that asked for it; ExpandChanges turns it back into the
	// full one. Version stamps every field of Fields that Versions does
	// not list; in Versions, the zero stamp means none. Own names a mutation of the request being answered whose
	// fields are stored as sent: they are left out of Fields, and each is
	// stamped {the mutation's HLC, this change's Seq, the device}.
	Version *FieldVersion `json:"version,omitempty"`
	Own     uint64        `json:"own,omitempty"`
}

// FieldVersion stamps the last write of one field.
type FieldVersion struct {
	HLC hlc.Timestamp `json:"hlc"`
	// Seq is the server sequence of the write; a device uses it as Base.
	Seq    uint64 `json:"seq"`
	Device string `json:"device"`
}

// Conflict keeps the value that lost a concurrent edit, so nothing typed by
// anyone is silently lost. Coordinators and the central office see it and
// mark it resolved.
type Conflict struct {
	ID         string       `json:"id"`
	RecordKind domain.Kind  `json:"record_kind"`
	RecordID   string       `json:"record_id"`
	MemberID   string       `json:"member_id"`
	Field      string       `json:"field"`
	Winner     ConflictSide `json:"winner"`
	Loser      ConflictSide `json:"loser"`
	Resolved   bool         `json:"resolved"`
}

// ConflictSide is one of the two concurrent writes of a field.
type ConflictSide struct {
	Value  json.RawMessage `json:"value"`
	HLC    hlc.Timestamp   `json:"hlc"`
	Device string          `json:"device"`
}

// SessionRequest is the body of POST /v1/session.
type SessionRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// ClientID is the device id (a UUID made by the device's store).
	ClientID   string `json:"client_id"`
	DeviceName string `json:"device_name,omitempty"`
}

// SessionResponse carries the device token, shown once.
type SessionResponse struct {
	Token       string          `json:"token"`
	Coordinator CoordinatorInfo `json:"coordinator"`
	Epoch       string          `json:"epoch"`
}

// CoordinatorInfo describes who signed in.
type CoordinatorInfo struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Regions []string `json:"regions"`
	Role    string   `json:"role"`
}

// Roles of a coordinator.
const (
	// RoleCoordinator: scope is the coordinator's regions.
	RoleCoordinator = "coordinator"
	// RoleAdmin: the central office; every region, and may delete members.
	RoleAdmin = "admin"
)

// Error is the body of every non-2xx answer. Code is stable and meant for
// the app to translate; Message is for people reading logs.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Request-level error codes.
const (
	CodeMalformed         = "malformed_json"
	CodeDuplicateKey      = "duplicate_key"
	CodeUnknownField      = "unknown_field"
	CodeInvalidUTF8       = "invalid_utf8"
	CodeTooLarge          = "too_large"
	CodeFieldTooLarge     = "field_too_large"
	CodeBadRequest        = "bad_request"
	CodeSeqOutOfRange     = "seq_out_of_range"
	CodeUnsupportedMedia  = "unsupported_media_type"
	CodeUnsupportedSchema = "unsupported_schema"
	CodeUnauthorized      = "unauthorized"
	CodeBadCredentials    = "bad_credentials"
	CodeTooManyAttempts   = "too_many_attempts"
	CodeDisabled          = "disabled"
	CodeForbidden         = "forbidden"
	CodeEpochChanged      = "epoch_changed"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeInternal          = "internal"
	// CodeBusy (503, with Retry-After): the server's memory budget is
	// spent for now; the request may be sent again unchanged.
	CodeBusy = "busy"
	// CodeRequestTimeout (408): the request's body did not arrive in time.
	CodeRequestTimeout = "request_timeout"
)
