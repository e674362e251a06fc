package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leconsortium.coop/terrain/domain"
)

// TestTornWrite damages the newest write-ahead log (.mem) or value log
// (.vlog) as a write cut off by a crash would, after a process saving
// visits was killed:
//
//   - append: part of one more record after the last whole one, the only
//     tear a disk that honours fsync leaves (a save returns after its logs
//     are synced, and Badger syncs the value log before the WAL);
//   - tail: the file cut inside one of its last three records;
//   - zeros: the same, the rest zeroed instead of cut;
//   - middle: the file cut inside a record of its middle third;
//   - header: the file cut inside its 20-byte header.
//
// The last four also destroy records whose save had returned. Everything
// saved and closed cleanly before (the synced set) must open intact, what
// the store still lists must read back, and the store must stay usable.
func TestTornWrite(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for i, ext := range []string{"mem", "vlog"} {
		for j, damage := range []string{"append", "tail", "zeros", "middle", "header"} {
			t.Run(ext+"/"+damage, func(t *testing.T) {
				tornWrite(t, ext, damage, rand.New(rand.NewPCG(seed, uint64(10*i+j))))
			})
		}
	}
}

func tornWrite(t *testing.T, ext, damage string, rng *rand.Rand) {
	s, dir, c := newStore(t)
	mustSaveMember(t, s, newMember("Coopérative de solidarité de Kuujjuaq", "Kuujjuaq", "10", domain.SolidarityCoop))
	members, err := s.SearchMembers(MemberQuery{})
	if err != nil || len(members) != 1 {
		t.Fatalf("members: %v, %v", members, err)
	}
	m, err := s.Member(members[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	synced := map[string]domain.Visit{}
	for i := range 30 {
		v := newVisit(m.ID, c.Today().AddDays(-i))
		// Up to 7 KiB of notes: the longest go to the value log.
		v.Notes = strings.Repeat("Note de visite. ", 1+i*15)
		mustSaveVisit(t, s, v)
		if synced[v.ID], err = s.Visit(v.ID); err != nil {
			t.Fatal(err)
		}
	}
	syncedOut := outbox(t, s)
	s.Close()

	// The crash child's visits reach the value log from its 240th save.
	n := 40 + rng.IntN(60)
	if ext == "vlog" {
		n = 260 + rng.IntN(100)
	}
	reported := killedSaver(t, dir, m.ID, n)
	path := newestLog(t, dir, ext)
	what := tear(t, path, damage, rng)
	t.Logf("%d saves reported by the killed process; %s %s", len(reported), filepath.Base(path), what)

	opt := testOptions(t, c)
	if ext == "vlog" {
		opt.Logger = slog.New(slog.DiscardHandler) // an error for every dangling pointer read
	}
	s2, err := Open(dir, pass, opt)
	if err != nil {
		t.Fatalf("Open after a torn %s (%s): %v", ext, damage, err)
	}
	defer s2.Close()
	if got, err := s2.Member(m.ID); err != nil || !equalJSON(got, m) {
		t.Errorf("member after the tear: %v\n got %+v\nwant %+v", err, got, m)
	}
	for id, want := range synced {
		got, err := s2.Visit(id)
		if err != nil {
			t.Errorf("synced visit %s: %v", id, err)
		} else if !equalJSON(got, want) {
			t.Errorf("synced visit %s changed:\n got %+v\nwant %+v", id, got, want)
		}
	}
	var kept, gone, unreadable int
	for i, id := range reported {
		v, err := s2.Visit(id)
		switch {
		case err == nil:
			kept++
			// crashChild's i-th save has these notes, trimmed.
			if v.MemberID != m.ID || v.Notes != strings.TrimSpace(strings.Repeat("Note de visite. ", 1+i%400)) {
				t.Errorf("reported visit %d (%s) reads wrong: %d bytes of notes", i, id, len(v.Notes))
			}
		case errors.Is(err, ErrNotFound):
			gone++
		default:
			unreadable++
		}
	}
	t.Logf("of %d reported saves: %d kept, %d gone, %d unreadable", len(reported), kept, gone, unreadable)
	if damage == "append" && kept != len(reported) {
		t.Errorf("a torn append lost %d reported saves", len(reported)-kept)
	}
	// A cut WAL drops whole transactions: what is left reads back, and
	// records and outbox entries went together. A cut value log leaves
	// the WAL's pointers into the lost part dangling (Badger logs "Unable
	// to read" and hands back an empty value): those records fail to read,
	// rather than read wrong.
	if ext == "mem" {
		if unreadable > 0 {
			t.Errorf("%d reported visits unreadable after a torn WAL", unreadable)
		}
		n := 0
		if err := s2.EachVisit(func(domain.Visit) error { n++; return nil }); err != nil {
			t.Fatalf("every visit after the tear: %v", err)
		}
		muts := outbox(t, s2)
		queued := 0
		for _, mu := range muts {
			if mu.Kind == domain.KindVisit {
				queued++
			}
		}
		if queued != n || len(muts) < len(syncedOut) || !equalJSON(muts[:len(syncedOut)], syncedOut) {
			t.Errorf("%d visits, %d queued, %d outbox entries: the synced set's %d changed",
				n, queued, len(muts), len(syncedOut))
		}
	} else {
		// Dangling pointers into the lost part of the value log: repair
		// drops what cannot be read and begins a refetch, so that the
		// sync carries on; what still reads stays, unsent changes too.
		_, oerr := s2.Outbox(0, 0)
		rep, err := s2.RepairUnreadable()
		if err != nil {
			t.Fatalf("repair: %v", err)
		}
		t.Logf("with dangling value pointers, the outbox read %v; repair dropped %+v", oerr, rep)
		muts, err := s2.Outbox(0, 0)
		if err != nil {
			t.Errorf("outbox after the repair: %v", err)
		}
		if err := s2.EachVisit(func(domain.Visit) error { return nil }); err != nil {
			t.Errorf("every visit after the repair: %v", err)
		}
		if refetch, _ := s2.Refetching(); refetch != (rep.Records > 0) {
			t.Errorf("refetching = %v after dropping %d records", refetch, rep.Records)
		}
		if rep.Records == 0 && len(muts) < len(syncedOut) {
			t.Errorf("the repair lost unsent changes: %d left of the synced %d", len(muts), len(syncedOut))
		}
	}

	// The store carries on: a new save survives a clean reopen.
	v := mustSaveVisit(t, s2, newVisit(m.ID, c.Today()))
	s3 := reopen(t, s2, dir, c)
	if _, err := s3.Visit(v.ID); err != nil {
		t.Errorf("visit saved after the tear: %v", err)
	}
}

// killedSaver runs the crash child until it has reported n saves, kills it
// and returns the ids it reported.
func killedSaver(t *testing.T, dir, memberID string, n int) []string {
	t.Helper()
	cmd := childCommand("crash", envDir+"="+dir, envMember+"="+memberID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
			ids = append(ids, id)
			if len(ids) == n {
				cmd.Process.Kill()
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("saving child ended with %v, not killed; stderr:\n%s", err, stderr.String())
	}
	return ids
}

// newestLog returns the highest-numbered file of the extension.
func newestLog(t *testing.T, dir, ext string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, dbDirName, "*."+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .%s file: %v", ext, err)
	}
	newest, last := "", -1
	for _, f := range files {
		var n int
		fmt.Sscanf(filepath.Base(f), "%d", &n)
		if n > last {
			newest, last = f, n
		}
	}
	return newest
}

// logHeader is the data-key id and IV that open every Badger log file.
const logHeader = 20

// logRecords returns the offsets of the records of a Badger log file, and
// where the last one ends. A record is a header (meta and user-meta bytes,
// uvarint key and value lengths, uvarint expiry), the key and value
// (encrypted) and a CRC32. Badger sizes its files ahead of writing (16 MiB
// for a WAL here, 128 MiB for a value log), so the records end at the first
// all-zero header, not at the end of the file.
func logRecords(data []byte) (starts []int64, end int64) {
	off := int64(logHeader)
	for off+2 < int64(len(data)) {
		buf := data[off:]
		klen, n1 := binary.Uvarint(buf[2:])
		if n1 <= 0 {
			break
		}
		vlen, n2 := binary.Uvarint(buf[2+n1:])
		if n2 <= 0 {
			break
		}
		_, n3 := binary.Uvarint(buf[2+n1+n2:])
		if n3 <= 0 {
			break
		}
		if buf[0] == 0 && buf[1] == 0 && klen == 0 && vlen == 0 {
			break
		}
		size := int64(2+n1+n2+n3) + int64(klen) + int64(vlen) + crc32.Size
		if off+size > int64(len(data)) {
			break
		}
		starts = append(starts, off)
		off += size
	}
	return starts, off
}

// tear damages the log file at path and says how.
func tear(t *testing.T, path, damage string, rng *rand.Rand) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	starts, end := logRecords(data)
	if len(starts) < 10 {
		t.Fatalf("%s holds %d records: too few to tear", path, len(starts))
	}
	// inside returns an offset strictly inside record i.
	inside := func(i int) int64 {
		next := end
		if i+1 < len(starts) {
			next = starts[i+1]
		}
		return starts[i] + 1 + rng.Int64N(next-starts[i]-1)
	}
	var at int64
	switch damage {
	case "append":
		// The start of a copy of the last record, its rest never written.
		last := starts[len(starts)-1]
		part := data[last : last+1+rng.Int64N(end-last-1)]
		at = end
		err = writeAt(path, at, part)
	case "tail":
		at = inside(len(starts) - 1 - rng.IntN(3))
		err = os.Truncate(path, at)
	case "zeros":
		at = inside(len(starts) - 1 - rng.IntN(3))
		err = writeAt(path, at, make([]byte, end-at))
	case "middle":
		at = inside(len(starts)/3 + rng.IntN(len(starts)/3))
		err = os.Truncate(path, at)
	case "header":
		at = 1 + rng.Int64N(logHeader-1)
		err = os.Truncate(path, at)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s at byte %d of %d (%d records)", damage, at, end, len(starts))
}

func writeAt(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
