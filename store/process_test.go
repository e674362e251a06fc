package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

// Child processes: the test binary re-executes itself with childEnv set and
// TestMain hands over to runChild instead of running tests.

const (
	envDir       = "TERRAIN_STORE_DIR"
	envMember    = "TERRAIN_STORE_MEMBER"
	envHistories = "TERRAIN_STORE_HISTORIES"
)

func childCommand(role string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	return cmd
}

func runChild(role string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opt := Options{Logger: log, GCInterval: -1}
	dir := os.Getenv(envDir)
	switch role {
	case "crash":
		return crashChild(dir, os.Getenv(envMember), opt)
	case "second-open":
		_, err := Open(dir, pass, opt)
		if errors.Is(err, ErrAlreadyOpen) {
			fmt.Println("already-open")
			return 0
		}
		fmt.Println("unexpected:", err)
		return 1
	case "rss":
		n, _ := strconv.Atoi(os.Getenv(envHistories))
		return rssChild(dir, n)
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}

// crashChild saves visits until it is killed, printing each id only once
// SaveVisit has returned.
func crashChild(dir, memberID string, opt Options) int {
	s, err := Open(dir, pass, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	today := domain.DateOf(time.Now())
	for i := 0; i < 1_000_000; i++ {
		v := newVisit(memberID, today.AddDays(-(i % 1000)))
		v.Notes = strings.Repeat("Note de visite. ", 1+i%400) // the longest go to the value log
		if err := s.SaveVisit(v); err != nil {
			fmt.Fprintln(os.Stderr, "save:", err)
			return 1
		}
		// One write(2) per line, below PIPE_BUF: a line is whole or absent.
		os.Stdout.WriteString("saved " + v.ID + "\n")
	}
	return 0
}

// TestCrashDurability kills a saving process at random moments and checks
// that every visit it reported saved is there, with its outbox entry.
func TestCrashDurability(t *testing.T) {
	s, dir, c := newStore(t)
	m := mustSaveMember(t, s, newMember("Coopérative de solidarité de Kuujjuaq", "Kuujjuaq", "10", domain.SolidarityCoop))
	s.Close()

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var saved []string
	const rounds = 24
	for round := range rounds {
		cmd := childCommand("crash", envDir+"="+dir, envMember+"="+m.ID)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Some kills land while the child opens the store, most while it saves.
		delay := time.Duration(rng.IntN(400)) * time.Millisecond
		timer := time.AfterFunc(delay, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
				saved = append(saved, id)
				n++
			}
		}
		err = cmd.Wait()
		timer.Stop()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != -1 {
			t.Fatalf("round %d: child ended with %v, not killed; stderr:\n%s", round, err, stderr.String())
		}
		t.Logf("round %d: killed after %v, %d saves reported", round, delay, n)
	}
	if len(saved) == 0 {
		t.Fatal("no child reported a save: the test proved nothing")
	}

	s, err := Open(dir, pass, testOptions(t, c))
	if err != nil {
		t.Fatalf("open after %d kills: %v", rounds, err)
	}
	defer s.Close()
	for _, id := range saved {
		if _, err := s.Visit(id); err != nil {
			t.Errorf("visit %s reported saved is missing: %v", id, err)
		}
	}
	// Records and outbox entries went together: as many visit creations
	// queued as visits stored (some saved just before a kill, unreported).
	hist, err := s.VisitsOfMember(m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	queued := 0
	for _, mu := range outbox(t, s) {
		if mu.Kind == domain.KindVisit {
			queued++
		}
	}
	if queued != len(hist) || len(hist) < len(saved) {
		t.Fatalf("%d visits stored, %d queued, %d reported", len(hist), queued, len(saved))
	}
	t.Logf("%d reported saves all present; %d stored", len(saved), len(hist))
}

func TestSecondProcessGetsAlreadyOpen(t *testing.T) {
	_, dir, _ := newStore(t)
	out, err := childCommand("second-open", envDir+"="+dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "already-open" {
		t.Fatalf("second process: %v, output:\n%s", err, out)
	}
}

// rssChild opens the large fixture, works with it as a coordinator would
// (opening the files of n members) and prints its resident memory:
// "rss <VmRSS kB> <VmHWM kB>". Stage figures go to stderr.
func rssChild(dir string, n int) int {
	s, err := Open(dir, pass, Options{Now: fixtureNow, GCInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	logStatus("after open")
	if err := rssWorkload(s, n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logStatus("after workload")
	rss, hwm, err := residentKiB()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("rss %d %d\n", rss, hwm)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// logStatus prints the memory figures to stderr, for whoever tunes them.
func logStatus(when string) {
	st, err := procStatus()
	if err != nil {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "%s: VmRSS %d MiB (anon %d, file %d), VmHWM %d MiB, Go heap in use %d MiB\n",
		when, st["VmRSS"]>>10, st["RssAnon"]>>10, st["RssFile"]>>10, st["VmHWM"]>>10, ms.HeapInuse>>20)
}

// rssWorkload is a working session: search as you type, open n members'
// files (profile, history, follow-ups), the dashboard's lists, some saves.
func rssWorkload(s *Store, n int) error {
	for _, text := range []string{"coopérative de solidarité montréal", "mutuelle", "sept-iles"} {
		for _, q := range typing(text) {
			if _, err := s.SearchMembers(MemberQuery{Text: q}); err != nil {
				return err
			}
		}
	}
	ids := fixtureMemberIDs(largeSize)
	for i := range n {
		id := ids[(i*7919)%len(ids)]
		if _, err := s.Member(id); err != nil {
			return err
		}
		if _, err := s.VisitsOfMember(id, 0); err != nil {
			return err
		}
		if _, err := s.FollowUps(FollowUpFilter{MemberID: id}); err != nil {
			return err
		}
	}
	today := domain.DateOf(fixtureNow())
	if _, err := s.MembersNotVisitedSince(today.AddDays(-183)); err != nil {
		return err
	}
	if _, err := s.FollowUps(FollowUpFilter{OverdueOnly: true}); err != nil {
		return err
	}
	for i := range 20 {
		if err := s.SaveVisit(newVisit(ids[i], today)); err != nil {
			return err
		}
	}
	return nil
}

// typing returns what a search box holds after each keystroke.
func typing(text string) []string {
	var out []string
	for i := range text {
		if i > 0 {
			out = append(out, text[:i])
		}
	}
	return append(out, text)
}

// residentKiB reads the current and peak resident set of this process.
func residentKiB() (rss, hwm int, err error) {
	st, err := procStatus()
	if err != nil {
		return 0, 0, err
	}
	if st["VmRSS"] == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/self/status")
	}
	return st["VmRSS"], st["VmHWM"], nil
}

// procStatus returns the kB figures of /proc/self/status.
func procStatus() (map[string]int, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if f := strings.Fields(v); ok && len(f) == 2 && f[1] == "kB" {
			out[k], _ = strconv.Atoi(f[0])
		}
	}
	return out, nil
}

// TestOpenAfterCrashLeftEmptyLogs reproduces what a kill between Badger
// creating a value-log or memtable file and sizing it leaves: a zero-byte
// next file.
func TestOpenAfterCrashLeftEmptyLogs(t *testing.T) {
	for _, ext := range []string{"vlog", "mem"} {
		t.Run(ext, func(t *testing.T) {
			s, dir, c := newStore(t)
			m := mustSaveMember(t, s, newMember("Coopérative de solidarité de Chisasibi", "Chisasibi", "10", domain.SolidarityCoop))
			s.Close()
			files, err := filepath.Glob(filepath.Join(dir, dbDirName, "*."+ext))
			if err != nil {
				t.Fatal(err)
			}
			last := 0
			for _, f := range files {
				var n int
				fmt.Sscanf(filepath.Base(f), "%06d", &n)
				last = max(last, n)
			}
			next := filepath.Join(dir, dbDirName, fmt.Sprintf("%06d.%s", last+1, ext))
			if err := os.WriteFile(next, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(dir, pass, testOptions(t, c))
			if err != nil {
				t.Fatalf("Open after a crash left %s empty: %v", filepath.Base(next), err)
			}
			defer s2.Close()
			if _, err := s2.Member(m.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}
