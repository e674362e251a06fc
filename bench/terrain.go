package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/central/postgres"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/engine"
)

// Terrain's side: terrain-central in process (the real handler over a real
// backend, served on a loopback port with terrain-central serve's timeouts)
// and, per laptop, a real encrypted store and sync engine signed in through
// the link.

const (
	adminEmail    = "bureau@example.org"
	adminPassword = "mot de passe du banc d'essai"
)

var devicePassphrase = []byte("phrase de passe du banc d'essai")

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// terrainSystem is Terrain over one backend.
type terrainSystem struct {
	backend string // "badger" or "postgres"
	pgURL   string
	opt     central.Options
}

func (t *terrainSystem) Name() string    { return "terrain" }
func (t *terrainSystem) Variant() string { return t.backend }

// NewWorld starts a server of its own on a new backend holding members
// (shared or not: each backend holds its own copy anyway).
func (t *terrainSystem) NewWorld(ctx context.Context, _ string, members []domain.Member, _ bool) (World, error) {
	w := &terrainWorld{}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()
	var b central.Backend
	switch t.backend {
	case "badger":
		dir, err := os.MkdirTemp("", "terrain-bench-central-*")
		if err != nil {
			return nil, err
		}
		w.cleanup = append(w.cleanup, func() { os.RemoveAll(dir) })
		db, err := badgerdb.Open(dir, badgerdb.Options{Logger: quietLogger(), GCInterval: -1})
		if err != nil {
			return nil, err
		}
		b = db
	case "postgres":
		var suffix [6]byte
		_, _ = rand.Read(suffix[:])
		schema := "terrain_bench_" + hex.EncodeToString(suffix[:])
		pg, err := postgres.Open(ctx, t.pgURL, postgres.Options{Schema: schema, MaxConns: 8})
		if err != nil {
			return nil, err
		}
		w.cleanup = append(w.cleanup, func() { dropSchema(t.pgURL, schema) })
		b = pg
	default:
		return nil, fmt.Errorf("unknown backend %q", t.backend)
	}
	w.cleanup = append(w.cleanup, func() { b.Close() })
	opt := t.opt
	opt.Logger = quietLogger()
	opt.Argon2 = central.TestArgon2 // sign-in is not what is measured
	srv, err := central.New(ctx, b, opt)
	if err != nil {
		return nil, err
	}
	w.srv = srv
	if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: "Bureau central", Email: adminEmail,
		Admin: true, Password: []byte(adminPassword)}); err != nil {
		return nil, err
	}
	for i := 0; i < len(members); i += 2000 {
		if err := srv.Import(ctx, members[i:min(i+2000, len(members))], nil, nil); err != nil {
			return nil, fmt.Errorf("import members: %w", err)
		}
	}
	w.members = map[string]domain.Member{}
	for _, m := range members {
		w.members[m.ID] = m
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	go hs.Serve(ln)
	w.addr = ln.Addr().String()
	w.cleanup = append(w.cleanup, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	})
	ok = true
	return w, nil
}

type terrainWorld struct {
	srv     *central.Server
	addr    string
	members map[string]domain.Member
	cleanup []func()
}

func (w *terrainWorld) Addr() string { return w.addr }

func (w *terrainWorld) Close() {
	for i := len(w.cleanup) - 1; i >= 0; i-- {
		w.cleanup[i]()
	}
	w.cleanup = nil
}

// EditMembers changes members as the central office does, by importing
// them with the new value.
func (w *terrainWorld) EditMembers(ctx context.Context, edits []memberEdit) error {
	ms := make([]domain.Member, 0, len(edits))
	for _, e := range edits {
		m, ok := w.members[e.ID]
		if !ok {
			return fmt.Errorf("edit: no member %s", e.ID)
		}
		m.Notes = e.Notes
		w.members[e.ID] = m
		ms = append(ms, m)
	}
	return w.srv.Import(ctx, ms, nil, nil)
}

// NewDevice creates a profile (with a cheap key: it guards no real data)
// and signs it in at base, the link's address.
func (w *terrainWorld) NewDevice(ctx context.Context, base string) (Device, error) {
	dir, err := os.MkdirTemp("", "terrain-bench-device-*")
	if err != nil {
		return nil, err
	}
	st, err := store.Create(dir, devicePassphrase, store.Options{Logger: quietLogger(), GCInterval: -1,
		KeyCost: store.CheapKeyCost})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The engine's defaults are the app's: retries, timeouts, batches.
	eng := engine.New(st, engine.Options{NetCheck: -1, Logger: quietLogger(), DeviceName: "terrain-bench"})
	d := &terrainDevice{dir: dir, st: st, eng: eng}
	if err := eng.SignIn(ctx, base, adminEmail, adminPassword); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

type terrainDevice struct {
	dir string
	st  *store.Store
	eng *engine.Engine
}

// Warm is the app's own health probe: it opens the connection the sync
// then uses, as when the laptop finds the network again.
func (d *terrainDevice) Warm(ctx context.Context) error { return d.eng.Probe(ctx) }

func (d *terrainDevice) Sync(ctx context.Context) error {
	_, err := d.eng.SyncOnce(ctx)
	return err
}

func (d *terrainDevice) SaveVisits(_ context.Context, visits []domain.Visit) error {
	me, err := d.st.Me()
	if err != nil {
		return err
	}
	for _, v := range visits {
		v.CoordinatorID = me.ID
		if err := d.st.SaveVisit(v); err != nil {
			return err
		}
	}
	return nil
}

func (d *terrainDevice) EditMembers(_ context.Context, edits []memberEdit) error {
	for _, e := range edits {
		m, err := d.st.Member(e.ID)
		if err != nil {
			return err
		}
		m.Notes = e.Notes
		if err := d.st.SaveMember(m); err != nil {
			return err
		}
	}
	return nil
}

func (d *terrainDevice) Count(context.Context) (int, error) { return d.st.CountMembers(), nil }

func (d *terrainDevice) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.eng.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		slog.Warn("stop engine", "err", err)
	}
	_ = d.st.Close()
	os.RemoveAll(d.dir)
}

// dropSchema removes a schema made for one run; a failure leaves it behind
// in a throwaway database, which is not worth stopping for.
func dropSchema(url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = postgres.DropSchema(ctx, url, schema)
}
