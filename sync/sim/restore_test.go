package sim

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"leconsortium.coop/terrain/domain"
)

// backup is a copy of the server's data taken during the run, with how far
// the model had got: what came after it is what a restore loses on the
// server.
type backup struct {
	data     []byte
	writes   int // len(s.writes) when it was taken
	erasures int // len(s.erasures)
}

// takeBackup copies the server's data as it serves (badgerdb.Backup).
func (s *sim) takeBackup() {
	var b bytes.Buffer
	s.must(s.backend.Backup(&b), "back up the server")
	s.backups = append(s.backups, backup{data: b.Bytes(), writes: len(s.writes), erasures: len(s.erasures)})
	s.note("server backed up (%d)", len(s.backups))
}

// restoreBackup replaces the server's data by one of the backups taken so
// far, as an operator restoring a backup does (docs/operations.md): the
// server is stopped, the backup loaded into a new directory, the epoch
// rotated, and the erasures made since the backup are made again. The
// central office's own imports since the backup are lost with it (the
// devices push again only what they wrote); every device's work must not
// be.
func (s *sim) restoreBackup() {
	if len(s.backups) == 0 {
		s.note("no backup to restore")
		return
	}
	i := s.rnd.IntN(len(s.backups))
	b := s.backups[i]
	s.res.Faults[restore]++
	s.restores++
	s.lastRestore = s.step
	s.note("server restored from backup %d of %d", i+1, len(s.backups))
	s.must(s.backend.Close(), "stop server")
	s.backend, s.srv, s.handler = nil, nil, nil
	old := s.srvDir
	s.srvDir = filepath.Join(s.dir, fmt.Sprintf("central-restored-%d", s.restores))
	s.openServer()
	s.must(s.backend.Load(bytes.NewReader(b.data)), "load backup")
	// The server read its epoch and clock when it started: start it again
	// over what was loaded.
	s.restartServer()
	_, err := s.srv.RotateEpoch(s.ctx)
	s.must(err, "rotate epoch")
	s.must(os.RemoveAll(old), "remove the replaced data")
	for _, m := range s.erasures[b.erasures:] {
		_, err := s.srv.DeleteMember(s.ctx, m.id)
		s.must(err, fmt.Sprintf("erase m%d again", m.i))
		s.note("central: m%d erased again after the restore", m.i)
	}
	for _, w := range s.writes[b.writes:] {
		if w.d == nil {
			w.undone = true
		}
	}
	// The backups taken after this one hold a history the server no
	// longer has.
	s.backups = s.backups[:i+1]
}

// requeuedAfterRestore reports whether a conflict record may be one a
// restore made: its losing value was written (or its record created)
// before the last restore, so a device may have pushed it again, as
// concurrent with a write that had in fact seen it (another device
// replaced it, or made the record lost by the restore again first). That
// leaves one conflict record too many, its loser the value the winner
// replaced: noise for the coordinator, never a loss (docs/reliability.md).
// Without a restore the same conflict means a replayed write, and counts
// as duplicated.
func (s *sim) requeuedAfterRestore(kind domain.Kind, id, field, loser string, written map[string]int) bool {
	if s.lastRestore == 0 {
		return false
	}
	if i, ok := written[fieldKey(kind, id, field, loser)]; ok {
		return s.writes[i].step < s.lastRestore
	}
	// A value no write of the model made: the record's first.
	switch kind {
	case domain.KindVisit:
		if i := slices.IndexFunc(s.visits, func(v *visitRec) bool { return v.id == id }); i >= 0 {
			return s.visits[i].step < s.lastRestore
		}
	case domain.KindFollowUp:
		if i := slices.IndexFunc(s.followUps, func(f *followUpRec) bool { return f.id == id }); i >= 0 {
			return s.followUps[i].step < s.lastRestore
		}
	case domain.KindMember:
		return true // imported before the run
	}
	return false
}

// ownLaterAfterRestore marks (by fieldKey of its value) each device write
// made before the last restore that the same device wrote over after it.
// Until its refetch ends, a device shows the restored server's values,
// not its own writes the backup lacked, so the later write's parent is
// not the earlier one; Requeue never sends an older value of the device
// over its own later one (requeue.go): the later write replaced it.
func (s *sim) ownLaterAfterRestore(isRefused func(*write) bool) map[string]bool {
	out := map[string]bool{}
	if s.lastRestore == 0 {
		return out
	}
	for _, w := range s.writes {
		if w.d == nil || w.step >= s.lastRestore {
			continue
		}
		for _, l := range s.writes {
			if l.d == w.d && l.kind == w.kind && l.id == w.id && l.field == w.field &&
				l.step >= s.lastRestore && !isRefused(l) {
				out[fieldKey(w.kind, w.id, w.field, w.value)] = true
				break
			}
		}
	}
	return out
}
