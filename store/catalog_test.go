package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

func TestServicesCatalog(t *testing.T) {
	s, dir, c := newStore(t)
	catalog := []domain.Service{
		{ID: "hr", NameFR: "Ressources humaines", NameEN: "Human resources"},
		{ID: "ai", NameFR: "Intelligence artificielle", NameEN: "Artificial intelligence"},
	}
	if err := s.PutServices(catalog); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir, c)
	got, err := s.Services()
	if err != nil || !slices.Equal(got, catalog) {
		t.Fatalf("Services = %v, %v", got, err)
	}
	for _, bad := range [][]domain.Service{
		{{ID: "", NameFR: "x", NameEN: "x"}},
		{{ID: "hr", NameFR: "x", NameEN: "x"}, {ID: "hr", NameFR: "y", NameEN: "y"}},
		{{ID: "hr", NameFR: " ", NameEN: "x"}},
	} {
		if err := s.PutServices(bad); err == nil {
			t.Errorf("PutServices(%v) accepted", bad)
		}
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Fatalf("catalog queued %d mutations", n)
	}
}

func TestCoordinatorsAndMe(t *testing.T) {
	s, dir, c := newStore(t)
	if _, err := s.Me(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Me before sign-in = %v", err)
	}
	zoe := domain.Coordinator{ID: domain.NewID(), Name: "Zoé Bergeron", Email: "Zoe@Example.org", Regions: []string{"10", "09"}}
	eve := domain.Coordinator{ID: domain.NewID(), Name: "Ève Lachance", Email: "eve@example.org", Regions: []string{"11"}}
	for _, k := range []domain.Coordinator{zoe, eve} {
		if err := s.PutCoordinator(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCoordinator(domain.Coordinator{ID: domain.NewID(), Name: "Sans région", Email: "x@example.org"}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("coordinator without region = %v", err)
	}
	if err := s.SetMe(domain.NewID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetMe(unknown) = %v", err)
	}
	if err := s.SetMe(zoe.ID); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir, c)
	me, err := s.Me()
	if err != nil || me.ID != zoe.ID || me.Email != "zoe@example.org" || !slices.Equal(me.Regions, []string{"09", "10"}) {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	all, err := s.Coordinators()
	if err != nil || len(all) != 2 || all[0].ID != eve.ID {
		t.Fatalf("Coordinators = %+v, %v (want Ève first: folded order)", all, err)
	}
	if err := s.SetMe(""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Me(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Me after sign-out = %v", err)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Fatalf("coordinators queued %d mutations", n)
	}
}

func TestSettingsAndSyncState(t *testing.T) {
	s, dir, c := newStore(t)
	if _, ok, err := s.Setting("language"); ok || err != nil {
		t.Fatalf("unset setting: %v, %v", ok, err)
	}
	if err := s.SetSetting("language", "en"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting("device_token", "tok-secret"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting("", "x"); err == nil {
		t.Fatal("empty setting key accepted")
	}
	st := SyncState{Cursor: 4182, Epoch: "epoch-2", LastSync: time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)}
	if err := s.SetSyncState(st); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir, c)
	if v, ok, err := s.Setting("language"); v != "en" || !ok || err != nil {
		t.Fatalf("language = %q, %v, %v", v, ok, err)
	}
	if err := s.DeleteSetting("device_token"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Setting("device_token"); ok {
		t.Fatal("token still there after delete")
	}
	got, err := s.SyncState()
	if err != nil || got.Cursor != st.Cursor || got.Epoch != st.Epoch || !got.LastSync.Equal(st.LastSync) {
		t.Fatalf("SyncState = %+v, %v", got, err)
	}
	if n, _ := s.PendingCount(); n != 0 {
		t.Fatalf("settings queued %d mutations", n)
	}
}
