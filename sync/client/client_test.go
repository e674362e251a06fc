package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/protocol"
)

const password = "correct horse battery staple"

// server is the real central service over the embedded backend, behind a
// handler the test may wrap.
type server struct {
	srv  *central.Server
	web  *httptest.Server
	wrap atomic.Pointer[func(http.ResponseWriter, *http.Request, http.Handler)]
}

func newServer(t *testing.T, tls bool) *server {
	t.Helper()
	b, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	srv, err := central.New(context.Background(), b, central.Options{Logger: quiet(), Argon2: central.TestArgon2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddCoordinator(context.Background(), central.NewCoordinator{Name: "Ana", Email: "ana@example.org",
		Regions: []string{"09"}, Password: []byte(password)}); err != nil {
		t.Fatal(err)
	}
	s := &server{srv: srv}
	h := srv.Handler()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wrap := s.wrap.Load(); wrap != nil {
			(*wrap)(w, r, h)
			return
		}
		h.ServeHTTP(w, r)
	})
	if tls {
		s.web = httptest.NewTLSServer(handler)
	} else {
		s.web = httptest.NewServer(handler)
	}
	t.Cleanup(s.web.Close)
	return s
}

func (s *server) setWrap(fn func(http.ResponseWriter, *http.Request, http.Handler)) {
	s.wrap.Store(&fn)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fast(server string) client.Config {
	return client.Config{Server: server, Retries: 4, RetryWait: time.Millisecond, RetryMaxWait: 20 * time.Millisecond, Logger: quiet()}
}

func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func signIn(t *testing.T, c *client.Client, device string) protocol.SessionResponse {
	t.Helper()
	resp, err := c.SignIn(context.Background(), "ana@example.org", password, device, "test")
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	c.SetToken(resp.Token)
	return resp
}

func request(device string, cursor uint64) protocol.SyncRequest {
	return protocol.SyncRequest{ClientID: device, SchemaVersion: protocol.SchemaVersion, Cursor: cursor}
}

func TestCheckServer(t *testing.T) {
	for _, ok := range []string{"https://central.example.org", "https://central.example.org:8443/terrain/",
		"http://127.0.0.1:8470", "http://127.8.9.1", "http://[::1]:8470", "http://localhost:8470", "HTTP://LOCALHOST"} {
		if _, err := client.CheckServer(ok); err != nil {
			t.Errorf("CheckServer(%q) = %v", ok, err)
		}
	}
	for _, insecure := range []string{"http://central.example.org", "http://192.168.1.10:8470", "http://[::2]", "http://localhost.example.org"} {
		if _, err := client.CheckServer(insecure); !errors.Is(err, client.ErrInsecure) {
			t.Errorf("CheckServer(%q) = %v, want ErrInsecure", insecure, err)
		}
		if _, err := client.New(client.Config{Server: insecure}); !errors.Is(err, client.ErrInsecure) {
			t.Errorf("New(%q) = %v, want ErrInsecure", insecure, err)
		}
	}
	for _, bad := range []string{"", "central.example.org", "ftp://central.example.org", "https://user:pw@central.example.org", "https://x.org/?a=1"} {
		if _, err := client.CheckServer(bad); !errors.Is(err, client.ErrBadURL) {
			t.Errorf("CheckServer(%q) = %v, want ErrBadURL", bad, err)
		}
	}
	if got, _ := client.CheckServer("https://central.example.org/terrain/"); got != "https://central.example.org/terrain" {
		t.Errorf("trailing slash kept: %q", got)
	}
}

// TestSyncWithTheRealServer signs in and syncs with gzip both ways.
func TestSyncWithTheRealServer(t *testing.T) {
	s := newServer(t, false)
	var gzIn, gzOut atomic.Int32
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		if r.Method == http.MethodPost && r.Header.Get("Content-Encoding") == "gzip" {
			gzIn.Add(1)
		}
		if r.Header.Get("Accept-Encoding") == "gzip" {
			gzOut.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	c := newClient(t, fast(s.web.URL))
	if err := c.Health(context.Background()); err != nil {
		t.Fatalf("health: %v", err)
	}
	device := domain.NewID()
	resp := signIn(t, c, device)
	if resp.Coordinator.Email != "ana@example.org" || resp.Epoch != s.srv.Epoch() {
		t.Errorf("session = %+v", resp)
	}
	sr, err := c.Sync(context.Background(), request(device, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Changes) == 0 || sr.Epoch != s.srv.Epoch() {
		t.Errorf("first page: %d changes, epoch %q", len(sr.Changes), sr.Epoch)
	}
	if gzIn.Load() != 2 || gzOut.Load() < 3 {
		t.Errorf("gzip bodies sent %d (want 2), gzip accepted %d", gzIn.Load(), gzOut.Load())
	}
	st := c.Stats()
	if st.Attempts != 3 || st.BytesSent == 0 || st.BytesReceived == 0 {
		t.Errorf("stats = %+v", st)
	}
	if err := c.SignOut(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(context.Background(), request(device, 0)); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("sync after sign-out: %v, want ErrUnauthorized", err)
	}
}

// TestErrorsCarryTheirKind maps the server's refusals to sentinels.
func TestErrorsCarryTheirKind(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	device := domain.NewID()
	_, err := c.SignIn(context.Background(), "ana@example.org", "not the password", device, "test")
	var e *client.Error
	if !errors.Is(err, client.ErrBadCredentials) || !errors.As(err, &e) || e.Code != protocol.CodeBadCredentials || e.Status != 401 {
		t.Fatalf("bad password: %v", err)
	}
	signIn(t, c, device)
	req := request(device, 0)
	req.Epoch = "an old epoch"
	if _, err := c.Sync(context.Background(), req); !errors.Is(err, client.ErrEpochChanged) {
		t.Errorf("old epoch: %v", err)
	}
	if _, err := c.Sync(context.Background(), request(domain.NewID(), 0)); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("another device's id: %v", err)
	}
	req = request(device, 0)
	req.SchemaVersion = 99
	if _, err := c.Sync(context.Background(), req); !errors.Is(err, client.ErrUnsupported) {
		t.Errorf("schema 99: %v", err)
	}
	req = request(device, 0)
	req.Mutations = []protocol.Mutation{{Seq: 1, Kind: domain.KindMember, ID: "not-a-uuid",
		Fields: map[string]json.RawMessage{"name": json.RawMessage(`"Coop"`)}}}
	if _, err := c.Sync(context.Background(), req); !errors.Is(err, client.ErrRefused) {
		t.Errorf("bad mutation: %v", err)
	}
	if err := s.srv.DisableCoordinator(context.Background(), "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	// Disabling revokes the device's token: sign in again, which says why.
	if _, err := c.Sync(context.Background(), request(device, 0)); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("disabled coordinator's sync: %v", err)
	}
	if _, err := c.SignIn(context.Background(), "ana@example.org", password, device, "test"); !errors.Is(err, client.ErrDisabled) {
		t.Errorf("disabled coordinator's sign-in: %v", err)
	}
}

// rewritePages passes sync requests to the real server and lets edit
// change its page before the client sees it.
func rewritePages(t *testing.T, s *server, edit func(page map[string]any)) {
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		if r.URL.Path != "/v1/sync" {
			h.ServeHTTP(w, r)
			return
		}
		r.Header.Del("Accept-Encoding") // a plain body to edit
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var page map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Errorf("server page: %v", err)
			return
		}
		edit(page)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(page)
	})
}

// TestSyncRefusesBrokenPages: a page that breaks the protocol (here a
// cursor going back within the epoch, then changes out of order) is a
// server error, recognisable as protocol.ErrBadResponse, and is not retried.
func TestSyncRefusesBrokenPages(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	device := domain.NewID()
	signIn(t, c, device)
	first, err := c.Sync(context.Background(), request(device, 0))
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(page map[string]any){
		"cursor back": func(page map[string]any) { page["cursor"] = 1 },
		"changes out of order": func(page map[string]any) {
			cs := page["changes"].([]any)
			cs[0], cs[len(cs)-1] = cs[len(cs)-1], cs[0]
		},
	}
	for name, edit := range edits {
		rewritePages(t, s, edit)
		req := request(device, first.Cursor)
		req.Epoch = first.Epoch
		if name == "changes out of order" {
			req = request(device, 0)
		}
		before := c.Stats().Attempts
		_, err := c.Sync(context.Background(), req)
		var e *client.Error
		if !errors.Is(err, client.ErrServer) || !errors.Is(err, protocol.ErrBadResponse) || !errors.As(err, &e) || e.Status != http.StatusOK {
			t.Errorf("%s: %v, want ErrServer and ErrBadResponse", name, err)
		}
		if n := c.Stats().Attempts - before; n != 1 {
			t.Errorf("%s: %d attempts, want 1", name, n)
		}
	}
}

// TestSyncAcceptsANewerServer: fields and record kinds this version does
// not know are passed over, not refused.
func TestSyncAcceptsANewerServer(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	device := domain.NewID()
	signIn(t, c, device)
	rewritePages(t, s, func(page map[string]any) {
		page["server_time"] = "2030-01-01T00:00:00Z"
		cs := page["changes"].([]any)
		last := cs[len(cs)-1].(map[string]any)
		last["signature"] = "abc"
		page["changes"] = append(cs, map[string]any{"seq": last["seq"].(float64) + 1, "kind": "invoice", "id": "F-1",
			"fields": map[string]any{"total": 12}})
	})
	resp, err := c.Sync(context.Background(), request(device, 0))
	if err != nil {
		t.Fatal(err)
	}
	if k := resp.Changes[len(resp.Changes)-1].Kind; k != "invoice" {
		t.Errorf("last change of kind %q, want the unknown kind passed on", k)
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// TestRetriesTransientFailures: 503, 502, 429 (with Retry-After), a 408
// (the body arrived too slowly) and a connection dropped mid-request are
// retried until the server answers.
func TestRetriesTransientFailures(t *testing.T) {
	s := newServer(t, false)
	cfg := fast(s.web.URL)
	cfg.Retries = 5
	c := newClient(t, cfg)
	device := domain.NewID()
	signIn(t, c, device)
	var n atomic.Int32
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "<html>maintenance</html>", http.StatusServiceUnavailable)
		case 2:
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		case 3:
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 4:
			_, _ = io.CopyN(io.Discard, r.Body, 10)
			hangUp(w)
		case 5:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestTimeout)
			_, _ = io.WriteString(w, `{"code":"request_timeout","message":"the request body did not arrive in time"}`)
		default:
			h.ServeHTTP(w, r)
		}
	})
	before := c.Stats().Attempts
	if _, err := c.Sync(context.Background(), request(device, 0)); err != nil {
		t.Fatalf("sync through transient failures: %v", err)
	}
	if got := c.Stats().Attempts - before; got != 6 {
		t.Errorf("attempts = %d, want 6", got)
	}
}

func TestGivesUp(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	device := domain.NewID()
	signIn(t, c, device)
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		http.Error(w, `{"code":"internal","message":"internal error"}`, http.StatusInternalServerError)
	})
	before := c.Stats().Attempts
	_, err := c.Sync(context.Background(), request(device, 0))
	var e *client.Error
	if !errors.Is(err, client.ErrServer) || !errors.As(err, &e) || e.Code != "internal" {
		t.Errorf("always 500: %v", err)
	}
	if got := c.Stats().Attempts - before; got != 5 {
		t.Errorf("attempts = %d, want 1 + 4 retries", got)
	}
	s.web.Close()
	if _, err := c.Sync(context.Background(), request(device, 0)); !errors.Is(err, client.ErrOffline) {
		t.Errorf("server gone: %v, want ErrOffline", err)
	}
	if err := c.Health(context.Background()); !errors.Is(err, client.ErrOffline) {
		t.Errorf("health of a server gone: %v", err)
	}
}

// TestThrottledSignIn: a throttled sign-in is for the coordinator to wait
// out; it is not retried.
func TestThrottledSignIn(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"code":"too_many_attempts","message":"wait"}`))
	})
	_, err := c.SignIn(context.Background(), "ana@example.org", password, domain.NewID(), "test")
	var e *client.Error
	if !errors.Is(err, client.ErrTooManyAttempts) || !errors.As(err, &e) || e.RetryAfter != 2*time.Minute {
		t.Errorf("throttled: %v", err)
	}
	if got := c.Stats().Attempts; got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

// TestTimeouts: a slow attempt is cut and retried; the caller's deadline
// bounds the whole.
func TestTimeouts(t *testing.T) {
	s := newServer(t, false)
	cfg := fast(s.web.URL)
	cfg.AttemptTimeout = 50 * time.Millisecond
	c := newClient(t, cfg)
	device := domain.NewID()
	signIn(t, c, device)
	var n atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		if n.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		h.ServeHTTP(w, r)
	})
	if _, err := c.Sync(context.Background(), request(device, 0)); err != nil {
		t.Fatalf("a slow first attempt: %v", err)
	}
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	if _, err := c.Sync(ctx, request(device, 0)); !errors.Is(err, client.ErrTimeout) {
		t.Errorf("always slow: %v, want ErrTimeout", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.Sync(ctx, request(device, 0)); !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrOffline) {
		t.Errorf("cancelled: %v, want context.Canceled alone", err)
	}
}

// TestCustomCA: a server with its own certificate is trusted with its CA
// file, and refused (without retrying) otherwise.
func TestCustomCA(t *testing.T) {
	s := newServer(t, true)
	c := newClient(t, fast(s.web.URL))
	if err := c.Health(context.Background()); !errors.Is(err, client.ErrCertificate) {
		t.Errorf("unknown authority: %v, want ErrCertificate", err)
	}
	if _, err := c.SignIn(context.Background(), "ana@example.org", password, domain.NewID(), "t"); !errors.Is(err, client.ErrCertificate) {
		t.Errorf("sign in to an unknown authority: %v", err)
	}
	if got := c.Stats().Attempts; got != 2 {
		t.Errorf("attempts = %d: a certificate error must not be retried", got)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.web.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fast(s.web.URL)
	cfg.CAFile = ca
	c = newClient(t, cfg)
	signIn(t, c, domain.NewID())
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(cfg); !errors.Is(err, client.ErrCertificate) {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}

// TestNoRedirect: a redirect is not followed, so the token never goes
// elsewhere.
func TestNoRedirect(t *testing.T) {
	s := newServer(t, false)
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	c := newClient(t, fast(s.web.URL))
	device := domain.NewID()
	signIn(t, c, device)
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		http.Redirect(w, r, other.URL+"/v1/sync", http.StatusTemporaryRedirect)
	})
	if _, err := c.Sync(context.Background(), request(device, 0)); !errors.Is(err, client.ErrRefused) {
		t.Errorf("redirect: %v", err)
	}
	if elsewhere.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

// TestNoSecretsInLogs: retries are logged without the token or the body.
func TestNoSecretsInLogs(t *testing.T) {
	s := newServer(t, false)
	var buf bytes.Buffer
	var mu sync.Mutex
	cfg := fast(s.web.URL)
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, cfg)
	device := domain.NewID()
	resp := signIn(t, c, device)
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) { hangUp(w) })
	_, _ = c.SignIn(context.Background(), "ana@example.org", password, device, "t")
	_, _ = c.Sync(context.Background(), request(device, 0))
	mu.Lock()
	defer mu.Unlock()
	logs := buf.String()
	if !strings.Contains(logs, "Attempt") {
		t.Fatalf("retries were not logged at debug level: %q", logs)
	}
	for _, secret := range []string{resp.Token, password, "Bearer", "Authorization"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold %q", secret)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestSignInCleansPastedEmail: an address pasted with a zero-width space or
// a line break (as mail programs leave them) is cleaned before it is sent,
// as the server would refuse it.
func TestSignInCleansPastedEmail(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	for _, email := range []string{"ana@example.org\u200b", "\u202aana@example.org\u202c", "ana@example.org\r\n"} {
		if _, err := c.SignIn(context.Background(), email, password, domain.NewID(), "Portable\x1b[2J"); err != nil {
			t.Errorf("sign in as %q: %v", email, err)
		}
	}
}

// TestAppVersionToAnOlderServer: a server that predates
// SyncRequest.AppVersion refuses it as an unknown field (its decoder is
// strict); the client sends the request again without it, and leaves it out
// from then on.
func TestAppVersionToAnOlderServer(t *testing.T) {
	s := newServer(t, false)
	c := newClient(t, fast(s.web.URL))
	device := domain.NewID()
	signIn(t, c, device)
	var withVersion, without atomic.Int32
	s.setWrap(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
		if r.URL.Path != "/v1/sync" {
			h.ServeHTTP(w, r)
			return
		}
		body, err := protocol.ReadBody(r.Body, r.Header.Get("Content-Encoding") == "gzip", 1<<20)
		if err != nil {
			t.Error(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Error(err)
		}
		if _, ok := fields["app_version"]; ok {
			withVersion.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(protocol.Error{Code: protocol.CodeUnknownField, Message: `unknown field "app_version"`})
			return
		}
		without.Add(1)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Del("Content-Encoding")
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
	for range 2 {
		req := request(device, 0)
		req.AppVersion = "0.2.0"
		if _, err := c.Sync(context.Background(), req); err != nil {
			t.Fatalf("sync to an older server: %v", err)
		}
	}
	if withVersion.Load() != 1 || without.Load() != 2 {
		t.Errorf("%d requests with app_version and %d without, want 1 refused then 2 without", withVersion.Load(), without.Load())
	}
}
