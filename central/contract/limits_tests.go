package contract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/sync/protocol"
)

// gzipped compresses parts as one gzip stream.
func gzipped(t *testing.T, parts ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	for _, p := range parts {
		if _, err := zw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testInflateCap: a small gzip body that inflates past the cap on decoded
// bodies (well below the 32 MiB it once was) is refused 413 too_large, a
// sign-in body past its own small cap too, and nothing is stored.
func testInflateCap(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	req, _ := json.Marshal(protocol.SyncRequest{ClientID: a.id, SchemaVersion: protocol.SchemaVersion})
	gz := map[string]string{"Content-Encoding": "gzip"}

	// 9 MiB of white space before a valid request: 9 kB on the wire.
	body := gzipped(t, bytes.Repeat([]byte{' '}, 9<<20), req)
	if len(body) > 64<<10 {
		t.Fatalf("test body is %d bytes on the wire", len(body))
	}
	status, pe, _ := e.raw(http.MethodPost, "/v1/sync", a.token, "application/json", body, gz)
	if status != http.StatusRequestEntityTooLarge || pe.Code != protocol.CodeTooLarge {
		t.Errorf("sync body inflating to 9 MiB: %d %q; want 413 %s", status, pe.Code, protocol.CodeTooLarge)
	}
	// The same request without the padding still goes through.
	if status, pe, _ := e.raw(http.MethodPost, "/v1/sync", a.token, "application/json", gzipped(t, req), gz); status != http.StatusOK {
		t.Errorf("plain sync: %d %s", status, pe.Message)
	}

	// A sign-in is a few hundred bytes: 64 kB of padding is refused.
	sess, _ := json.Marshal(protocol.SessionRequest{Email: "ana@example.org", Password: password, ClientID: a.id, DeviceName: "x"})
	padded := append(bytes.Repeat([]byte{' '}, 64<<10), sess...)
	for name, hdr := range map[string]map[string]string{"plain": nil, "gzip": gz} {
		b := padded
		if hdr != nil {
			b = gzipped(t, padded)
		}
		status, pe, _ := e.raw(http.MethodPost, "/v1/session", "", "application/json", b, hdr)
		if status != http.StatusRequestEntityTooLarge || pe.Code != protocol.CodeTooLarge {
			t.Errorf("%s sign-in padded to 64 kB: %d %q; want 413 %s", name, status, pe.Code, protocol.CodeTooLarge)
		}
	}
}

// testMemoryBudget: past the memory budget a request is answered 503
// busy with Retry-After, and requests that fit still go through.
func testMemoryBudget(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, func(o *central.Options) { o.MemoryBudget = 2 << 20 })
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	m := member("09", "Coopérative de Sept-Îles")
	a.sync(a.create(kMember, m))

	// 3 MiB of white space fits the cap on decoded bodies but not the
	// budget: reading it would make the server hold some four times that.
	req, _ := json.Marshal(protocol.SyncRequest{ClientID: a.id, SchemaVersion: protocol.SchemaVersion})
	body := gzipped(t, bytes.Repeat([]byte{' '}, 3<<20), req)
	resp, pe := e.send(http.MethodPost, "/v1/sync", a.token, body, map[string]string{"Content-Encoding": "gzip"})
	if resp.StatusCode != http.StatusServiceUnavailable || pe.Code != protocol.CodeBusy || resp.Header.Get("Retry-After") == "" {
		t.Errorf("body past the budget: %d %q Retry-After %q; want 503 %s with Retry-After",
			resp.StatusCode, pe.Code, resp.Header.Get("Retry-After"), protocol.CodeBusy)
	}
	// Ordinary syncs fit, and the budget was given back.
	for range 3 {
		a.sync(a.edit(kMember, m.ID, map[string]any{"notes": strings.Repeat("n", 1000)}))
	}
	if len(a.lastRej) > 0 {
		t.Errorf("rejected: %+v", a.lastRej)
	}
}

// send is raw for tests that read the answer's headers: a JSON body,
// header added, the error body decoded (not gzipped: no Accept-Encoding).
func (e *env) send(method, path, token string, body []byte, header map[string]string) (*http.Response, protocol.Error) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, e.web.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var pe protocol.Error
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(data, &pe); err != nil || pe.Code == "" || pe.Message == "" {
			e.t.Errorf("%s %s: %d with body %q, not a JSON error", method, path, resp.StatusCode, data)
		}
	}
	return resp, pe
}
