package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

func TestMessageIDs(t *testing.T) {
	if missing := locales.MissingIDs(engine.MessageIDs()); len(missing) > 0 {
		t.Errorf("messages missing in the locales files: %v", missing)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("sync: %w", &client.Error{}), "sync.error.unexpected"},
		{fmt.Errorf("sync: %w", client.ErrOffline), "sync.error.offline"},
		{fmt.Errorf("sign in: %w", client.ErrBadCredentials), "sync.error.bad_credentials"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "sync.error.timeout"},
		{fmt.Errorf("x: %w", context.Canceled), "sync.error.interrupted"},
		{fmt.Errorf("%w: %w", engine.ErrLocal, errors.New("disk full")), "sync.error.local"},
		{engine.ErrNotSignedIn, "sync.error.signed_out"},
		{errors.New("something else"), "sync.error.unexpected"},
	} {
		if got := engine.MessageID(c.err); got != c.want {
			t.Errorf("MessageID(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestLoopPushesLocalChanges: the loop notices a saved visit by itself and
// pushes it soon after, and Refresh asks for it at once.
func TestLoopPushesLocalChanges(t *testing.T) {
	w := newWorld(t, nil)
	w.coordinator("ana@example.org", "09")
	m := member("Coop", "09")
	w.members([]domain.Member{m})
	ana := newDevice(t, w.web.URL, "ana@example.org", deviceOptions{tune: func(o *engine.Options) {
		o.NetCheck, o.PushDelay = 10*time.Millisecond, 10*time.Millisecond
	}})
	ana.eng.Start()
	first := waitFor(t, ana.eng, "the first sync", func(s engine.State) bool { return !s.LastSuccess.IsZero() && !s.Syncing })
	// The sign-in queued a sync that may still be starting: it can push the
	// visit before any state shows it pending, so the server is what tells
	// that the loop pushed it. (Pending shown without a sync: below.)
	v := ana.visit(m.ID, "vue par la boucle")
	w.waitForVisit(v.ID)
	s := waitFor(t, ana.eng, "the push", func(s engine.State) bool {
		return s.Pending == 0 && !s.Syncing && s.LastSuccess.After(first.LastSuccess)
	})
	if s.LastError != nil {
		t.Errorf("state = %+v", s)
	}
	ana.eng.SetAutoSync(false)
	ana.visit(m.ID, "sans synchronisation automatique")
	ana.eng.Refresh()
	if got := ana.eng.State().Pending; got != 1 {
		t.Errorf("pending after Refresh = %d", got)
	}
	ana.eng.SetAutoSync(true)
	ana.eng.Refresh()
	waitFor(t, ana.eng, "the push after Refresh", func(s engine.State) bool { return s.Pending == 0 && !s.Syncing })
}
