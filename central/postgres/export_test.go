package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RawDump returns every row of every table of the backend's schema as
// PostgreSQL's text form of the row (bytea as hex). The contract suite looks
// in it for what must never be stored, such as a password or a device
// token. It is a test-only method: the file ends in _test.go.
func (b *Backend) RawDump(ctx context.Context) ([]byte, error) {
	rows, err := b.pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("raw dump: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("raw dump: %w", err)
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("raw dump: no table in the current schema")
	}
	var out []byte
	for _, table := range tables {
		rows, err := b.pool.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{table}.Sanitize()+" t")
		if err != nil {
			return nil, fmt.Errorf("raw dump %s: %w", table, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("raw dump %s: %w", table, err)
		}
		out = append(out, table+"\n"...)
		for _, l := range lines {
			out = append(out, l+"\n"...)
		}
	}
	return out, nil
}
