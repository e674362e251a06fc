package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/engine"
)

// overAcking is a broken server: it answers every sync as acknowledging far
// more than it was sent.
type overAcking struct{ next http.RoundTripper }

func (o overAcking) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("Accept-Encoding") // plain JSON, to rewrite
	resp, err := o.next.RoundTrip(r)
	if err != nil || r.URL.Path != "/v1/sync" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var page map[string]json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	page["acked_through"] = json.RawMessage("1000000")
	if body, err = json.Marshal(page); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// TestOverAcknowledgingServerLosesNothing: a server that acknowledges
// changes it was never sent cannot make the device drop them.
func TestOverAcknowledgingServerLosesNothing(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	m := member("Coop", "09")
	w.members([]domain.Member{m})
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{tune: func(o *engine.Options) {
		o.BatchSize = 1
		o.Client.Transport = overAcking{next: http.DefaultTransport}
	}})
	ana.sync()
	var ids []string
	for i := range 4 {
		ids = append(ids, ana.visit(m.ID, fmt.Sprintf("visite %d", i)).ID)
	}
	ana.sync()
	ana.sync()
	on := map[string]bool{}
	if err := w.srv.ExportVisits(w.ctx, func(v domain.Visit) error { on[v.ID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !on[id] {
			t.Errorf("visit %s never reached the server", id)
		}
	}
	if n, err := ana.st.PendingCount(); err != nil || n != 0 {
		t.Errorf("pending = %d, %v", n, err)
	}
}
