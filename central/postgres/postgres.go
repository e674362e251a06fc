// Package postgres is the PostgreSQL backend of the central service
// (pgx v5). It stores what central.Backend is given in plain tables, with
// the schema migrations embedded and applied on start. The SQL needs
// nothing beyond PostgreSQL 13 and no extension, so it runs on a managed or
// replicated server as well as on a local one.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"leconsortium.coop/terrain/central"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock namespaces (the first key of the two-key form), so that
// Terrain's locks cannot meet another application's single-key locks.
const (
	lockWrite   int32 = 0x5465_7272 // "Terr"
	lockMigrate int32 = 0x5465_726d // "Term"
)

// Options tune a Backend. The zero value uses the connection's default
// search_path and pgxpool's default pool size.
type Options struct {
	// Schema, when set, is created if missing and holds Terrain's tables
	// (it becomes the connections' search_path), so one database can host
	// several independent instances, one per test for example.
	Schema string
	// MaxConns bounds the pool; pgxpool's default (at least 4) when 0.
	MaxConns int32
}

// Backend is a central.Backend over a PostgreSQL database.
type Backend struct {
	pool *pgxpool.Pool
	// writeKey is the second key of the write lock: per schema, so that
	// instances sharing a database do not wait for each other.
	writeKey int32
	// writer queues this process's Updates before they take a connection:
	// writers waiting on the advisory lock would otherwise hold every
	// connection of the pool and starve the readers, who need no lock.
	writer chan struct{}

	mu      sync.RWMutex
	closed  bool
	running sync.WaitGroup
}

var _ central.Backend = (*Backend)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// string, as libpq accepts), applies the migrations this program has and
// the database lacks, and returns the backend.
func Open(ctx context.Context, url string, opt Options) (*Backend, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's message already hides the password.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if opt.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opt.Schema}.Sanitize()
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	b := &Backend{pool: pool, writeKey: schemaKey(opt.Schema), writer: make(chan struct{}, 1)}
	if err := b.migrate(ctx, opt.Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return b, nil
}

// DropSchema deletes schema and everything in it, if it exists: the end of
// an instance made with Options.Schema (a test's, a benchmark's).
func DropSchema(ctx context.Context, url, schema string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	return nil
}

// schemaKey hashes a schema name into the second key of advisory locks.
func schemaKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

// migrate applies the embedded migrations in file-name order, all in one
// transaction under an advisory lock: two servers starting together do not
// both apply them, and a failed migration leaves the schema as it was.
func (b *Backend) migrate(ctx context.Context, schema string) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)

	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockMigrate, b.writeKey); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text COLLATE "C" PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	known := make(map[string]bool, len(names))
	for _, name := range names {
		known[migrationVersion(name)] = true
	}
	for _, v := range applied {
		// A newer program migrated this database: running an older one
		// against it could write what the new schema forbids.
		if !known[v] {
			return fmt.Errorf("migrate: the database has migration %s, unknown to this program (a newer version of it ran here)", v)
		}
	}
	for _, name := range names {
		v := migrationVersion(name)
		if slices.Contains(applied, v) {
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// Without arguments pgx uses the simple protocol, which accepts a
		// file of several statements.
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("migrate %s: %w", v, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v); err != nil {
			return fmt.Errorf("migrate %s: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// migrationVersion turns "migrations/0001_init.sql" into "0001_init".
func migrationVersion(name string) string {
	return strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
}

// enter registers a running transaction, or refuses once closed.
func (b *Backend) enter() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return central.ErrClosed
	}
	b.running.Add(1)
	return nil
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: every statement
// sees the one snapshot taken at the first, which holds every committed
// Update whole. Since writers commit in sequence order (see Update), a
// snapshot that holds sequence N+1 holds N.
func (b *Backend) View(ctx context.Context, fn func(central.ReadTx) error) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.running.Done()
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin view: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(&readTx{ctx: ctx, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("end view: %w", err)
	}
	return nil
}

// Update runs fn in a READ COMMITTED transaction whose first statement takes
// the write advisory lock, held until commit or rollback.
//
// The lock serialises writers: the feed head is read and raised by one
// transaction at a time, and the lock is released only after the commit is
// visible, so sequence N is visible before N+1 is even handed out. READ
// COMMITTED is then the right level: each statement after the lock sees
// everything committed before it was granted, whereas REPEATABLE READ would
// keep the snapshot of the lock statement itself, taken before the wait, and
// miss the previous writer. The level is set explicitly because a server's
// default_transaction_isolation may differ.
//
// The advisory lock is what orders writers, across every process sharing
// the database; the in-process queue in front of it only saves connections.
func (b *Backend) Update(ctx context.Context, fn func(central.Tx) error) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.running.Done()
	select {
	case b.writer <- struct{}{}:
		defer func() { <-b.writer }()
	case <-ctx.Done():
		return ctx.Err()
	}
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("begin update: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockWrite, b.writeKey); err != nil {
		return fmt.Errorf("begin update: lock: %w", err)
	}
	wb := newWriteBehind(tx)
	wt := &writeTx{readTx: readTx{ctx: ctx, tx: wb}, wb: wb}
	if err := fn(wt); err != nil {
		return err
	}
	if err := wt.flushHead(); err != nil {
		return err
	}
	if err := wb.flush(ctx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit update: %w", err)
	}
	return nil
}

// Close waits for running transactions, then closes the pool. Later calls
// of View and Update return central.ErrClosed; closing twice is harmless.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.running.Wait()
	b.pool.Close()
	return nil
}

// notFound maps "no rows" to central.ErrNotFound, keeping what was looked
// for in the message.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, central.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isUniqueViolation reports a unique_violation (23505) on constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}
