package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// writeBehind is the pgx transaction of an Update that holds writes back
// and sends them together: a push of a thousand visits then costs one
// round trip to the database instead of a thousand. Every other statement,
// and the commit, sends what waits first, so reads see every write and
// statements run in the order they were given. Update flushes before it
// commits.
type writeBehind struct {
	pgx.Tx
	batch *pgx.Batch
	// what names each queued write, for the error of a failed one.
	what []string
	// err is the first failure of a sent batch: the transaction is then
	// aborted, and every later call returns it.
	err error
}

func newWriteBehind(tx pgx.Tx) *writeBehind {
	return &writeBehind{Tx: tx, batch: &pgx.Batch{}}
}

// queue holds a statement that returns no rows until the next flush.
func (w *writeBehind) queue(what, sql string, args ...any) {
	w.batch.Queue(sql, args...)
	w.what = append(w.what, what)
}

// flush sends the held statements in one batch.
func (w *writeBehind) flush(ctx context.Context) error {
	if w.err != nil || w.batch.Len() == 0 {
		return w.err
	}
	batch, what := w.batch, w.what
	w.batch, w.what = &pgx.Batch{}, nil
	res := w.Tx.SendBatch(ctx, batch)
	for _, name := range what {
		if _, err := res.Exec(); err != nil {
			w.err = fmt.Errorf("%s: %w", name, err)
			break
		}
	}
	if err := res.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("write batch: %w", err)
	}
	return w.err
}

func (w *writeBehind) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := w.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return w.Tx.Exec(ctx, sql, args...)
}

func (w *writeBehind) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return w.Tx.Query(ctx, sql, args...)
}

func (w *writeBehind) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := w.flush(ctx); err != nil {
		return errRow{err}
	}
	return w.Tx.QueryRow(ctx, sql, args...)
}

// errRow is a row that could not be read because a held write failed.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
