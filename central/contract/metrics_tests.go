package contract

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"leconsortium.coop/terrain/central"
)

// testMetrics: GET /metrics on the metrics handler serves Prometheus text,
// and its counters move with a sync and a failed sign-in. (The API handler
// has no /metrics: Security/AuthorizationMatrix.)
func testMetrics(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.srv.MetricsHandler())
	web := httptest.NewServer(mux)
	defer web.Close()
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(web.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
		}
		return string(body)
	}
	value := func(text, series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			return 0 // a labelled series appears at its first increment
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("%s: %v", series, err)
		}
		return v
	}
	series := []string{
		`terrain_sync_requests_total{outcome="ok"}`,
		`terrain_sync_request_duration_seconds_count`,
		`terrain_pushed_mutations_total`,
		`terrain_pulled_changes_total`,
		`terrain_active_devices`,
		`terrain_sign_in_failures_total{reason="bad_credentials"}`,
		`terrain_backend_transaction_duration_seconds_count{op="update"}`,
	}
	before := scrape()
	d := e.device("ana@example.org")
	d.sync(d.create(kMember, member("09", "Coopérative des Métriques")))
	e.signIn("ana@example.org", "not the password", d.id)
	after := scrape()
	for _, s := range series {
		if value(after, s) <= value(before, s) {
			t.Errorf("%s did not move: %v then %v", s, value(before, s), value(after, s))
		}
	}
	if got := value(after, `terrain_active_devices`); got != 1 {
		t.Errorf("active devices = %v, want 1", got)
	}
}
