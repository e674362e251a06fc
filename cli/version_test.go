package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// TestSyncSendsAppVersion: the real engine sends the app's version with a
// sync, and the central service's device list shows it.
func TestSyncSendsAppVersion(t *testing.T) {
	srv, web := centralServer(t)
	dir := filepath.Join(t.TempDir(), "profil")
	exec := func(stdin string, args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, Env{
			Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
			Getenv:         func(k string) string { return map[string]string{"TERRAIN_PASSPHRASE": passphrase}[k] },
			DefaultProfile: func() string { return dir },
			Store:          store.Options{Logger: quiet(), GCInterval: -1},
			Engine: engine.Options{AppVersion: "9.8.7-1-gabcdef0",
				Client: client.Config{RetryWait: time.Millisecond, RetryMaxWait: 10 * time.Millisecond}},
		})
		if code != 0 {
			t.Fatalf("%v: %d\n%s\n%s", args, code, out.String(), errOut.String())
		}
	}
	exec(password+"\n", "signin", "--server", web.URL, "--email", "ana@example.org", "--password-stdin")
	exec("", "sync")
	devices, err := srv.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 1 || devices[0].AppVersion != "9.8.7-1-gabcdef0" {
		t.Fatalf("devices = %+v, want one with the app's version", devices)
	}
}
