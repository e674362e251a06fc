package app

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"leconsortium.coop/terrain/locales"
	"leconsortium.coop/terrain/sync/engine"
)

// fixedNow keeps the demo data and the dates on screen the same every run.
func fixedNow() time.Time { return time.Date(2026, 3, 13, 10, 0, 0, 0, time.UTC) }

const testPassphrase = "correct horse battery"

// testSize is the smaller of the two window sizes the screenshots check.
var testSize = fyne.NewSize(1024, 640)

// startUI unlocks a fresh demo profile in lang and waits for the main
// screen. cfg, when given, adjusts the configuration first.
func startUI(t *testing.T, lang string, adjust ...func(*Config)) (*UI, fyne.Window) {
	t.Helper()
	cfg := Config{
		Profile:    filepath.Join(t.TempDir(), "profile"),
		Lang:       lang,
		Passphrase: testPassphrase,
		Demo:       true,
		Now:        fixedNow,
	}
	for _, f := range adjust {
		f(&cfg)
	}
	return runUI(t, cfg)
}

// runUI starts a UI on cfg and waits for the main screen.
func runUI(t *testing.T, cfg Config) (*UI, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("")
	w.Resize(testSize)
	u := New(a, w, cfg)
	u.post = uiq.post
	t.Cleanup(func() {
		if err := u.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	u.Start()
	waitFor(t, u.ready.Load)
	return u, w
}

// uiQueue stands for the Fyne goroutine in tests: background work posts
// its results here (UI.do), and the test goroutine runs them when it
// waits, so widgets are touched from the test goroutine only. Fyne's test
// driver would run them at once on the posting goroutine.
type uiQueue struct {
	mu  sync.Mutex
	fns []func()
}

var uiq uiQueue

func (q *uiQueue) post(fn func()) {
	q.mu.Lock()
	q.fns = append(q.fns, fn)
	q.mu.Unlock()
}

// step runs the oldest posted function, if any.
func (q *uiQueue) step() bool {
	q.mu.Lock()
	if len(q.fns) == 0 {
		q.mu.Unlock()
		return false
	}
	fn := q.fns[0]
	q.fns = q.fns[1:]
	q.mu.Unlock()
	fn()
	return true
}

// drain runs what was posted, including what that posts in turn.
func (q *uiQueue) drain() {
	for {
		q.mu.Lock()
		fns := q.fns
		q.fns = nil
		q.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, fn := range fns {
			fn()
		}
	}
}

// waitFor runs the posted UI work until cond holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		uiq.drain()
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met within 60 s")
}

// walk calls fn with every visible object under o, descending into
// widgets through their live renderers (test.LaidOutObjects would make
// new ones, and with them new list rows).
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	fn(o)
	switch c := o.(type) {
	case fyne.Widget:
		for _, child := range test.WidgetRenderer(c).Objects() {
			walk(child, fn)
		}
	case *fyne.Container:
		for _, child := range c.Objects {
			walk(child, fn)
		}
	}
}

// visible is every visible object of the window, dialogs included.
func visible(w fyne.Window) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	walk(w.Content(), func(o fyne.CanvasObject) { out = append(out, o) })
	for _, o := range w.Canvas().Overlays().List() {
		walk(o, func(o fyne.CanvasObject) { out = append(out, o) })
	}
	return out
}

// texts is what the window shows in words: labels, buttons, entries'
// placeholders, checks, radio and select options, tab names.
func texts(w fyne.Window) []string {
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	for _, o := range visible(w) {
		switch x := o.(type) {
		case *widget.Label:
			add(x.Text)
		case *message:
			add(x.Text)
		case *widget.Button:
			add(x.Text)
		case *entry:
			add(x.PlaceHolder)
		case *widget.Entry:
			add(x.PlaceHolder)
		case *widget.Check:
			add(x.Text)
		case *widget.RadioGroup:
			for _, s := range x.Options {
				add(s)
			}
		case *widget.Select:
			add(x.Selected)
			add(x.PlaceHolder)
		case *widget.Card:
			add(x.Title)
			add(x.Subtitle)
		case *container.AppTabs:
			for _, it := range x.Items {
				add(it.Text)
			}
		}
	}
	return out
}

func hasText(w fyne.Window, s string) bool { return slices.Contains(texts(w), s) }

// button finds the visible button labelled text.
func button(t *testing.T, w fyne.Window, text string) *widget.Button {
	t.Helper()
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	t.Fatalf("no button %q on screen; texts: %q", text, texts(w))
	return nil
}

// tr is the text of a message in lang.
func tr(lang, id string, data ...map[string]any) string { return locales.New(lang).T(id, data...) }

// publisher is a minimal stand-in for the sync engine in tests that must
// drive the status bar through exact states: it publishes what the test
// says, from another goroutine, as the engine does.
type publisher struct {
	mu      sync.Mutex
	fns     map[int]func(engine.State)
	next    int
	state   engine.State
	syncs   int
	started bool
}

func newPublisher() *publisher { return &publisher{fns: map[int]func(engine.State){}} }

func (p *publisher) Subscribe(fn func(engine.State)) func() {
	p.mu.Lock()
	id := p.next
	p.next++
	p.fns[id] = fn
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.fns, id)
		p.mu.Unlock()
	}
}

func (p *publisher) State() engine.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *publisher) Start() {
	p.mu.Lock()
	p.started = true
	p.mu.Unlock()
}

func (p *publisher) SyncNow() {
	p.mu.Lock()
	p.syncs++
	p.mu.Unlock()
}

func (p *publisher) SetAutoSync(bool) {}

func (p *publisher) Refresh() {}

// SignIn accepts one account, as a server would.
func (p *publisher) SignIn(_ context.Context, server, email, password string) error {
	if email != "demo@example.org" || password != "demo-password" {
		return errBadCredentials
	}
	s := p.State()
	s.SignedIn = true
	p.send(s)
	return nil
}

func (p *publisher) SignOut(context.Context) error {
	s := p.State()
	s.SignedIn = false
	p.send(s)
	return nil
}

func (p *publisher) Stop(context.Context) error { return nil }

var errBadCredentials = errors.New("bad credentials")

// publish sends s to every subscriber from a new goroutine, waits, then
// runs what they queued for the UI. Only the test goroutine may call it:
// the UI queue is drained on the calling goroutine.
func (p *publisher) publish(s engine.State) {
	p.send(s)
	uiq.drain()
}

// send is publish without running the UI queue, for the calls the app
// makes from its own goroutines (SignIn, SignOut); the test's waitFor
// drains it on the test goroutine. Draining there raced with the test's
// reads of the widgets (Fyne's renderer cache: a fatal concurrent map
// access in TestSignInFromSettings).
func (p *publisher) send(s engine.State) {
	p.mu.Lock()
	p.state = s
	fns := make([]func(engine.State), 0, len(p.fns))
	for _, fn := range p.fns {
		fns = append(fns, fn)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for _, fn := range fns {
			fn(s)
		}
		close(done)
	}()
	<-done
}
