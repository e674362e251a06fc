package engine_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// logBuffer collects log lines written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoSecretsInLogs logs at debug level everything the app's side of sync
// says (engine, HTTP client and store share the logger) through a failed
// and a good sign-in, syncs that pull and push personal data, retried
// failures, a sync that gives up, a revoked token, a sign-out the server
// cannot hear and a normal one. No token, password, passphrase, member text
// or authorization header may appear. The control half checks that the
// failures were logged: a silent logger would pass the rest.
func TestNoSecretsInLogs(t *testing.T) {
	w := newWorld(t, nil)
	ana := w.coordinator("ana@example.org", "09")
	m := member("Coopérative Ondatra de Natashquan", "09")
	m.Email, m.Phone, m.ContactName = "direction@ondatra-coop.example", "418 555-0177", "Rosalie Vandermeulen"
	m.Notes = "Tension au conseil d'administration"
	w.members([]domain.Member{m})
	p := newProxy(t, w.web.URL)

	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Create(t.TempDir(), passphrase, store.Options{Logger: logger, GCInterval: -1, KeyCost: store.CheapKeyCost})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(st, engine.Options{NetCheck: -1, Logger: logger,
		Client: client.Config{Retries: 2, RetryWait: time.Millisecond, RetryMaxWait: 5 * time.Millisecond}})
	t.Cleanup(func() {
		if err := eng.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	var tokens []string
	signIn := func() {
		t.Helper()
		if err := eng.SignIn(ctx, p.URL(), "ana@example.org", password); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		sess, err := st.Session()
		if err != nil || !sess.SignedIn() {
			t.Fatalf("session %+v, %v", sess, err)
		}
		tokens = append(tokens, sess.Token)
	}

	wrong := "Mauvais mot de passe Ursidé-42"
	if err := eng.SignIn(ctx, p.URL(), "ana@example.org", wrong); !errors.Is(err, client.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	signIn()
	if _, err := eng.SyncOnce(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	if _, err := st.Member(m.ID); err != nil {
		t.Fatalf("the member was not pulled: %v", err)
	}
	v := domain.Visit{ID: domain.NewID(), MemberID: m.ID, CoordinatorID: ana.ID, Date: domain.DateOf(time.Now()),
		DurationMinutes: 30, Mode: domain.Phone, Notes: "Discussion confidentielle sur la relève"}
	if err := st.SaveVisit(v); err != nil {
		t.Fatal(err)
	}
	// Two spoiled answers, then the push goes through on a retry.
	p.setPlan(func(n int) fault { return [...]fault{badGateway, dropReply, pass}[min(n-1, 2)] })
	if _, err := eng.SyncOnce(ctx); err != nil {
		t.Fatalf("sync with retries: %v", err)
	}
	// Every attempt fails: the sync gives up.
	p.setPlan(func(int) fault { return unavailable })
	if _, err := eng.SyncOnce(ctx); !errors.Is(err, client.ErrServer) {
		t.Fatalf("sync against a failing server: %v", err)
	}
	p.setPlan(nil)
	if err := w.srv.RevokeDevice(w.ctx, st.DeviceID()); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SyncOnce(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("sync with a revoked token: %v", err)
	}
	signIn()
	p.setDown(true)
	if err := eng.SignOut(ctx); !errors.Is(err, engine.ErrNotRevoked) {
		t.Fatalf("sign out with the server down: %v", err)
	}
	p.setDown(false)
	signIn()
	if err := eng.SignOut(ctx); err != nil {
		t.Fatalf("sign out: %v", err)
	}

	out := logs.String()
	for _, want := range []string{"sync failed", "sign out on the server", "Attempt"} {
		if !strings.Contains(out, want) {
			t.Errorf("control: the logs lack %q; the failures were not logged:\n%s", want, out)
		}
	}
	secrets := map[string]string{"password": password, "wrong password": wrong, "passphrase": string(passphrase),
		"member name": m.Name, "member e-mail": m.Email, "phone": m.Phone, "contact name": m.ContactName,
		"member note": m.Notes, "visit note": v.Notes, "bearer header": "Bearer", "authorization header": "Authorization"}
	for i, tok := range tokens {
		secrets["token "+string(rune('1'+i))] = tok
	}
	if len(tokens) != 3 {
		t.Fatalf("%d tokens collected, want 3", len(tokens))
	}
	for what, s := range secrets {
		for i, word := range append([]string{s}, strings.Fields(s)...) {
			if (i == 0 || len(word) >= 8) && strings.Contains(out, word) {
				t.Errorf("the logs hold the %s (%q)", what, word)
				break
			}
		}
	}
}

// refuseTransport fails the test if a request reaches it.
type refuseTransport struct{ t *testing.T }

func (r refuseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.t.Errorf("a request was sent to %s", req.URL)
	return nil, errors.New("refused by the test")
}

// TestTransportSecurity: plain http to another computer is refused before
// anything is sent; https to a server whose certificate no trusted
// authority signed fails with the certificate error and stores nothing;
// with that authority's PEM file given at sign-in, signing in and syncing
// work, and keep working after a restart, from the session alone.
func TestTransportSecurity(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	ana := w.coordinator("ana@example.org", "09")
	m := member("Coopérative de Kuujjuaq", "09")
	w.members([]domain.Member{m})

	st, err := store.Create(t.TempDir(), passphrase, store.Options{Logger: quiet(), GCInterval: -1, KeyCost: store.CheapKeyCost})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newEngine := func(cfg client.Config) *engine.Engine {
		cfg.Retries, cfg.RetryWait, cfg.RetryMaxWait = 1, time.Millisecond, 5*time.Millisecond
		return engine.New(st, engine.Options{NetCheck: -1, Logger: quiet(), Client: cfg})
	}
	notSignedIn := func(e *engine.Engine, when string) {
		t.Helper()
		if sess, err := st.Session(); err != nil || sess.SignedIn() || sess.Server != "" || e.State().SignedIn {
			t.Errorf("%s: session %+v, %v, state %+v: want nothing stored", when, sess, err, e.State())
		}
	}

	eng := newEngine(client.Config{Transport: refuseTransport{t}})
	for _, server := range []string{"http://192.0.2.10:8470", "HTTP://192.0.2.10", "http://[2001:db8::10]:8470",
		"http://central.example.org", "http://localhost.example.org:8470"} {
		err := eng.SignIn(ctx, server, "ana@example.org", password)
		if !errors.Is(err, client.ErrInsecure) || engine.MessageID(err) != "sync.error.insecure" {
			t.Errorf("sign in to %s: %v (message %s), want ErrInsecure", server, err, engine.MessageID(err))
		}
		notSignedIn(eng, server)
	}

	tlsWeb := httptest.NewUnstartedServer(w.srv.Handler())
	tlsWeb.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsWeb.StartTLS()
	defer tlsWeb.Close()
	eng = newEngine(client.Config{})
	err = eng.SignIn(ctx, tlsWeb.URL, "ana@example.org", password)
	if !errors.Is(err, client.ErrCertificate) || engine.MessageID(err) != "sync.error.certificate" {
		t.Fatalf("sign in to a self-signed server: %v (message %s), want ErrCertificate", err, engine.MessageID(err))
	}
	notSignedIn(eng, "self-signed server")

	ca := filepath.Join(t.TempDir(), "autorite.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsWeb.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	eng = newEngine(client.Config{CAFile: ca})
	if err := eng.SignIn(ctx, tlsWeb.URL, "ana@example.org", password); err != nil {
		t.Fatalf("sign in with the CA file: %v", err)
	}
	if _, err := eng.SyncOnce(ctx); err != nil {
		t.Fatalf("sync over TLS: %v", err)
	}
	if _, err := st.Member(m.ID); err != nil {
		t.Fatalf("the member was not pulled over TLS: %v", err)
	}
	if sess, _ := st.Session(); sess.CAFile != ca || !strings.HasPrefix(sess.Server, "https://") {
		t.Errorf("session = %+v: want the https server and the CA file kept", sess)
	}

	// A restart: the engine's options name no CA file; the session does.
	eng = newEngine(client.Config{})
	v := domain.Visit{ID: domain.NewID(), MemberID: m.ID, CoordinatorID: ana.ID, Date: domain.DateOf(time.Now()),
		DurationMinutes: 30, Mode: domain.Video, Notes: "Visioconférence"}
	if err := st.SaveVisit(v); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SyncOnce(ctx); err != nil {
		t.Fatalf("sync after a restart: %v", err)
	}
	if n, err := st.PendingCount(); n != 0 || err != nil {
		t.Errorf("after the sync %d changes are pending (%v)", n, err)
	}
	if _, ok := w.serverSnapshot("09")["visit/"+v.ID]; !ok {
		t.Error("the visit pushed over TLS is not on the server")
	}
}
