package contract

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/sync/protocol"
)

// rawExchange writes head (and then each of body's parts, pause apart) on
// a fresh connection and reads one answer, giving up after wait.
func (e *env) rawExchange(head string, body []string, pause, wait time.Duration) (*http.Response, protocol.Error, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.web.URL, "http://"))
	if err != nil {
		return nil, protocol.Error{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(conn, head); err != nil {
		return nil, protocol.Error{}, err
	}
	go func() {
		for _, part := range body {
			time.Sleep(pause)
			if _, err := io.WriteString(conn, part); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, protocol.Error{}, err
	}
	defer resp.Body.Close()
	var pe protocol.Error
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &pe); err != nil || pe.Code == "" {
		return resp, pe, fmt.Errorf("%d with body %q, not a JSON error", resp.StatusCode, data)
	}
	return resp, pe, nil
}

// testSlowBody: a request body that stalls, or trickles in, is answered
// 408 request_timeout once the body's deadlines pass, and logged at INFO
// (the client's slowness is no server error).
func testSlowBody(t *testing.T, open func(*testing.T) central.Backend) {
	logs := &lockedBuffer{}
	e := newEnv(t, open, func(o *central.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.BodyStall = 300 * time.Millisecond
		o.BodyTimeout = time.Second
	})
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	req, _ := json.Marshal(protocol.SyncRequest{ClientID: a.id, SchemaVersion: protocol.SchemaVersion})
	head := func(n int, extra string) string {
		return fmt.Sprintf("POST /v1/sync HTTP/1.1\r\nHost: terrain\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n", a.token, n, extra)
	}
	zipped := gzipped(t, req)
	// Stalled: half the body, then nothing.
	stalled := []string{string(req[:len(req)/2])}
	// Trickled: one byte every 100 ms, never a stall, never done in time.
	var trickle []string
	for _, c := range string(req) {
		trickle = append(trickle, string(c))
	}
	cases := []struct {
		name  string
		head  string
		parts []string
	}{
		{"stalled", head(len(req), ""), stalled},
		{"trickled", head(len(req), ""), trickle},
		{"stalled gzip", head(len(zipped), "Content-Encoding: gzip\r\n"), []string{string(zipped[:len(zipped)/2])}},
	}
	for _, c := range cases {
		name := c.name
		start := time.Now()
		resp, pe, err := e.rawExchange(c.head, c.parts, 100*time.Millisecond, 5*time.Second)
		if err != nil {
			t.Errorf("%s body: %v", name, err)
			continue
		}
		if resp.StatusCode != http.StatusRequestTimeout || pe.Code != protocol.CodeRequestTimeout {
			t.Errorf("%s body: %d %q; want 408 %s", name, resp.StatusCode, pe.Code, protocol.CodeRequestTimeout)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s body held %s", name, took)
		}
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("a slow client logged at ERROR:\n%s", out)
	}
	if !strings.Contains(out, "status=408") {
		t.Errorf("no access-log line with status 408:\n%s", out)
	}
}

// testOddPaths: CONNECT and paths that are not clean are answered like
// any unknown endpoint, 404 not_found, never redirected elsewhere.
func testOddPaths(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	for _, line := range []string{
		"CONNECT example.org:443 HTTP/1.1",
		"CONNECT /v1/sync HTTP/1.1",
		"GET //healthz HTTP/1.1",
		"GET /v1//catalog HTTP/1.1",
		"POST /v1/./sync HTTP/1.1",
		"POST /v1/sync/.. HTTP/1.1",
		"POST /v1/../v1/sync HTTP/1.1",
		"GET /healthz/ HTTP/1.1",
		"GET /nowhere HTTP/1.1",
	} {
		resp, pe, err := e.rawExchange(line+"\r\nHost: terrain\r\nContent-Length: 0\r\n\r\n", nil, 0, 5*time.Second)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if resp.StatusCode != http.StatusNotFound || pe.Code != protocol.CodeNotFound || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q Location %q; want 404 %s, no redirect", line, resp.StatusCode, pe.Code,
				resp.Header.Get("Location"), protocol.CodeNotFound)
		}
	}
}

// testHSTS: over TLS every answer tells the browser-like client to keep to
// HTTPS; over plain HTTP (behind a TLS proxy) the proxy's answer does.
func testHSTS(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	tlsWeb := httptest.NewUnstartedServer(e.srv.Handler())
	tlsWeb.EnableHTTP2 = true
	tlsWeb.StartTLS()
	defer tlsWeb.Close()
	for _, path := range []string{"/healthz", "/nowhere"} {
		resp, err := tlsWeb.Client().Get(tlsWeb.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
			t.Errorf("GET %s over TLS: Strict-Transport-Security %q", path, h)
		}
	}
	resp, err := e.web.Client().Get(e.web.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("plain HTTP: Strict-Transport-Security %q", h)
	}
}
