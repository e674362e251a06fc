package engine_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"leconsortium.coop/terrain/central"
	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/store"
	"leconsortium.coop/terrain/sync/client"
	"leconsortium.coop/terrain/sync/engine"
)

// Crash campaigns. The test binary re-executes itself as the app's sync
// process or as the central server (TestMain hands over to runChild), and
// the test SIGKILLs it at chosen moments, then restarts it.

const (
	envRole  = "TERRAIN_ENGINE_CHILD"
	envDir   = "TERRAIN_ENGINE_DIR"
	envVisit = "TERRAIN_ENGINE_VISIT" // members the device child visits
	envEdit  = "TERRAIN_ENGINE_EDIT"  // members whose contact it edits
	envKills = "TERRAIN_CRASH_KILLS"  // kills per campaign
)

func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

func runChild(role string) int {
	switch role {
	case "device":
		return deviceChild(os.Getenv(envDir), strings.Split(os.Getenv(envVisit), ","), strings.Split(os.Getenv(envEdit), ","))
	case "server":
		return serverChild(os.Getenv(envDir))
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}

func childCommand(role string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), envRole+"="+role), env...)
	return cmd
}

// say prints one line with one write(2), below PIPE_BUF: the parent reads
// it whole or not at all, and at once.
func say(line string) { os.Stdout.WriteString(line + "\n") }

// crashKills is the number of kills of a campaign: TERRAIN_CRASH_KILLS, or
// def.
func crashKills(t *testing.T, def int) int {
	t.Helper()
	s := os.Getenv(envKills)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a number of kills", envKills, s)
	}
	return n
}

// deviceChild is the app's sync process over the profile in dir: it saves
// visits and edits members in bursts while it syncs in a loop, until it is
// killed. It prints, each line as soon as it is true:
//
//	saved <visit id>        SaveVisit returned nil
//	edited <member id> <n>  SaveMember returned nil; the contact is "Contact n"
//	push, pull              a sync request with, without mutations starts
//	reply                   its answer has been read whole (ApplyPull follows)
//	applied                 a page is stored
//	synced                  SyncOnce returned nil
//	error <text>            SyncOnce failed
func deviceChild(dir string, visit, edit []string) int {
	st, err := store.Open(dir, passphrase, store.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	me, err := st.Me()
	if err != nil {
		fmt.Fprintln(os.Stderr, "me:", err)
		return 1
	}
	eng := engine.New(st, engine.Options{NetCheck: -1, BatchSize: 5, Logger: quiet(),
		Client: client.Config{Transport: markingTransport{http.DefaultTransport}, Retries: 2,
			RetryWait: 5 * time.Millisecond, RetryMaxWait: 20 * time.Millisecond}})
	pages := 0 // subscribers are called one at a time
	eng.Subscribe(func(s engine.State) {
		if s.PagesDone > pages {
			say("applied")
		}
		pages = s.PagesDone
	})
	go func() {
		if err := saveLoop(st, me.ID, visit, edit); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}()
	for {
		if _, err := eng.SyncOnce(context.Background()); err != nil {
			say("error " + strings.ReplaceAll(err.Error(), "\n", " "))
			time.Sleep(20 * time.Millisecond)
		} else {
			say("synced")
		}
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
	}
}

// saveLoop saves bursts of one to eight visits and contact edits, with
// pauses that leave the outbox empty now and then (so that some requests
// only pull). Members not pulled yet are skipped.
func saveLoop(st *store.Store, me string, visit, edit []string) error {
	for {
		for range 1 + rand.IntN(8) {
			if rand.IntN(4) == 0 {
				id := edit[rand.IntN(len(edit))]
				m, err := st.Member(id)
				if errors.Is(err, store.ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				n := time.Now().UnixNano()
				m.ContactName = fmt.Sprintf("Contact %d", n)
				if err := st.SaveMember(m); err != nil {
					return err
				}
				say(fmt.Sprintf("edited %s %d", id, n))
				continue
			}
			v := domain.Visit{ID: domain.NewID(), MemberID: visit[rand.IntN(len(visit))], CoordinatorID: me,
				Date: domain.DateOf(time.Now()), DurationMinutes: 30, Mode: domain.OnSite,
				Notes: strings.Repeat("Visite. ", 1+rand.IntN(50))}
			if err := st.SaveVisit(v); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			say("saved " + v.ID)
		}
		// Now and then a longer pause, for syncs with nothing to push.
		pause := 20 + rand.IntN(80)
		if rand.IntN(4) == 0 {
			pause = 300 + rand.IntN(300)
		}
		time.Sleep(time.Duration(pause) * time.Millisecond)
	}
}

// markingTransport prints push or pull when a sync request starts and
// reply when its answer has been read.
type markingTransport struct{ next http.RoundTripper }

func (t markingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/v1/sync") {
		return t.next.RoundTrip(req)
	}
	push, err := carriesMutations(req)
	if err != nil {
		return nil, err
	}
	if push {
		say("push")
	} else {
		say("pull")
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &eofBody{ReadCloser: resp.Body, eof: func() { say("reply") }}
	return resp, nil
}

// carriesMutations decodes a copy of a sync request's gzipped body.
func carriesMutations(req *http.Request) (bool, error) {
	if req.GetBody == nil {
		return false, errors.New("sync request without GetBody")
	}
	body, err := req.GetBody()
	if err != nil {
		return false, err
	}
	defer body.Close()
	gz, err := gzip.NewReader(body)
	if err != nil {
		return false, fmt.Errorf("sync request body: %w", err)
	}
	var r struct {
		Mutations []json.RawMessage `json:"mutations"`
	}
	if err := json.NewDecoder(gz).Decode(&r); err != nil {
		return false, fmt.Errorf("sync request body: %w", err)
	}
	return len(r.Mutations) > 0, nil
}

// eofBody calls eof once, when the body has been read to its end.
type eofBody struct {
	io.ReadCloser
	eof  func()
	once sync.Once
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.eof)
	}
	return n, err
}

// TestCrashSyncProcessKilled kills the app's sync process again and again:
// while a push is on the wire, while a pull is, while a page is being
// stored, or some time after a save; a peer keeps the server busy with
// visits and edits meanwhile. Then the profile syncs once cleanly, and
// every save the killed processes reported is on the server exactly once,
// the device holds what the server holds, and the peer's work reached it.
func TestCrashSyncProcessKilled(t *testing.T) {
	kills := crashKills(t, 25)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()

	// Seven pages of 50 for the first sync.
	w := newWorld(t, func(o *central.Options) { o.PageLimit = 50 })
	w.coordinator("ana@example.org", "09")
	w.coordinator("ben@example.org", "09")
	ms := make([]domain.Member, 300)
	for i := range ms {
		ms[i] = member(fmt.Sprintf("Coopérative %03d", i), "09")
	}
	w.seedMembers(ms)
	ids := func(ms []domain.Member) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.ID
		}
		return out
	}
	// The child visits the first 100 members and edits the contacts of the
	// next 20; the peer visits the same 100 and edits the notes of another
	// 20: no edit of one overwrites the other's.
	visitIDs, childEdits, peerEdits := ids(ms[:100]), ids(ms[100:120]), ids(ms[120:140])

	// Ana's profile, signed in here and synced only by the children.
	dir := t.TempDir()
	st, err := store.Create(dir, passphrase, store.Options{KeyCost: store.CheapKeyCost, Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.New(st, engine.Options{NetCheck: -1, Logger: quiet()}).SignIn(ctx, w.web.URL, "ana@example.org", password); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	ben := newDevice(t, w.web.URL, "ben@example.org", deviceOptions{tune: func(o *engine.Options) { o.BatchSize = 20 }})
	ben.sync()
	peer := runPeer(t, ben, visitIDs, peerEdits, seed)

	saved := map[string]bool{}
	edited := map[string]int64{} // member -> latest contact stamp reported
	edits := 0
	byTrigger, landed := map[string]int{}, map[string]int{}
	triggers := []string{"push", "pull", "reply", "saved"}
	maxDelay := map[string]int{"push": 15, "pull": 15, "reply": 3, "saved": 60} // ms
	start := time.Now()
	for round := range kills {
		trigger := triggers[rng.IntN(len(triggers))]
		nth := 1 + rng.IntN(3)
		delay := time.Duration(rng.IntN(maxDelay[trigger]*1000)) * time.Microsecond
		cmd := childCommand("device", envDir+"="+dir, envVisit+"="+strings.Join(visitIDs, ","),
			envEdit+"="+strings.Join(childEdits, ","))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Should the trigger not come, the child dies all the same.
		fallback := time.AfterFunc(5*time.Second, func() { cmd.Process.Kill() })
		seen, last := 0, "none"
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			word, rest, _ := strings.Cut(sc.Text(), " ")
			switch word {
			case "saved":
				saved[rest] = true
			case "edited":
				edits++
				id, n, _ := strings.Cut(rest, " ")
				stamp, _ := strconv.ParseInt(n, 10, 64)
				edited[id] = max(edited[id], stamp)
			case "error":
				t.Errorf("round %d: sync failed in the child: %s", round, rest)
			default:
				last = word
			}
			if word == trigger {
				if seen++; seen == nth {
					time.AfterFunc(delay, func() { cmd.Process.Kill() })
				}
			}
		}
		err = cmd.Wait()
		if !fallback.Stop() {
			trigger = "none (" + trigger + " did not come)"
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != -1 {
			t.Fatalf("round %d: child ended with %v, not killed; stderr:\n%s", round, err, stderr.String())
		}
		byTrigger[trigger]++
		where := map[string]string{"none": "starting", "push": "push on the wire", "pull": "pull on the wire",
			"reply": "storing a page"}[last]
		if where == "" {
			where = "between requests"
		}
		landed[where]++
	}
	t.Logf("%d kills in %v: by trigger %v; landed %v",
		kills, time.Since(start).Round(time.Millisecond), byTrigger, landed)
	peerVisits, peerNotes := peer.stop()
	ben.sync()

	// The profile opens and syncs cleanly after the last kill.
	st, err = store.Open(dir, passphrase, store.Options{Logger: quiet(), GCInterval: -1})
	if err != nil {
		t.Fatalf("open after %d kills: %v", kills, err)
	}
	ana := &device{t: t, st: st, eng: engine.New(st, engine.Options{NetCheck: -1, Logger: quiet()})}
	defer st.Close()
	ana.sync()
	if s := ana.eng.State(); s.Pending != 0 || s.Conflicts != 0 || s.Quarantined != 0 {
		t.Errorf("after the last sync: %d pending, %d conflicts, %d quarantined", s.Pending, s.Conflicts, s.Quarantined)
	}

	onServer := map[string]int{}
	err = w.srv.ExportVisits(ctx, func(v domain.Visit) error { onServer[v.ID]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	lost, duplicated := 0, 0
	for id := range saved {
		switch onServer[id] {
		case 1:
		case 0:
			lost++
			t.Errorf("visit %s reported saved is not on the server", id)
		default:
			duplicated++
			t.Errorf("visit %s is on the server %d times", id, onServer[id])
		}
	}
	contacts := map[string]string{}
	err = w.srv.ExportMembers(ctx, func(m domain.Member) error { contacts[m.ID] = m.ContactName; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for id, stamp := range edited {
		// A later edit saved just before a kill, unreported, may follow.
		var got int64
		if _, err := fmt.Sscanf(contacts[id], "Contact %d", &got); err != nil || got < stamp {
			lost++
			t.Errorf("member %s: contact %q on the server, reported saved: Contact %d", id, contacts[id], stamp)
		}
	}
	if diff := w.serverSnapshot("09").diff(ana.snapshot()); len(diff) > 0 {
		t.Errorf("device and server differ on %d records:\n%s", len(diff), strings.Join(diff[:min(5, len(diff))], "\n"))
	}
	for _, id := range peerVisits {
		if _, err := ana.st.Visit(id); err != nil {
			t.Errorf("peer's visit %s: %v", id, err)
		}
	}
	for id, notes := range peerNotes {
		if m, err := ana.st.Member(id); err != nil || m.Notes != notes {
			t.Errorf("peer's notes of %s: %q, %v; want %q", id, m.Notes, err, notes)
		}
	}
	if len(saved) == 0 || len(edited) == 0 || len(peerVisits) == 0 {
		t.Fatalf("%d saves, %d edited members, %d peer visits: the campaign proved nothing", len(saved), len(edited), len(peerVisits))
	}
	t.Logf("%d kills; acknowledged by the killed processes: %d visits, %d contact edits of %d members; %d peer visits; lost=%d duplicated=%d",
		kills, len(saved), edits, len(edited), len(peerVisits), lost, duplicated)
}

// peer is a second device in this process that keeps saving and syncing.
type peer struct {
	halt   chan struct{}
	done   chan struct{}
	visits []string
	notes  map[string]string
}

// runPeer starts d visiting members of visit and editing the notes of
// members of edit, syncing after each change, until stop.
func runPeer(t *testing.T, d *device, visit, edit []string, seed uint64) *peer {
	p := &peer{halt: make(chan struct{}), done: make(chan struct{}), notes: map[string]string{}}
	rng := rand.New(rand.NewPCG(seed, 2))
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.halt:
				return
			case <-time.After(30 * time.Millisecond):
			}
			v := domain.Visit{ID: domain.NewID(), MemberID: visit[rng.IntN(len(visit))], CoordinatorID: d.me.ID,
				Date: domain.DateOf(time.Now()), DurationMinutes: 60, Mode: domain.Phone, Notes: fmt.Sprintf("Ben %d", i)}
			if err := d.st.SaveVisit(v); err != nil {
				t.Errorf("peer: %v", err)
				return
			}
			p.visits = append(p.visits, v.ID)
			if i%3 == 0 {
				id := edit[rng.IntN(len(edit))]
				m, err := d.st.Member(id)
				if err == nil {
					m.Notes = fmt.Sprintf("Notes de Ben, %d", i)
					err = d.st.SaveMember(m)
				}
				if err != nil {
					t.Errorf("peer: %v", err)
					return
				}
				p.notes[id] = m.Notes
			}
			if _, err := d.eng.SyncOnce(context.Background()); err != nil {
				t.Errorf("peer sync: %v", err)
				return
			}
		}
	}()
	return p
}

// stop ends the peer's loop and returns the visits it saved and the notes
// it left on the members it edited.
func (p *peer) stop() ([]string, map[string]string) {
	close(p.halt)
	<-p.done
	return p.visits, p.notes
}

// serverChild serves the central service over the data at source (see
// openData) on a free loopback port, printing "listening <address>", until
// killed.
func serverChild(source string) int {
	b, err := openData(context.Background(), source)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	srv, err := central.New(context.Background(), b, central.Options{Logger: quiet(), Argon2: central.TestArgon2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	say("listening " + ln.Addr().String())
	err = http.Serve(ln, srv.Handler())
	fmt.Fprintln(os.Stderr, "serve:", err)
	return 1
}

// serverProc is a running server child.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	stderr bytes.Buffer
}

func startServer(t *testing.T, dir string) *serverProc {
	t.Helper()
	p := &serverProc{cmd: childCommand("server", envDir+"="+dir)}
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		t.Fatalf("server child: %q, %v; stderr:\n%s", line, err, p.stderr.String())
	}
	p.url = "http://" + addr
	return p
}

// crashAtStartup starts a server on dir and kills it after delay, most
// likely before it serves. A server that ends by itself first must not
// have failed to open its data.
func crashAtStartup(t *testing.T, dir string, delay time.Duration) {
	t.Helper()
	cmd := childCommand("server", envDir+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Kill()
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("server ended with %v, not killed; stderr:\n%s", err, stderr.String())
	}
}

// kill SIGKILLs the server and waits for it to be gone.
func (p *serverProc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("server ended with %v, not killed; stderr:\n%s", err, p.stderr.String())
	}
}

// front is a reverse proxy with a fixed address before a server whose
// address changes at each restart, as a load balancer would be.
type front struct {
	web    *httptest.Server
	tr     *http.Transport
	mu     sync.Mutex
	target *url.URL
}

func newFront(t *testing.T, target string) *front {
	f := &front{tr: &http.Transport{DisableCompression: true}}
	f.setTarget(t, target)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			f.mu.Lock()
			r.SetURL(f.target)
			f.mu.Unlock()
		},
		Transport: f.tr,
		ErrorLog:  log.New(io.Discard, "", 0), // a dead server is a 502, as expected
	}
	f.web = httptest.NewServer(rp)
	t.Cleanup(func() {
		f.web.CloseClientConnections()
		f.web.Close()
		f.tr.CloseIdleConnections()
	})
	return f
}

func (f *front) setTarget(t *testing.T, target string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.target = u
	f.mu.Unlock()
}

// pushWatch tells, through marks, when a sync request with mutations
// starts, and marks it answered once its reply has been read.
type pushWatch struct {
	next  http.RoundTripper
	marks chan *atomic.Bool
}

func (t pushWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/v1/sync") {
		return t.next.RoundTrip(req)
	}
	push, err := carriesMutations(req)
	if err != nil {
		return nil, err
	}
	if !push {
		return t.next.RoundTrip(req)
	}
	answered := new(atomic.Bool)
	select {
	case t.marks <- answered:
	default:
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		resp.Body = &eofBody{ReadCloser: resp.Body, eof: func() { answered.Store(true) }}
	}
	return resp, nil
}

// TestCrashServerKilledDuringPush kills the central server (a child process
// over a Badger directory) while a device's push is on the wire, a random
// few milliseconds after it started, and restarts it on the same data
// behind the same address, killing some restarts while they open the data.
// At the end every visit the device saved is on the server exactly once and
// the device holds what the server holds. TestCrashPostgresServerKilled
// (crash_pg_test.go) runs the same campaign over PostgreSQL.
func TestCrashServerKilledDuringPush(t *testing.T) {
	killServerDuringPushes(t, t.TempDir(), crashKills(t, 15))
}

// killServerDuringPushes runs the campaign of TestCrashServerKilledDuringPush
// over the server data at dir (see openData).
func killServerDuringPushes(t *testing.T, dir string, kills int) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	ctx := context.Background()

	b, err := openData(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, opt: central.Options{Logger: quiet(), Argon2: central.TestArgon2}}
	if w.srv, err = central.New(ctx, b, w.opt); err != nil {
		t.Fatal(err)
	}
	w.coordinator("ana@example.org", "09")
	var ms []domain.Member
	for i := range 30 {
		ms = append(ms, member(fmt.Sprintf("Coopérative %02d", i), "09"))
	}
	w.members(ms)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	begin := time.Now()
	sv := startServer(t, dir)
	startup := time.Since(begin) // how long a start takes, to kill some during it
	fr := newFront(t, sv.url)
	marks := make(chan *atomic.Bool, 1)
	ana := newDevice(t, fr.web.URL, "ana@example.org", deviceOptions{tune: func(o *engine.Options) {
		o.BatchSize = 10
		o.Client.Transport = pushWatch{next: http.DefaultTransport, marks: marks}
		o.Client.Retries = 1
	}})
	ana.sync()

	// The device saves bursts of visits and syncs, failing while the server
	// is down, until told to stop. Its backlog stays a few batches long.
	var (
		saved    []string
		failures atomic.Int64
		halt     = make(chan struct{})
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(seed, 4))
		for {
			select {
			case <-halt:
				return
			default:
			}
			burst := 0
			if n, err := ana.st.PendingCount(); err == nil && n < 60 {
				burst = 1 + rng.IntN(25)
			}
			for range burst {
				v := domain.Visit{ID: domain.NewID(), MemberID: ms[rng.IntN(len(ms))].ID, CoordinatorID: ana.me.ID,
					Date: domain.DateOf(time.Now()), DurationMinutes: 45, Mode: domain.OnSite,
					Notes: strings.Repeat("Visite au siège. ", 1+rng.IntN(100))}
				if err := ana.st.SaveVisit(v); err != nil {
					t.Errorf("save: %v", err)
					return
				}
				saved = append(saved, v.ID)
			}
			sum, err := ana.eng.SyncOnce(ctx)
			if sum.Refetched {
				t.Errorf("the server announced lost work: the device fetched everything again")
			}
			switch {
			case err == nil:
			case errors.Is(err, client.ErrServer), errors.Is(err, client.ErrOffline):
				failures.Add(1) // the server is down: the front answers 502
				time.Sleep(20 * time.Millisecond)
			default:
				t.Errorf("sync: %v", err)
				return
			}
		}
	}()

	inFlight, startupKills := 0, 0
	start := time.Now()
	for range kills {
		// One of the next three pushes.
		var answered *atomic.Bool
		for range 1 + rng.IntN(3) {
			select {
			case answered = <-marks:
			case <-done:
				t.Fatal("the device stopped")
			}
		}
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		if !answered.Load() {
			inFlight++
		}
		sv.kill(t)
		// Half the time the server dies again while it starts, as in a
		// crash loop, once or more.
		for rng.IntN(2) == 0 {
			crashAtStartup(t, dir, time.Duration(rng.Int64N(int64(startup))))
			startupKills++
		}
		sv = startServer(t, dir)
		fr.setTarget(t, sv.url)
		select { // a push that started while the server was down
		case <-marks:
		default:
		}
	}
	t.Logf("%d server kills during a push in %v, %d with the push unanswered, and %d while starting (a start takes %v); %d device syncs failed meanwhile",
		kills, time.Since(start).Round(time.Millisecond), inFlight, startupKills, startup.Round(time.Millisecond), failures.Load())
	close(halt)
	<-done
	ana.sync()
	if s := ana.eng.State(); s.Pending != 0 || s.Quarantined != 0 {
		t.Errorf("after the last sync: %d pending, %d quarantined", s.Pending, s.Quarantined)
	}

	// Once more killed, the server's data opens here for the checks.
	sv.kill(t)
	final, err := openData(ctx, dir)
	if err != nil {
		t.Fatalf("open the server's data after the last kill: %v", err)
	}
	defer final.Close()
	if w.srv, err = central.New(ctx, final, w.opt); err != nil {
		t.Fatal(err)
	}
	onServer := map[string]int{}
	if err := w.srv.ExportVisits(ctx, func(v domain.Visit) error { onServer[v.ID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	lost, duplicated := 0, 0
	for _, id := range saved {
		switch onServer[id] {
		case 1:
		case 0:
			lost++
		default:
			duplicated++
		}
	}
	if lost > 0 || duplicated > 0 || len(onServer) != len(saved) {
		t.Errorf("%d visits saved, %d on the server: %d lost, %d duplicated", len(saved), len(onServer), lost, duplicated)
	}
	if diff := w.serverSnapshot("09").diff(ana.snapshot()); len(diff) > 0 {
		t.Errorf("device and server differ on %d records:\n%s", len(diff), strings.Join(diff[:min(5, len(diff))], "\n"))
	}
	t.Logf("%d visits saved and acknowledged; lost=%d duplicated=%d", len(saved), lost, duplicated)
}
