package engine_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/central/postgres"
)

// envPostgres is the test PostgreSQL server's URL, which
// scripts/with-postgres.sh exports (make test runs under it).
const envPostgres = "TERRAIN_TEST_POSTGRES"

// pgSource prefixes the schema of server data held in PostgreSQL.
const pgSource = "postgres:"

// openData opens the central service's data at source: a Badger directory,
// or "postgres:<schema>", a schema of the server at TERRAIN_TEST_POSTGRES
// (a server child inherits the variable).
func openData(ctx context.Context, source string) (central.Backend, error) {
	if schema, ok := strings.CutPrefix(source, pgSource); ok {
		return postgres.Open(ctx, os.Getenv(envPostgres), postgres.Options{Schema: schema, MaxConns: 4})
	}
	return badgerdb.Open(source, badgerdb.Options{Logger: quiet(), GCInterval: -1})
}

// TestCrashPostgresServerKilled is TestCrashServerKilledDuringPush over
// PostgreSQL: the central server (a child process) is SIGKILLed while a
// device's pushes are on the wire, and during its start-ups; every visit
// acknowledged must be on the server once. PostgreSQL itself stays up: a
// commit it acknowledged is durable by its own guarantees, which this
// campaign does not test (the throwaway test server runs with fsync off).
// 10 kills by default; TERRAIN_CRASH_KILLS=N for a campaign.
func TestCrashPostgresServerKilled(t *testing.T) {
	url := os.Getenv(envPostgres)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(envPostgres + " is not set and CI=true: run the tests through scripts/with-postgres.sh")
		}
		t.Skip(envPostgres + " is not set; run: scripts/with-postgres.sh go test -run Crash ./sync/engine")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "terrain_crash_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := postgres.DropSchema(context.Background(), url, schema); err != nil {
			t.Error(err)
		}
	})
	killServerDuringPushes(t, pgSource+schema, crashKills(t, 10))
}
