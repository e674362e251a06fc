package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/internal/jsonscan"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// pageSize is how many rows a walk (Records, Devices) reads at a time. The
// callback runs between pages, never while a result is open, so it may use
// the transaction itself.
const pageSize = 500

// readTx implements central.ReadTx over a pgx transaction.
type readTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t *readTx) Head() (uint64, error) {
	var head uint64
	if err := t.tx.QueryRow(t.ctx, "SELECT seq FROM feed_head").Scan(&head); err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	return head, nil
}

func (t *readTx) Meta(key string) (string, error) {
	var v string
	err := t.tx.QueryRow(t.ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v)
	if err != nil {
		return "", notFound(err, "meta "+key)
	}
	return v, nil
}

const recordColumns = "kind, id, region, parent, seq, deleted, fields, versions"

// scanRecord reads the recordColumns of one row.
func scanRecord(row pgx.Row) (central.Record, error) {
	var (
		r                central.Record
		kind             string
		fields, versions []byte
	)
	err := row.Scan(&kind, &r.ID, &r.Region, &r.Parent, &r.Seq, &r.Deleted, &fields, &versions)
	if err != nil {
		return central.Record{}, err
	}
	r.Kind = domain.Kind(kind)
	if fields != nil {
		if r.Fields, err = jsonscan.ValidFields(fields); err != nil {
			return central.Record{}, fmt.Errorf("decode fields of %s %s: %w", kind, r.ID, err)
		}
	}
	if versions != nil {
		if r.Versions, err = jsonscan.ValidVersions(versions); err != nil {
			return central.Record{}, fmt.Errorf("decode versions of %s %s: %w", kind, r.ID, err)
		}
	}
	return r, nil
}

func (t *readTx) Record(kind domain.Kind, id string) (central.Record, error) {
	row := t.tx.QueryRow(t.ctx, "SELECT "+recordColumns+" FROM records WHERE kind = $1 AND id = $2", string(kind), id)
	r, err := scanRecord(row)
	if err != nil {
		return central.Record{}, notFound(err, fmt.Sprintf("record %s %s", kind, id))
	}
	return r, nil
}

func (t *readTx) RecordsByID(kind domain.Kind, ids []string) ([]central.Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(t.ctx, "SELECT "+recordColumns+" FROM records WHERE kind = $1 AND id = ANY($2)", string(kind), ids)
	if err != nil {
		return nil, fmt.Errorf("read %s records: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (central.Record, error) { return scanRecord(row) })
	if err != nil {
		return nil, fmt.Errorf("read %s records: %w", kind, err)
	}
	return out, nil
}

func (t *readTx) Records(kind domain.Kind, fn func(central.Record) error) error {
	after := ""
	for {
		rows, err := t.tx.Query(t.ctx, "SELECT "+recordColumns+" FROM records WHERE kind = $1 AND id > $2 ORDER BY id LIMIT $3",
			string(kind), after, pageSize)
		if err != nil {
			return fmt.Errorf("list %s records: %w", kind, err)
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (central.Record, error) { return scanRecord(row) })
		if err != nil {
			return fmt.Errorf("list %s records: %w", kind, err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (t *readTx) Children(memberID string) ([]central.Record, error) {
	// Parent "" means "no parent", not a parent to look up.
	if memberID == "" {
		return nil, nil
	}
	rows, err := t.tx.Query(t.ctx, "SELECT "+recordColumns+" FROM records WHERE parent = $1", memberID)
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", memberID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (central.Record, error) { return scanRecord(row) })
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", memberID, err)
	}
	return out, nil
}

// seqParam turns a sequence bound into a bigint: past the largest bigint
// means "no bound", and no stored sequence is that large.
func seqParam(s uint64) int64 {
	if s > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(s)
}

// feedFrom is the change feed of records and exits between two sequences
// within a set of regions; CountChanges counts it whole.
const feedFrom = `
	SELECT seq, false AS exit, kind, id, region, parent, deleted, fields, versions FROM records
	 WHERE region = ANY($1) AND seq > $2 AND seq <= $3
	UNION ALL
	SELECT seq, true, kind, id, region, '', false, NULL::json, NULL::json FROM exits
	 WHERE region = ANY($1) AND seq > $2 AND seq <= $3`

// feedPage is one page of the feed. Each region reads at most a page from
// its (region, seq) index, in order, and only those rows are merged: a
// backfill of one region from 0 then reads a page, not the whole region.
const feedPage = `
	SELECT f.* FROM (SELECT DISTINCT unnest($1::text[])) AS r(region)
	CROSS JOIN LATERAL (
		(SELECT seq, false AS exit, kind, id, region, parent, deleted, fields, versions FROM records
		  WHERE records.region = r.region AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4)
		UNION ALL
		(SELECT seq, true, kind, id, region, '', false, NULL::json, NULL::json FROM exits
		  WHERE exits.region = r.region AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4)
	) f
	ORDER BY f.seq LIMIT $4`

func (t *readTx) Changes(q central.FeedQuery) ([]central.Entry, error) {
	if len(q.Regions) == 0 || q.Through <= q.After {
		return nil, nil
	}
	var limit any // NULL: LIMIT ALL
	if q.Limit > 0 {
		limit = q.Limit
	}
	rows, err := t.tx.Query(t.ctx, feedPage, q.Regions, seqParam(q.After), seqParam(q.Through), limit)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (central.Entry, error) {
		var (
			e                central.Entry
			exit             bool
			r                central.Record
			kind             string
			fields, versions []byte
		)
		err := row.Scan(&r.Seq, &exit, &kind, &r.ID, &r.Region, &r.Parent, &r.Deleted, &fields, &versions)
		if err != nil {
			return e, err
		}
		if exit {
			e.Exit = &central.Exit{Seq: r.Seq, Region: r.Region, Kind: domain.Kind(kind), ID: r.ID}
			return e, nil
		}
		r.Kind = domain.Kind(kind)
		if fields != nil {
			if r.Fields, err = jsonscan.ValidFields(fields); err != nil {
				return e, fmt.Errorf("decode fields of %s %s: %w", kind, r.ID, err)
			}
		}
		if versions != nil {
			if r.Versions, err = jsonscan.ValidVersions(versions); err != nil {
				return e, fmt.Errorf("decode versions of %s %s: %w", kind, r.ID, err)
			}
		}
		e.Record = &r
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

func (t *readTx) CountChanges(q central.FeedQuery) (int, error) {
	if len(q.Regions) == 0 || q.Through <= q.After {
		return 0, nil
	}
	var n int
	err := t.tx.QueryRow(t.ctx, "SELECT count(*) FROM ("+feedFrom+") feed",
		q.Regions, seqParam(q.After), seqParam(q.Through)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count changes: %w", err)
	}
	return n, nil
}

const deviceColumns = `id, coordinator_id, name, token_hash, last_seq, delivered, pending, pending_through,
	dropped, dropped_through, created_ns, signed_in_ns, app_version`

func scanDevice(row pgx.Row) (central.Device, error) {
	var (
		d                  central.Device
		created, signedIn  *int64
		lastSeq, pThrough  int64
		dThrough           int64
		delivered, pending []string
		dropped            []string
	)
	err := row.Scan(&d.ID, &d.CoordinatorID, &d.Name, &d.TokenHash, &lastSeq, &delivered, &pending, &pThrough,
		&dropped, &dThrough, &created, &signedIn, &d.AppVersion)
	if err != nil {
		return central.Device{}, err
	}
	d.LastSeq, d.PendingThrough, d.DroppedThrough = uint64(lastSeq), uint64(pThrough), uint64(dThrough)
	d.Delivered, d.Pending, d.Dropped = delivered, pending, dropped
	d.CreatedAt, d.SignedInAt = fromNanos(created), fromNanos(signedIn)
	return d, nil
}

func (t *readTx) Device(id string) (central.Device, error) {
	d, err := scanDevice(t.tx.QueryRow(t.ctx, "SELECT "+deviceColumns+" FROM devices WHERE id = $1", id))
	if err != nil {
		return central.Device{}, notFound(err, "device "+id)
	}
	return d, nil
}

func (t *readTx) DeviceByToken(hash []byte) (central.Device, error) {
	// An empty hash is a signed-out device's, never a token's.
	if len(hash) == 0 {
		return central.Device{}, fmt.Errorf("device by token: %w", central.ErrNotFound)
	}
	d, err := scanDevice(t.tx.QueryRow(t.ctx, "SELECT "+deviceColumns+" FROM devices WHERE token_hash = $1", hash))
	if err != nil {
		// The hash stays out of the message: it is as good as a token
		// for anyone holding a copy of the database.
		return central.Device{}, notFound(err, "device by token")
	}
	return d, nil
}

func (t *readTx) Devices(fn func(central.Device) error) error {
	after := ""
	for {
		rows, err := t.tx.Query(t.ctx, "SELECT "+deviceColumns+" FROM devices WHERE id > $1 ORDER BY id LIMIT $2", after, pageSize)
		if err != nil {
			return fmt.Errorf("list devices: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (central.Device, error) { return scanDevice(row) })
		if err != nil {
			return fmt.Errorf("list devices: %w", err)
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (t *readTx) Rejection(deviceID string, seq uint64) (protocol.Rejection, error) {
	var body []byte
	err := t.tx.QueryRow(t.ctx, "SELECT rejection FROM rejections WHERE device_id = $1 AND seq = $2",
		deviceID, seqParam(seq)).Scan(&body)
	if err != nil {
		return protocol.Rejection{}, notFound(err, fmt.Sprintf("rejection %s/%d", deviceID, seq))
	}
	var r protocol.Rejection
	if err := json.Unmarshal(body, &r); err != nil {
		return protocol.Rejection{}, fmt.Errorf("decode rejection %s/%d: %w", deviceID, seq, err)
	}
	return r, nil
}

func (t *readTx) Rejections(fn func(deviceID string, r protocol.Rejection) error) error {
	type row struct {
		device string
		seq    int64
		body   []byte
	}
	afterDevice, afterSeq := "", int64(-1)
	for {
		rows, err := t.tx.Query(t.ctx, `SELECT device_id, seq, rejection FROM rejections
			WHERE (device_id, seq) > ($1, $2) ORDER BY device_id, seq LIMIT $3`, afterDevice, afterSeq, pageSize)
		if err != nil {
			return fmt.Errorf("list rejections: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.device, &x.seq, &x.body)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("list rejections: %w", err)
		}
		for _, x := range page {
			var r protocol.Rejection
			if err := json.Unmarshal(x.body, &r); err != nil {
				return fmt.Errorf("decode rejection %s/%d: %w", x.device, x.seq, err)
			}
			if err := fn(x.device, r); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		afterDevice, afterSeq = page[len(page)-1].device, page[len(page)-1].seq
	}
}

const coordinatorColumns = "id, name, email, regions, disabled, role, password_hash"

func scanCoordinator(row pgx.Row) (central.Coordinator, error) {
	var c central.Coordinator
	err := row.Scan(&c.ID, &c.Name, &c.Email, &c.Regions, &c.Disabled, &c.Role, &c.PasswordHash)
	return c, err
}

func (t *readTx) Coordinator(id string) (central.Coordinator, error) {
	c, err := scanCoordinator(t.tx.QueryRow(t.ctx, "SELECT "+coordinatorColumns+" FROM coordinators WHERE id = $1", id))
	if err != nil {
		return central.Coordinator{}, notFound(err, "coordinator "+id)
	}
	return c, nil
}

func (t *readTx) CoordinatorByEmail(email string) (central.Coordinator, error) {
	c, err := scanCoordinator(t.tx.QueryRow(t.ctx,
		"SELECT "+coordinatorColumns+" FROM coordinators WHERE lower(email) = lower($1)", email))
	if err != nil {
		// The address stays out of errors, which end up in logs.
		return central.Coordinator{}, notFound(err, "coordinator by e-mail")
	}
	return c, nil
}

func (t *readTx) Coordinators() ([]central.Coordinator, error) {
	rows, err := t.tx.Query(t.ctx, "SELECT "+coordinatorColumns+" FROM coordinators ORDER BY email, id")
	if err != nil {
		return nil, fmt.Errorf("list coordinators: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (central.Coordinator, error) { return scanCoordinator(row) })
	if err != nil {
		return nil, fmt.Errorf("list coordinators: %w", err)
	}
	return out, nil
}

func (t *readTx) Failures(key string) (central.Failures, error) {
	var (
		f    central.Failures
		last *int64
	)
	err := t.tx.QueryRow(t.ctx, "SELECT count, last_ns FROM failures WHERE key = $1", key).Scan(&f.Count, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return central.Failures{}, nil
	}
	if err != nil {
		return central.Failures{}, fmt.Errorf("read sign-in failures: %w", err)
	}
	f.Last = fromNanos(last)
	return f, nil
}

// writeTx implements central.Tx. The transaction holds the write lock, so
// the feed head it read cannot move under it.
type writeTx struct {
	readTx
	// wb holds record, exit, rejection and device writes until the next
	// other statement or the commit (readTx.tx is wb too).
	wb *writeBehind
	// head is the feed head as this transaction sees it, valid when
	// loaded; numbers handed out are written back once, before commit.
	head   uint64
	loaded bool
	raised bool
	// err is the first failed write: Update refuses to commit after it even
	// if fn ignored it, as PostgreSQL does for a failed statement.
	err error
}

// fail remembers the first failed write and returns err.
func (t *writeTx) fail(err error) error {
	if err != nil && t.err == nil {
		t.err = err
	}
	return err
}

// Head includes the numbers this transaction handed out.
func (t *writeTx) Head() (uint64, error) {
	if !t.loaded {
		h, err := t.readTx.Head()
		if err != nil {
			return 0, err
		}
		t.head, t.loaded = h, true
	}
	return t.head, nil
}

func (t *writeTx) NextSeq() (uint64, error) {
	h, err := t.Head()
	if err != nil {
		return 0, t.fail(err)
	}
	t.head = h + 1
	t.raised = true
	return t.head, nil
}

// flushHead stores the numbers handed out, making them the committed head.
func (t *writeTx) flushHead() error {
	if t.err != nil {
		return t.err
	}
	if !t.raised {
		return nil
	}
	t.wb.queue("write head", "UPDATE feed_head SET seq = $1", seqParam(t.head))
	return nil
}

func (t *writeTx) PutRecord(r central.Record) error {
	fields, err := encodeFields(r.Fields)
	if err != nil {
		return t.fail(fmt.Errorf("put %s %s: %w", r.Kind, r.ID, err))
	}
	var versions []byte
	if r.Versions != nil {
		if versions, err = json.Marshal(r.Versions); err != nil {
			return t.fail(fmt.Errorf("put %s %s: %w", r.Kind, r.ID, err))
		}
	}
	t.wb.queue("put "+string(r.Kind)+" "+r.ID, `INSERT INTO records (`+recordColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (kind, id) DO UPDATE SET region = excluded.region, parent = excluded.parent, seq = excluded.seq,
			deleted = excluded.deleted, fields = excluded.fields, versions = excluded.versions`,
		string(r.Kind), r.ID, r.Region, r.Parent, seqParam(r.Seq), r.Deleted, jsonParam(fields), jsonParam(versions))
	return nil
}

// jsonParam passes encoded JSON as a json argument, nil as NULL.
func jsonParam(b []byte) any {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

// encodeFields writes a field map as one JSON object holding each value's
// bytes exactly as given; json.Marshal would compact and re-escape them.
// Keys are sorted so that equal maps are stored alike. A nil map stays nil
// (NULL); an empty value is stored as null, as json.Marshal would.
func encodeFields(fields map[string]json.RawMessage) ([]byte, error) {
	if fields == nil {
		return nil, nil
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		buf.Write(key)
		buf.WriteByte(':')
		v := fields[name]
		switch {
		case len(v) == 0:
			buf.WriteString("null")
		case !json.Valid(v):
			return nil, fmt.Errorf("field %q is not valid JSON", name)
		default:
			buf.Write(v)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func (t *writeTx) PutExit(e central.Exit) error {
	t.wb.queue("put exit of "+string(e.Kind)+" "+e.ID, "INSERT INTO exits (seq, region, kind, id) VALUES ($1, $2, $3, $4)",
		seqParam(e.Seq), e.Region, string(e.Kind), e.ID)
	return nil
}

func (t *writeTx) PutDevice(d central.Device) error {
	// The token index is the unique token_hash column, so replacing the row
	// replaces the entry: the previous hash no longer finds the device.
	t.wb.queue("put device "+d.ID, `INSERT INTO devices (`+deviceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (id) DO UPDATE SET coordinator_id = excluded.coordinator_id, name = excluded.name,
			token_hash = excluded.token_hash, last_seq = excluded.last_seq, delivered = excluded.delivered,
			pending = excluded.pending, pending_through = excluded.pending_through, dropped = excluded.dropped,
			dropped_through = excluded.dropped_through, created_ns = excluded.created_ns,
			signed_in_ns = excluded.signed_in_ns, app_version = excluded.app_version`,
		d.ID, d.CoordinatorID, d.Name, orNil(d.TokenHash), seqParam(d.LastSeq), orNil(d.Delivered), orNil(d.Pending),
		seqParam(d.PendingThrough), orNil(d.Dropped), seqParam(d.DroppedThrough), toNanos(d.CreatedAt), toNanos(d.SignedInAt), d.AppVersion)
	return nil
}

func (t *writeTx) PutRejection(deviceID string, r protocol.Rejection) error {
	body, err := json.Marshal(r)
	if err != nil {
		return t.fail(fmt.Errorf("put rejection %s/%d: %w", deviceID, r.Seq, err))
	}
	t.wb.queue(fmt.Sprintf("put rejection %s/%d", deviceID, r.Seq), `INSERT INTO rejections (device_id, seq, rejection) VALUES ($1, $2, $3)
		ON CONFLICT (device_id, seq) DO UPDATE SET rejection = excluded.rejection`,
		deviceID, seqParam(r.Seq), json.RawMessage(body))
	return nil
}

func (t *writeTx) PutCoordinator(c central.Coordinator) error {
	// Checked first rather than left to the unique index: a violation would
	// abort the whole transaction, and the caller may want to carry on
	// after ErrDuplicateEmail. The write lock makes the check race-free.
	var other string
	err := t.tx.QueryRow(t.ctx, "SELECT id FROM coordinators WHERE lower(email) = lower($1) AND id <> $2",
		c.Email, c.ID).Scan(&other)
	switch {
	case err == nil:
		return fmt.Errorf("put coordinator %s: %w", c.ID, central.ErrDuplicateEmail)
	case !errors.Is(err, pgx.ErrNoRows):
		return t.fail(fmt.Errorf("put coordinator %s: %w", c.ID, err))
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO coordinators (`+coordinatorColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, regions = excluded.regions,
			disabled = excluded.disabled, role = excluded.role, password_hash = excluded.password_hash`,
		c.ID, c.Name, c.Email, c.Regions, c.Disabled, c.Role, c.PasswordHash)
	if isUniqueViolation(err, "coordinators_email") {
		return t.fail(fmt.Errorf("put coordinator %s: %w", c.ID, central.ErrDuplicateEmail))
	}
	if err != nil {
		return t.fail(fmt.Errorf("put coordinator %s: %w", c.ID, err))
	}
	return nil
}

func (t *writeTx) PutFailures(key string, f central.Failures) error {
	var err error
	if f == (central.Failures{}) {
		_, err = t.tx.Exec(t.ctx, "DELETE FROM failures WHERE key = $1", key)
	} else {
		_, err = t.tx.Exec(t.ctx, `INSERT INTO failures (key, count, last_ns) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_ns = excluded.last_ns`,
			key, f.Count, toNanos(f.Last))
	}
	if err != nil {
		return t.fail(fmt.Errorf("write sign-in failures: %w", err))
	}
	return nil
}

func (t *writeTx) DeleteFailuresBefore(before time.Time) (int, error) {
	tag, err := t.tx.Exec(t.ctx, "DELETE FROM failures WHERE last_ns IS NULL OR last_ns < $1", toNanos(before))
	if err != nil {
		return 0, t.fail(fmt.Errorf("delete stale sign-in failures: %w", err))
	}
	return int(tag.RowsAffected()), nil
}

func (t *writeTx) SetMeta(key, value string) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return t.fail(fmt.Errorf("set meta %s: %w", key, err))
	}
	return nil
}

// orNil stores an empty list or hash as NULL, which reads back as nil: a
// device has no use for telling the two apart, and the embedded backend
// does not either.
func orNil[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// toNanos stores a time as Unix nanoseconds, the zero time as NULL (its
// UnixNano is out of range).
func toNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromNanos reads what toNanos stored, in UTC.
func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}
