package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/central/postgres"
)

// storeFlags are the flags that choose the backend.
type storeFlags struct {
	data     *string
	postgres *string
}

func (f *flags) store() storeFlags {
	return storeFlags{
		data:     f.str("data", "", "directory of the embedded database"),
		postgres: f.str("postgres", "", "PostgreSQL URL, instead of --data"),
	}
}

// open opens the chosen backend and a server over it, with opt (whose
// Argon2 cost is the cli's, and whose Logger defaults to warnings on
// stderr). The caller closes the returned backend.
func (c *cli) open(ctx context.Context, sf storeFlags, opt central.Options) (*central.Server, central.Backend, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	log := opt.Logger
	var b central.Backend
	switch {
	case *sf.data != "" && *sf.postgres != "":
		return nil, nil, usagef("give --data or --postgres, not both")
	case *sf.postgres != "":
		pg, err := postgres.Open(ctx, *sf.postgres, postgres.Options{})
		if err != nil {
			return nil, nil, err
		}
		b = pg
	case *sf.data != "":
		db, err := badgerdb.Open(*sf.data, badgerdb.Options{Logger: log})
		if errors.Is(err, badgerdb.ErrLocked) {
			return nil, nil, fmt.Errorf("the data directory %s is in use by another process (is terrain-central serve running on it? stop it first)", *sf.data)
		}
		if err != nil {
			return nil, nil, err
		}
		b = db
	default:
		return nil, nil, usagef("say where the data is: --data DIR (or TERRAIN_CENTRAL_DATA) or --postgres URL (or TERRAIN_CENTRAL_POSTGRES)")
	}
	opt.Argon2 = c.argon
	srv, err := central.New(ctx, b, opt)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	return srv, b, nil
}

// withServer opens the backend, runs fn and closes the backend, keeping the
// first error.
func (c *cli) withServer(ctx context.Context, sf storeFlags, fn func(*central.Server) error) (err error) {
	srv, b, err := c.open(ctx, sf, central.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return fn(srv)
}

// closeAll closes c, keeping the first error in *err.
func closeAll(c io.Closer, err *error) {
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
