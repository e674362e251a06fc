package central_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/central/badgerdb"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

const aheadPassword = "mot de passe des pages"

type aheadWorld struct {
	t       *testing.T
	srv     *central.Server
	web     *httptest.Server
	members []domain.Member
}

func newAheadWorld(t *testing.T) *aheadWorld {
	b, err := badgerdb.Open(t.TempDir(), badgerdb.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	srv, err := central.New(ctx, b, central.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Argon2: central.TestArgon2, PageLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddCoordinator(ctx, central.NewCoordinator{Name: "Ana Tremblay", Email: "ana@example.org",
		Regions: []string{"09"}, Password: []byte(aheadPassword)}); err != nil {
		t.Fatal(err)
	}
	w := &aheadWorld{t: t, srv: srv}
	for i := range 10 {
		w.members = append(w.members, domain.Member{ID: domain.NewID(), Name: fmt.Sprintf("Coopérative %02d", i),
			LegalForm: domain.WorkerCoop, Region: "09", Municipality: "Sept-Îles", Status: domain.MemberActive})
	}
	if err := srv.Import(ctx, w.members, nil, nil); err != nil {
		t.Fatal(err)
	}
	w.web = httptest.NewServer(srv.Handler())
	t.Cleanup(w.web.Close)
	return w
}

func (w *aheadWorld) post(path, token string, body any) []byte {
	w.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, w.web.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(protocol.FeaturesHeader, protocol.FeatureCompact)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("%s: %d %s", path, resp.StatusCode, data)
	}
	return data
}

// device signs a new device in and returns its id and a function that
// pulls one page.
func (w *aheadWorld) device() (string, func() protocol.SyncResponse) {
	id := domain.NewID()
	var sr protocol.SessionResponse
	if err := json.Unmarshal(w.post("/v1/session", "", protocol.SessionRequest{Email: "ana@example.org",
		Password: aheadPassword, ClientID: id}), &sr); err != nil {
		w.t.Fatal(err)
	}
	req := protocol.SyncRequest{ClientID: id, SchemaVersion: protocol.SchemaVersion}
	return id, func() protocol.SyncResponse {
		resp, err := protocol.DecodeResponse(w.post("/v1/sync", sr.Token, req), req)
		if err != nil {
			w.t.Fatal(err)
		}
		req.Cursor, req.Epoch, req.Backfill = resp.Cursor, resp.Epoch, resp.Backfill
		return resp
	}
}

// A page built ahead is served when nothing changed since, and the pages
// a device receives are the same as without it: every record once.
func TestPageBuiltAhead(t *testing.T) {
	w := newAheadWorld(t)
	_, pull := w.device()
	seen := map[string]int{}
	var remaining []int // after each page
	received := 0
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("no end to the pages")
		}
		resp := pull()
		for _, c := range resp.Changes {
			seen[c.ID]++
		}
		received += len(resp.Changes)
		remaining = append(remaining, resp.Remaining+received)
		if !resp.HasMore {
			break
		}
	}
	// Pages built ahead count what remains from the page before; the
	// count must stay what counting the feed gives.
	for i, total := range remaining[:len(remaining)-1] {
		if total != received {
			t.Errorf("page %d: remaining + received so far = %d, want the %d changes of the sync", i+1, total, received)
		}
	}
	for _, m := range w.members {
		if seen[m.ID] != 1 {
			t.Errorf("member %s received %d times", m.Name, seen[m.ID])
		}
	}
	if n := central.AheadServed(w.srv); n == 0 {
		t.Error("no page was served ahead")
	}
}

// A write between two pages makes the page built ahead stale: it is built
// again, and the member edited comes once, edited.
func TestPageBuiltAheadDroppedAfterAWrite(t *testing.T) {
	w := newAheadWorld(t)
	id, pull := w.device()
	// Pull until the page built ahead holds a member: the central office
	// edits it while the device stores the page before.
	var edited domain.Member
	for edited.ID == "" {
		if resp := pull(); !resp.HasMore {
			t.Fatal("no page built ahead held a member")
		}
		if !central.WaitAhead(w.srv, id) {
			t.Fatal("no page built ahead")
		}
		ahead := map[string]bool{}
		for _, x := range central.AheadIDs(w.srv, id) {
			ahead[x] = true
		}
		for _, m := range w.members {
			if ahead[m.ID] {
				edited = m
				break
			}
		}
	}
	edited.Notes = "Modifié entre deux pages."
	if err := w.srv.Import(context.Background(), []domain.Member{edited}, nil, nil); err != nil {
		t.Fatal(err)
	}
	before := central.AheadServed(w.srv)
	notes := map[string]int{}
	for resp := pull(); ; resp = pull() {
		for _, c := range resp.Changes {
			if c.ID == edited.ID {
				var n string
				_ = json.Unmarshal(c.Fields["notes"], &n)
				notes[n]++
			}
		}
		if !resp.HasMore {
			break
		}
	}
	if len(notes) != 1 || notes[edited.Notes] != 1 {
		t.Errorf("the edited member came as %v, want once with its new notes", notes)
	}
	// The stale page was not served; the later ones may be.
	if n := central.AheadServed(w.srv); n > before && notes["Modifié entre deux pages."] == 0 {
		t.Errorf("served ahead %d pages, yet the edit did not come", n-before)
	}
}
