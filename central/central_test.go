package central

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestAdvanceScope(t *testing.T) {
	marker := func() (uint64, error) { return 50, nil }
	tests := []struct {
		name    string
		dev     Device
		scope   []string
		cursor  uint64
		want    Device
		changed bool
	}{
		{"first sync backfills the scope",
			Device{}, []string{"09", "10"}, 0,
			Device{Pending: []string{"09", "10"}, PendingThrough: 50}, true},
		{"nothing to do",
			Device{Delivered: []string{"09"}}, []string{"09"}, 12,
			Device{Delivered: []string{"09"}}, false},
		{"backfill still running",
			Device{Delivered: []string{"09"}, Pending: []string{"10"}, PendingThrough: 40}, []string{"09", "10"}, 12,
			Device{Delivered: []string{"09"}, Pending: []string{"10"}, PendingThrough: 40}, false},
		{"backfill acknowledged",
			Device{Delivered: []string{"09"}, Pending: []string{"10"}, PendingThrough: 40}, []string{"09", "10"}, 40,
			Device{Delivered: []string{"09", "10"}}, true},
		{"region gained during a backfill restarts it",
			Device{Delivered: []string{"09"}, Pending: []string{"10"}, PendingThrough: 40}, []string{"09", "10", "11"}, 12,
			Device{Delivered: []string{"09"}, Pending: []string{"10", "11"}, PendingThrough: 50}, true},
		{"region lost",
			Device{Delivered: []string{"09", "10"}}, []string{"10"}, 12,
			Device{Delivered: []string{"10"}, Dropped: []string{"09"}, DroppedThrough: 50}, true},
		{"drop not yet acknowledged",
			Device{Delivered: []string{"10"}, Dropped: []string{"09"}, DroppedThrough: 50}, []string{"10"}, 49,
			Device{Delivered: []string{"10"}, Dropped: []string{"09"}, DroppedThrough: 50}, false},
		{"drop acknowledged",
			Device{Delivered: []string{"10"}, Dropped: []string{"09"}, DroppedThrough: 50}, []string{"10"}, 50,
			Device{Delivered: []string{"10"}}, true},
		{"pending region lost",
			Device{Delivered: []string{"09"}, Pending: []string{"10"}, PendingThrough: 40}, []string{"09"}, 12,
			Device{Delivered: []string{"09"}, Dropped: []string{"10"}, DroppedThrough: 50}, true},
		{"dropped region regained is no longer dropped",
			Device{Delivered: []string{"10"}, Dropped: []string{"09"}, DroppedThrough: 45}, []string{"09", "10"}, 12,
			Device{Delivered: []string{"10"}, Pending: []string{"09"}, PendingThrough: 50}, true},
		{"swap of regions",
			Device{Delivered: []string{"09"}}, []string{"10"}, 12,
			Device{Pending: []string{"10"}, PendingThrough: 50, Dropped: []string{"09"}, DroppedThrough: 50}, true},
	}
	norm := func(d Device) Device {
		for _, l := range []*[]string{&d.Delivered, &d.Pending, &d.Dropped} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		return d
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := advanceScope(tc.dev, tc.scope, tc.cursor, marker)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			g, w := norm(got), norm(tc.want)
			if !slices.Equal(g.Delivered, w.Delivered) || !slices.Equal(g.Pending, w.Pending) || !slices.Equal(g.Dropped, w.Dropped) ||
				g.PendingThrough != w.PendingThrough || g.DroppedThrough != w.DroppedThrough {
				t.Errorf("got %+v\nwant %+v", g, w)
			}
			_, dry, _ := advanceScope(tc.dev, tc.scope, tc.cursor, nil)
			if dry != tc.changed {
				t.Errorf("dry run says changed = %v, want %v", dry, tc.changed)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		f    Failures
		want time.Duration
	}{
		{Failures{}, 0},
		{Failures{Count: 4, Last: now}, 0},
		{Failures{Count: 5, Last: now}, time.Second},
		{Failures{Count: 7, Last: now}, 4 * time.Second},
		{Failures{Count: 7, Last: now.Add(-3 * time.Second)}, time.Second},
		{Failures{Count: 7, Last: now.Add(-10 * time.Second)}, 0},
		{Failures{Count: 40, Last: now}, maxFailureDelay},
		{Failures{Count: 40, Last: now.Add(-2 * time.Hour)}, 0},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.f, now, 5); got != tc.want {
			t.Errorf("retryAfter(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword([]byte("un mot de passe été"), TestArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "été") {
		t.Errorf("hash = %q", h)
	}
	if ok, err := verifyPassword([]byte("un mot de passe été"), h); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	if ok, err := verifyPassword([]byte("un mot de passe ete"), h); ok || err != nil {
		t.Errorf("wrong password: %v, %v", ok, err)
	}
	h2, _ := hashPassword([]byte("un mot de passe été"), TestArgon2)
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=x$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		if _, err := verifyPassword([]byte("x"), bad); err == nil {
			t.Errorf("verifyPassword accepted hash %q", bad)
		}
	}
	if DefaultArgon2 != (Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}) {
		t.Errorf("production cost changed: %+v", DefaultArgon2)
	}
}

func TestTokens(t *testing.T) {
	tok, hash, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	if !wellFormedToken(tok) || len(tok) != 43 || string(tokenHash(tok)) != string(hash) {
		t.Errorf("token %q, hash %x", tok, hash)
	}
	tok2, _, _ := newToken()
	if tok2 == tok {
		t.Error("two tokens are equal")
	}
	for _, bad := range []string{"", "abc", tok + "A", strings.Repeat("!", 43)} {
		if wellFormedToken(bad) {
			t.Errorf("wellFormedToken(%q) = true", bad)
		}
	}
	if p := GeneratePassword(); len(p) != 20 || p == GeneratePassword() {
		t.Errorf("GeneratePassword = %q", p)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                   false,
		"gzip":               true,
		"deflate, gzip;q=1":  true,
		"GZIP":               true,
		"gzip;q=0":           false,
		"br, gzip ; q=0":     false,
		"identity":           false,
		"deflate, br, gzip2": false,
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestNormalizeRejectsBadShapes(t *testing.T) {
	today := domain.NewDate(2025, 6, 1)
	fields := toFields(domain.Visit{ID: domain.NewID(), MemberID: domain.NewID(), CoordinatorID: domain.NewID(),
		Date: today, DurationMinutes: 30, Mode: domain.Phone})
	fields["date"] = []byte(`"2025-13-45"`)
	fields["duration_minutes"] = []byte(`"long"`)
	_, err := normalize(domain.KindVisit, fields, today)
	ve, ok := validationError(err)
	if !ok || len(ve.Fields) != 2 || ve.Fields[0].Field != "date" || ve.Fields[1].Field != "duration_minutes" {
		t.Fatalf("normalize: %v", err)
	}
	m := domain.Member{ID: domain.NewID(), Name: "  Coopérative  ", LegalForm: domain.Mutual, Region: "05",
		Municipality: "Sherbrooke", PostalCode: "j1h1a1"}
	n, err := normalize(domain.KindMember, toFields(m), today)
	if err != nil {
		t.Fatal(err)
	}
	if string(n.fields["name"]) != `"Coopérative"` || string(n.fields["postal_code"]) != `"J1H 1A1"` || n.region != "05" {
		t.Errorf("normalised fields: %s %s %s", n.fields["name"], n.fields["postal_code"], n.region)
	}
}
