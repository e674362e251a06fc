package contract

import (
	"net/http"
	"testing"

	"leconsortium.coop/terrain/central"
)

// testDeviceAppVersion: the app release a device syncs with is kept per
// device and listed by Server.Devices (terrain-central device list); a sync
// without a version (an older app) keeps the last one known, and a sync
// with nothing to push still records a new version.
func testDeviceAppVersion(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	d := e.device("ana@example.org")
	listed := func() string {
		t.Helper()
		devices, err := e.srv.Devices(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, dev := range devices {
			if dev.ID == d.id {
				return dev.AppVersion
			}
		}
		t.Fatalf("device %s not listed", d.id)
		return ""
	}
	if v := listed(); v != "" {
		t.Fatalf("version before any sync = %q", v)
	}
	for _, tc := range []struct{ send, want string }{
		{"0.2.0", "0.2.0"},
		{"", "0.2.0"},
		{"0.3.0-1-gabcdef0", "0.3.0-1-gabcdef0"},
	} {
		req := d.request(nil, nil)
		req.AppVersion = tc.send
		if status, pe, _ := d.post(req); status != http.StatusOK {
			t.Fatalf("sync with version %q: %d %s", tc.send, status, pe.Message)
		}
		if v := listed(); v != tc.want {
			t.Errorf("after a sync with version %q the device list says %q, want %q", tc.send, v, tc.want)
		}
	}
}
