package app

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"leconsortium.coop/terrain/store"
)

// visitDraft is the visit form as typed, field by field, before any
// parsing: what comes back after a crash is exactly what was on screen.
type visitDraft struct {
	MemberID string `json:"member_id"`
	VisitID  string `json:"visit_id"`
	// Editing marks the correction of a saved visit (absent in drafts
	// written before visits could be corrected: a new visit).
	Editing   bool            `json:"editing,omitempty"`
	Date      string          `json:"date"`
	Duration  string          `json:"duration"`
	Mode      string          `json:"mode"`
	People    string          `json:"people"`
	Services  []string        `json:"services"`
	Notes     string          `json:"notes"`
	Needs     string          `json:"needs"`
	Next      string          `json:"next"`
	FollowUps []followUpDraft `json:"follow_ups"`
}

type followUpDraft struct {
	ID          string `json:"id"`
	Service     string `json:"service"`
	Description string `json:"description"`
	Due         string `json:"due"`
}

// draftKey is the store setting holding the visit being typed. There is
// one visit form, so one draft; it is encrypted at rest like the rest.
const draftKey = "draft.visit"

// draftDelay lets a burst of keystrokes settle into one durable write.
const draftDelay = 400 * time.Millisecond

// draftSaver writes the draft of the visit form to the store shortly after
// each change, off the Fyne goroutine.
type draftSaver struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex // held while writing, so discard cannot be overtaken
	pending *visitDraft
	timer   *time.Timer
}

func newDraftSaver(st *store.Store, log *slog.Logger) *draftSaver {
	return &draftSaver{st: st, log: log}
}

// save schedules d to be written.
func (s *draftSaver) save(d visitDraft) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = &d
	if s.timer == nil {
		s.timer = time.AfterFunc(draftDelay, s.flush)
	}
}

// flush writes the pending draft now, if any.
func (s *draftSaver) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.pending == nil {
		return
	}
	data, err := json.Marshal(s.pending)
	s.pending = nil
	if err == nil {
		err = s.st.SetSetting(draftKey, string(data))
	}
	if err != nil {
		s.log.Error("save visit draft", "err", err)
	}
}

// discard forgets the draft: the visit was saved or abandoned.
func (s *draftSaver) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.pending = nil
	if err := s.st.DeleteSetting(draftKey); err != nil {
		s.log.Error("discard visit draft", "err", err)
	}
}

// load returns the saved draft, if there is one.
func (s *draftSaver) load() (visitDraft, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return *s.pending, true
	}
	raw, ok, err := s.st.Setting(draftKey)
	if err != nil || !ok {
		return visitDraft{}, false
	}
	var d visitDraft
	if err := json.Unmarshal([]byte(raw), &d); err != nil || d.MemberID == "" {
		s.log.Warn("unreadable visit draft", "err", err)
		return visitDraft{}, false
	}
	return d, true
}

// restoreNav reopens the visit form of a draft left by the last run (a
// crash, or a window closed with a visit half typed).
func (u *UI) restoreNav() {
	d, ok := u.drafts.load()
	if !ok {
		return
	}
	if _, err := u.st.Member(d.MemberID); err != nil {
		return // the member left the coordinator's scope meanwhile
	}
	u.nav = navState{tab: tabMembers, memberID: d.MemberID, visit: &d, restored: true}
}
