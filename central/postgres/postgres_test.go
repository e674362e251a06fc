package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/postgres"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// serverURL returns the test server's URL. Without one the tests skip, except
// under CI, where a missing PostgreSQL must fail the run rather than let the
// suite pass having tested nothing.
func serverURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("TERRAIN_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TERRAIN_TEST_POSTGRES is not set and CI=true: run the tests through scripts/with-postgres.sh")
		}
		t.Skip("TERRAIN_TEST_POSTGRES is not set; run: scripts/with-postgres.sh go test ./central/postgres/")
	}
	return url
}

// freshSchema names a schema no other test uses and drops it when the test
// ends.
func freshSchema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "terrain_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := postgres.DropSchema(context.Background(), url, schema); err != nil {
			t.Error(err)
		}
	})
	return schema
}

// open returns a backend over a fresh schema, closed when the test ends.
func open(t testing.TB) *postgres.Backend {
	t.Helper()
	url := serverURL(t)
	return openSchema(t, url, freshSchema(t, url))
}

// openSchema returns a backend over schema, closed when the test ends. Two
// backends over one schema stand for two servers sharing a database.
func openSchema(t testing.TB, url, schema string) *postgres.Backend {
	t.Helper()
	b, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestConcurrentWritersNeverSkip pushes from 20 goroutines at once, through
// two backends sharing one schema as two servers would, while readers poll
// the feed. Every write takes one new sequence for a new record, so the feed
// is dense: a reader that ever sees a gap has seen N+1 before N was
// committed.
func TestConcurrentWritersNeverSkip(t *testing.T) {
	url := serverURL(t)
	schema := freshSchema(t, url)
	servers := []*postgres.Backend{openSchema(t, url, schema), openSchema(t, url, schema)}
	b := servers[0]
	ctx := context.Background()
	const writers, perWriter = 20, 25
	const total = writers * perWriter
	regions := []string{"09"}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				err := servers[w%2].Update(ctx, func(tx central.Tx) error {
					seq, err := tx.NextSeq()
					if err != nil {
						return err
					}
					return tx.PutRecord(central.Record{
						Kind: domain.KindMember, ID: fmt.Sprintf("w%02d-%03d", w, i), Region: "09", Seq: seq,
						Fields: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)},
					})
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}

	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 3 {
		readers.Go(func() {
			var cursor uint64
			for {
				// Whether every writer had returned before this
				// snapshot was taken: only then must it hold them all.
				finished := false
				select {
				case <-done:
					finished = true
				default:
				}
				var entries []central.Entry
				// No upper bound but the largest: a writer's rows are
				// visible to a snapshot only once committed, so a
				// reader skipping a number would show here.
				err := servers[r%2].View(ctx, func(tx central.ReadTx) error {
					var err error
					entries, err = tx.Changes(central.FeedQuery{After: cursor, Through: ^uint64(0), Regions: regions, Limit: 7})
					return err
				})
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				for _, e := range entries {
					if e.Seq() != cursor+1 {
						t.Errorf("reader %d: after %d came %d", r, cursor, e.Seq())
						return
					}
					cursor = e.Seq()
				}
				if cursor == total {
					return
				}
				if finished && len(entries) == 0 {
					t.Errorf("reader %d: stopped at %d of %d", r, cursor, total)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()

	err := b.View(ctx, func(tx central.ReadTx) error {
		head, err := tx.Head()
		if err != nil {
			return err
		}
		if head != total {
			t.Errorf("head = %d, want %d", head, total)
		}
		n, err := tx.CountChanges(central.FeedQuery{Through: head, Regions: regions})
		if err != nil {
			return err
		}
		if n != total {
			t.Errorf("feed holds %d entries, want %d", n, total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFieldsByteForByte stores values that jsonb would rewrite.
func TestFieldsByteForByte(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	fields := map[string]json.RawMessage{
		"name":   json.RawMessage(`"Coop\u00e9rative <du> Nord & fils"`),
		"notes":  json.RawMessage(`"Coopérative \"Sept-Îles\"\n\u0000"`),
		"nested": json.RawMessage(`{"z": 1.50, "a": [1e3, 2.0],  "z": null}`),
		"big":    json.RawMessage(`123456789012345678901234567890`),
		"emoji":  json.RawMessage(`"\ud83c\udf32 🌲"`),
		"empty":  json.RawMessage(`""`),
	}
	versions := map[string]protocol.FieldVersion{"name": {HLC: 1<<63 + 5, Seq: 1, Device: "d1"}}
	err := b.Update(ctx, func(tx central.Tx) error {
		seq, err := tx.NextSeq()
		if err != nil {
			return err
		}
		return tx.PutRecord(central.Record{Kind: domain.KindMember, ID: "m1", Region: "09", Seq: seq, Fields: fields, Versions: versions})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.View(ctx, func(tx central.ReadTx) error {
		r, err := tx.Record(domain.KindMember, "m1")
		if err != nil {
			return err
		}
		if len(r.Fields) != len(fields) {
			t.Errorf("got %d fields, want %d", len(r.Fields), len(fields))
		}
		for name, want := range fields {
			if got := r.Fields[name]; string(got) != string(want) {
				t.Errorf("field %s = %s, want %s", name, got, want)
			}
		}
		if r.Versions["name"] != versions["name"] {
			t.Errorf("version = %+v, want %+v", r.Versions["name"], versions["name"])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrations checks that a second start applies nothing, that servers
// starting together on an empty schema agree, and that the applied
// migrations are recorded.
func TestMigrations(t *testing.T) {
	url := serverURL(t)
	schema := freshSchema(t, url)
	ctx := context.Background()

	var wg sync.WaitGroup
	backends := make([]*postgres.Backend, 4)
	for i := range backends {
		wg.Go(func() {
			b, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
			if err != nil {
				t.Errorf("open %d: %v", i, err)
				return
			}
			backends[i] = b
		})
	}
	wg.Wait()
	for _, b := range backends {
		if b != nil {
			_ = b.Close()
		}
	}
	if t.Failed() {
		return
	}

	b, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT version FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 || versions[0] != "0001_init" {
		t.Errorf("schema_migrations = %v, want 0001_init first", versions)
	}
	seen := map[string]bool{}
	for _, v := range versions {
		if seen[v] {
			t.Errorf("migration %s recorded twice", v)
		}
		seen[v] = true
	}

	// A database migrated by a newer program is refused.
	if _, err := conn.Exec(ctx, "INSERT INTO "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" (version) VALUES ('9999_future')"); err != nil {
		t.Fatal(err)
	}
	if b2, err := postgres.Open(ctx, url, postgres.Options{Schema: schema}); err == nil {
		_ = b2.Close()
		t.Error("open succeeded on a database with an unknown migration")
	} else if !strings.Contains(err.Error(), "9999_future") {
		t.Errorf("error %q does not name the unknown migration", err)
	}
}

// TestCancelWhileWaitingForLock cancels an Update that waits for the write
// lock held by another server: it returns the context's error and the
// holder commits undisturbed.
func TestCancelWhileWaitingForLock(t *testing.T) {
	url := serverURL(t)
	schema := freshSchema(t, url)
	ctx := context.Background()
	b, other := openSchema(t, url, schema), openSchema(t, url, schema)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	holding, release := make(chan struct{}), make(chan struct{})
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- b.Update(ctx, func(tx central.Tx) error {
			close(holding)
			<-release
			return tx.SetMeta("holder", "committed")
		})
	}()
	<-holding

	waitCtx, cancel := context.WithCancel(ctx)
	waiterDone := make(chan error, 1)
	go func() {
		waiterDone <- other.Update(waitCtx, func(tx central.Tx) error {
			return tx.SetMeta("waiter", "must not commit")
		})
	}()
	// Cancel once the waiter is really queued on the advisory lock.
	for {
		select {
		case err := <-waiterDone:
			close(release)
			t.Fatalf("waiter finished while the lock was held: %v", err)
		default:
		}
		var waiting int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
	}
	cancel()
	if err := <-waiterDone; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter returned %v, want context.Canceled", err)
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatalf("holder: %v", err)
	}
	err = b.View(ctx, func(tx central.ReadTx) error {
		if v, err := tx.Meta("holder"); err != nil || v != "committed" {
			t.Errorf("holder meta = %q, %v", v, err)
		}
		if _, err := tx.Meta("waiter"); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("waiter meta: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClosed checks that a closed backend says so.
func TestClosed(t *testing.T) {
	b := open(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.View(ctx, func(central.ReadTx) error { return nil }); !errors.Is(err, central.ErrClosed) {
		t.Errorf("View after Close: %v, want ErrClosed", err)
	}
	if err := b.Update(ctx, func(central.Tx) error { return nil }); !errors.Is(err, central.ErrClosed) {
		t.Errorf("Update after Close: %v, want ErrClosed", err)
	}
}

// TestOpenErrorHidesPassword checks that a failed connection does not echo
// the password of its URL.
func TestOpenErrorHidesPassword(t *testing.T) {
	const secret = "s3cr3t-Passw0rd"
	for _, url := range []string{
		"postgres://terrain:" + secret + "@127.0.0.1:1/terrain?connect_timeout=5",
		"postgres://terrain:" + secret + "@127.0.0.1:1/terrain?sslmode=bogus",
	} {
		_, err := postgres.Open(context.Background(), url, postgres.Options{})
		if err == nil {
			t.Fatalf("open %s succeeded", strings.ReplaceAll(url, secret, "…"))
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// BenchmarkUpdate measures one write transaction holding one record, the
// smallest push, from concurrent writers queuing on the write lock.
func BenchmarkUpdate(b *testing.B) {
	be := open(b)
	ctx := context.Background()
	fields := map[string]json.RawMessage{"name": json.RawMessage(`"Coopérative de solidarité du Nord"`), "region": json.RawMessage(`"09"`)}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := domain.NewID()
			err := be.Update(ctx, func(tx central.Tx) error {
				seq, err := tx.NextSeq()
				if err != nil {
					return err
				}
				return tx.PutRecord(central.Record{Kind: domain.KindMember, ID: id, Region: "09", Seq: seq, Fields: fields})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkChanges measures reading one page of 500 feed entries out of
// 5,000 in a snapshot, as a pull does.
func BenchmarkChanges(b *testing.B) {
	be := open(b)
	ctx := context.Background()
	fields := map[string]json.RawMessage{"name": json.RawMessage(`"Coopérative de solidarité du Nord"`), "region": json.RawMessage(`"09"`)}
	err := be.Update(ctx, func(tx central.Tx) error {
		for i := range 5000 {
			seq, err := tx.NextSeq()
			if err != nil {
				return err
			}
			region := []string{"09", "10", "11"}[i%3]
			if err := tx.PutRecord(central.Record{Kind: domain.KindMember, ID: domain.NewID(), Region: region, Seq: seq, Fields: fields}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		err := be.View(ctx, func(tx central.ReadTx) error {
			head, err := tx.Head()
			if err != nil {
				return err
			}
			entries, err := tx.Changes(central.FeedQuery{After: 1000, Through: head, Regions: []string{"09", "10", ""}, Limit: 500})
			if err == nil && len(entries) != 500 {
				err = fmt.Errorf("got %d entries, want 500", len(entries))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeldWriteFailureCommitsNothing: record writes wait to go to the
// database in one batch, so PostgreSQL refuses a bad one only later. The
// refusal must still reach the caller and commit nothing, even when fn
// ignored every error it was given.
func TestHeldWriteFailureCommitsNothing(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	put := func(tx central.Tx, id, region string) error {
		seq, err := tx.NextSeq()
		if err != nil {
			return err
		}
		return tx.PutRecord(central.Record{Kind: domain.KindMember, ID: id, Region: region, Seq: seq,
			Fields: map[string]json.RawMessage{"id": json.RawMessage(`"` + id + `"`)}})
	}
	good := domain.NewID()
	const bad = "09\x00" // PostgreSQL text holds no NUL byte: only the server finds out
	err := b.Update(ctx, func(tx central.Tx) error {
		_ = put(tx, good, "09")
		_ = put(tx, domain.NewID(), bad)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "put member") {
		t.Errorf("Update after a refused held write = %v, want an error naming the write", err)
	}
	err = b.Update(ctx, func(tx central.Tx) error {
		_ = put(tx, good, "09")
		_ = put(tx, domain.NewID(), bad)
		if _, err := tx.Record(domain.KindMember, good); err == nil || errors.Is(err, central.ErrNotFound) {
			t.Errorf("read after a refused held write = %v, want the refusal", err)
		}
		return nil
	})
	if err == nil {
		t.Error("Update whose read failed on a refused held write committed")
	}
	err = b.View(ctx, func(tx central.ReadTx) error {
		if h, err := tx.Head(); err != nil || h != 0 {
			t.Errorf("head = %d, %v; want 0", h, err)
		}
		if _, err := tx.Record(domain.KindMember, good); !errors.Is(err, central.ErrNotFound) {
			t.Errorf("the good write of a failed Update was kept: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
