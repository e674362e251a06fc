package contract

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/sync/protocol"
)

// testTwoAuthorizations: a request with two Authorization headers is
// ambiguous and refused 400, whichever comes first.
func testTwoAuthorizations(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	a := e.device("ana@example.org")
	body, _ := json.Marshal(protocol.SyncRequest{ClientID: a.id, SchemaVersion: protocol.SchemaVersion})
	for _, pair := range [][2]string{{"Bearer " + a.token, "Bearer junk"}, {"Bearer junk", "Bearer " + a.token},
		{"Bearer " + a.token, "Bearer " + a.token}} {
		for _, target := range []struct{ method, path string }{{http.MethodPost, "/v1/sync"}, {http.MethodGet, "/v1/catalog"}} {
			var payload io.Reader
			if target.method == http.MethodPost {
				payload = bytes.NewReader(body)
			}
			req, _ := http.NewRequestWithContext(e.ctx, target.method, e.web.URL+target.path, payload)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Add("Authorization", pair[0])
			req.Header.Add("Authorization", pair[1])
			resp, err := e.web.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var pe protocol.Error
			_ = json.NewDecoder(resp.Body).Decode(&pe)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || pe.Code != protocol.CodeBadRequest {
				t.Errorf("%s %s with two Authorization headers: %d %q; want 400 %s",
					target.method, target.path, resp.StatusCode, pe.Code, protocol.CodeBadRequest)
			}
		}
	}
}

// testTokensRevokedOnPasswordAndDisable: a password change and a disable
// revoke every token of the coordinator (enabling again revives none);
// another coordinator's devices are untouched; a new sign-in works.
func testTokensRevokedOnPasswordAndDisable(t *testing.T, open func(*testing.T) central.Backend) {
	e := newEnv(t, open, nil)
	e.coordinator("ana@example.org", "09")
	e.coordinator("bob@example.org", "10")
	a1, a2 := e.device("ana@example.org"), e.device("ana@example.org")
	b := e.device("bob@example.org")
	refused := func(d *device, when string) {
		t.Helper()
		if status, pe, _ := d.post(d.request(nil, nil)); status != http.StatusUnauthorized || pe.Code != protocol.CodeUnauthorized {
			t.Errorf("%s: old token answered %d %q; want 401 %s", when, status, pe.Code, protocol.CodeUnauthorized)
		}
	}
	signInAgain := func(d *device, pass string) {
		t.Helper()
		status, pe, sr := e.signIn("ana@example.org", pass, d.id)
		if status != http.StatusOK {
			t.Fatalf("sign in again: %d %s", status, pe.Message)
		}
		d.token = sr.Token
		d.sync()
	}

	const newPassword = "une toute nouvelle phrase de passe"
	if err := e.srv.SetPassword(e.ctx, "ana@example.org", []byte(newPassword)); err != nil {
		t.Fatal(err)
	}
	refused(a1, "after a password change")
	refused(a2, "after a password change")
	b.sync() // another coordinator's device
	signInAgain(a1, newPassword)

	if err := e.srv.DisableCoordinator(e.ctx, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.EnableCoordinator(e.ctx, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	refused(a1, "after disable then enable")
	b.sync()
	signInAgain(a1, newPassword)
}
