package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"leconsortium.coop/terrain/domain"
)

// TestPreparedMatchesMerged checks that a record prepared ahead is stored
// byte for byte as the applier stores it from merged fields.
func TestPreparedMatchesMerged(t *testing.T) {
	a := &applier{s: &Store{device: "d1"}, pending: map[string]*pendingRecord{}}
	var b prepBuffers
	for _, c := range codecSamples(t) {
		for _, raw := range append([]string{`"plain"`}, trickyRaws...) {
			c.Fields = withField(c.Fields, "notes", raw)
			if c.Kind == domain.KindFollowUp {
				c.Fields = withField(c.Fields, "description", raw)
			}
			fields, versions := a.merged(&c)
			fields["id"] = jsonString(c.ID)
			value, werr := decodeFields(c.Kind, fields)
			p := b.prepare(&c, a.s.device)
			if (werr == nil) != (p.err == nil) {
				t.Fatalf("%s notes %#q: merged: %v, prepared: %v", c.Kind, raw, werr, p.err)
			}
			if werr != nil {
				continue
			}
			data, err := json.Marshal(value)
			if err != nil {
				t.Fatal(err)
			}
			want := appendEnvelope(nil, &envelope{Data: data, Fields: versions, Seq: c.Seq})
			if !bytes.Equal(p.enc, want) {
				t.Errorf("%s notes %#q: prepared\n%s\nmerged\n%s", c.Kind, raw, p.enc, want)
			}
			if to := placeOf(c.Kind, c.ID, value); !bytes.Equal(p.to, to) {
				t.Errorf("%s: prepared at %s, merged at %s", c.Kind, p.to, to)
			}
		}
	}
}

// TestApplyPullRereadsAcrossCommits applies a page holding a member and
// its visit, enough other members to fill a transaction, then both again,
// changed: the visit on another day, the member renamed. The second time
// they are read while the transaction holding the first is being
// committed; the store must hold one visit, on the new day, and the new
// name, before and after reopening.
func TestApplyPullRereadsAcrossCommits(t *testing.T) {
	s, dir, c := newStore(t)
	m := newMember("Coopérative témoin", "Alma", "02", domain.WorkerCoop)
	v := newVisit(m.ID, c.Today().AddDays(-30))
	changes := []Change{changeOf(t, domain.KindMember, m.ID, m, 1, "central"),
		changeOf(t, domain.KindVisit, v.ID, v, 2, "central")}
	notes := strings.Repeat("Suivi du plan stratégique et des ressources humaines. ", 20)
	filled := 0
	for i := 0; filled < applyTxnBytes*3/2; i++ {
		f := newMember(fmt.Sprintf("Remplissage %04d", i), "Alma", "02", domain.WorkerCoop)
		f.Notes = notes
		changes = append(changes, changeOf(t, domain.KindMember, f.ID, f, uint64(len(changes)+1), "central"))
		filled += len(notes) + 1500
	}
	m.Name = "Coopérative témoin renommée"
	v.Date = c.Today().AddDays(-3)
	changes = append(changes, changeOf(t, domain.KindMember, m.ID, m, uint64(len(changes)+1), "central"),
		changeOf(t, domain.KindVisit, v.ID, v, uint64(len(changes)+2), "central"))
	mustApply(t, s, Page{Cursor: uint64(len(changes)), Epoch: "e", Changes: changes}, nil)
	check := func(s *Store) {
		t.Helper()
		visits, err := s.VisitsOfMember(m.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(visits) != 1 || visits[0].Date != v.Date {
			t.Errorf("visits of the member: %+v, want one on %v", visits, v.Date)
		}
		if got := mustMember(t, s, m.ID); got.Name != m.Name {
			t.Errorf("member named %q, want %q", got.Name, m.Name)
		}
		hits, err := s.SearchMembers(MemberQuery{Text: "témoin"})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].Name != m.Name || hits[0].LastVisit != v.Date {
			t.Errorf("search: %+v", hits)
		}
	}
	check(s)
	check(reopen(t, s, dir, c))
}

// A record whose write does not fit in the transaction being filled moves
// it to the commit in flight and lands in the next one: a later change of
// it in the same page must still find it there, not write it a second time.
func TestApplyPullRereadsAfterRotation(t *testing.T) {
	s, dir, c := newStore(t)
	m := newMember("Coopérative témoin", "Alma", "02", domain.WorkerCoop)
	filler := func(seq uint64) Change {
		f := newMember(fmt.Sprintf("Remplissage %d", seq), "Alma", "02", domain.WorkerCoop)
		f.Notes = strings.Repeat("x", applyTxnBytes*6/10)
		return changeOf(t, domain.KindMember, f.ID, f, seq, "central")
	}
	v := newVisit(m.ID, c.Today().AddDays(-30))
	v.Notes = strings.Repeat("y", applyTxnBytes/2) // does not fit after the first filler
	first := changeOf(t, domain.KindVisit, v.ID, v, 3, "central")
	v.Date = c.Today().AddDays(-3)
	changes := []Change{changeOf(t, domain.KindMember, m.ID, m, 1, "central"), filler(2), first, filler(4),
		changeOf(t, domain.KindVisit, v.ID, v, 5, "central")}
	mustApply(t, s, Page{Cursor: 5, Epoch: "e", Changes: changes}, nil)
	check := func(s *Store) {
		t.Helper()
		visits, err := s.VisitsOfMember(m.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(visits) != 1 || visits[0].Date != v.Date {
			t.Errorf("visits of the member: %d, want one on %v", len(visits), v.Date)
		}
	}
	check(s)
	check(reopen(t, s, dir, c))
}
