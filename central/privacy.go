package central

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// What Québec's Law 25 asks of the central service: answer a member's
// access request with everything held about it (MemberDossier), destroy a
// member on request everywhere (DeleteMember), and keep visits no longer
// than a stated period (PurgeVisits). docs/privacy.md says how to use them.
//
// An erasure writes bare tombstones: kind, id, region and seq, nothing else.
// The tombstone still travels through the change feed, so every device
// deletes its copy at its next sync, and an edit made offline comes back
// rejected instead of bringing the record back.

// ErrUnknownMember is returned for a member id the service has never had.
var ErrUnknownMember = errors.New("no member with this id")

// DefaultVisitRetentionMonths is the default retention of visits and
// follow-ups: seven years, a common Québec practice for business records
// (tax rules ask for six years after the year they relate to).
const DefaultVisitRetentionMonths = 84

// Dossier is everything the central service holds about one member: its
// record with who changed each field and when, its visits, follow-ups and
// conflict records (deleted ones included while they still hold anything),
// and the refusals of devices' edits of them.
type Dossier struct {
	MemberID    string             `json:"member_id"`
	GeneratedAt time.Time          `json:"generated_at"`
	Member      DossierRecord      `json:"member"`
	Visits      []DossierRecord    `json:"visits"`
	FollowUps   []DossierRecord    `json:"follow_ups"`
	Conflicts   []DossierRecord    `json:"conflicts"`
	Rejections  []DossierRejection `json:"rejections"`
}

// DossierRecord is one stored record as it is, tombstones included.
type DossierRecord struct {
	Kind    domain.Kind `json:"kind"`
	ID      string      `json:"id"`
	Region  string      `json:"region"`
	Seq     uint64      `json:"seq"`
	Deleted bool        `json:"deleted"`
	// Fields are the values held (none for an erased record).
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
	// Versions say, per field, who wrote the value held and when.
	Versions map[string]DossierVersion `json:"versions,omitempty"`
}

// DossierVersion is the last write of one field.
type DossierVersion struct {
	ChangedAt time.Time `json:"changed_at"`
	Seq       uint64    `json:"seq"`
	Device    string    `json:"device"`
	// By names the writer: "central office", or the coordinator who owns
	// the device ("Name <e-mail>"), or "unknown device".
	By string `json:"by"`
}

// DossierRejection is an edit of one of the member's records that the
// service refused (it holds the reason, never the values sent).
type DossierRejection struct {
	DeviceID string `json:"device_id"`
	By       string `json:"by"`
	protocol.Rejection
}

// MemberDossier returns everything held about a member, for an access
// request. An erased member's dossier is its bare tombstone (and the
// refusals that name it). ErrUnknownMember when the id was never used.
func (s *Server) MemberDossier(ctx context.Context, memberID string) (Dossier, error) {
	d := Dossier{MemberID: memberID, GeneratedAt: s.now().UTC(),
		Visits: []DossierRecord{}, FollowUps: []DossierRecord{}, Conflicts: []DossierRecord{}, Rejections: []DossierRejection{}}
	err := s.backend.View(ctx, func(tx ReadTx) error {
		member, err := tx.Record(domain.KindMember, memberID)
		if errors.Is(err, ErrNotFound) {
			return ErrUnknownMember
		} else if err != nil {
			return err
		}
		writers := writerNames{tx: tx, names: map[string]string{}}
		if d.Member, err = writers.record(member); err != nil {
			return err
		}
		children, err := tx.Children(memberID)
		if err != nil {
			return err
		}
		sortRecords(children)
		ids := map[string]bool{memberID: true}
		for _, c := range children {
			ids[c.ID] = true
			r, err := writers.record(c)
			if err != nil {
				return err
			}
			switch c.Kind {
			case domain.KindVisit:
				d.Visits = append(d.Visits, r)
			case domain.KindFollowUp:
				d.FollowUps = append(d.FollowUps, r)
			case protocol.KindConflict:
				d.Conflicts = append(d.Conflicts, r)
			}
		}
		return tx.Rejections(func(device string, rej protocol.Rejection) error {
			if !ids[rej.ID] {
				return nil
			}
			by, err := writers.name(device)
			if err != nil {
				return err
			}
			d.Rejections = append(d.Rejections, DossierRejection{DeviceID: device, By: by, Rejection: rej})
			return nil
		})
	})
	if err != nil {
		return Dossier{}, fmt.Errorf("dossier of member %s: %w", memberID, err)
	}
	return d, nil
}

// writerNames resolves device ids to who owns them, once each.
type writerNames struct {
	tx    ReadTx
	names map[string]string
}

func (w writerNames) name(device string) (string, error) {
	if device == protocol.CentralDevice {
		return "central office", nil
	}
	if n, ok := w.names[device]; ok {
		return n, nil
	}
	n := "unknown device"
	d, err := w.tx.Device(device)
	switch {
	case err == nil:
		c, err := w.tx.Coordinator(d.CoordinatorID)
		if err == nil {
			n = c.Name + " <" + c.Email + ">"
		} else if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	case !errors.Is(err, ErrNotFound):
		return "", err
	}
	w.names[device] = n
	return n, nil
}

func (w writerNames) record(r Record) (DossierRecord, error) {
	out := DossierRecord{Kind: r.Kind, ID: r.ID, Region: r.Region, Seq: r.Seq, Deleted: r.Deleted, Fields: r.Fields}
	if len(r.Versions) > 0 {
		out.Versions = make(map[string]DossierVersion, len(r.Versions))
	}
	for field, v := range r.Versions {
		by, err := w.name(v.Device)
		if err != nil {
			return DossierRecord{}, err
		}
		out.Versions[field] = DossierVersion{ChangedAt: v.HLC.Time(), Seq: v.Seq, Device: v.Device, By: by}
	}
	return out, nil
}

// sortRecords orders records by kind, then id (UUIDv7: creation order).
func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
}

// Erasure reports what DeleteMember destroyed.
type Erasure struct {
	MemberID string
	// Name and Region are what the member had, for the operator to check
	// ("" when it was already deleted).
	Name   string
	Region string
	// AlreadyDeleted: the member was a tombstone before; what still held
	// anything was erased all the same.
	AlreadyDeleted bool
	// Visits, FollowUps and Conflicts count the records erased with it.
	Visits, FollowUps, Conflicts int
}

// DeleteMember deletes a member on behalf of the central office, with its
// visits, follow-ups and conflict records, in one transaction. Nothing of
// them is kept: each becomes a bare tombstone, which every device applies
// at its next sync. A device's later edit of any of them is refused. It
// returns ErrUnknownMember for an id never used; a member already deleted
// is erased again (a device's delete kept its fields).
func (s *Server) DeleteMember(ctx context.Context, memberID string) (Erasure, error) {
	var out Erasure
	err := s.backend.Update(ctx, func(tx Tx) error {
		cur, err := tx.Record(domain.KindMember, memberID)
		if errors.Is(err, ErrNotFound) {
			return ErrUnknownMember
		} else if err != nil {
			return err
		}
		out, err = s.eraseMember(tx, cur)
		return err
	})
	if err != nil {
		return Erasure{}, fmt.Errorf("delete member %s: %w", memberID, err)
	}
	// Ids only: the log must not keep what was just destroyed.
	s.log.Info("member erased", "member", memberID, "visits", out.Visits, "follow_ups", out.FollowUps,
		"conflicts", out.Conflicts, "already_deleted", out.AlreadyDeleted)
	return out, nil
}

// eraseMember replaces a member and every record that names it with bare
// tombstones, within tx. The member's own tombstone comes last: a device
// that receives it has already received those of its records.
func (s *Server) eraseMember(tx Tx, member Record) (Erasure, error) {
	e := Erasure{MemberID: member.ID, Region: member.Region, AlreadyDeleted: member.Deleted}
	if !member.Deleted {
		_ = json.Unmarshal(member.Fields["name"], &e.Name)
	}
	children, err := tx.Children(member.ID)
	if err != nil {
		return e, fmt.Errorf("records of member: %w", err)
	}
	sortRecords(children)
	for _, c := range children {
		if err := s.erase(tx, c); err != nil {
			return e, err
		}
		switch c.Kind {
		case domain.KindVisit:
			e.Visits++
		case domain.KindFollowUp:
			e.FollowUps++
		case protocol.KindConflict:
			e.Conflicts++
		}
	}
	if !bare(member) {
		if err := s.erase(tx, member); err != nil {
			return e, err
		}
	}
	return e, nil
}

// erase replaces r by a bare tombstone at a new sequence.
func (s *Server) erase(tx Tx, r Record) error {
	seq, err := tx.NextSeq()
	if err != nil {
		return err
	}
	if err := tx.PutRecord(Record{Kind: r.Kind, ID: r.ID, Region: r.Region, Seq: seq, Deleted: true}); err != nil {
		return fmt.Errorf("erase %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

// bare reports whether r is already an erased tombstone.
func bare(r Record) bool {
	return r.Deleted && len(r.Fields) == 0 && len(r.Versions) == 0 && r.Parent == ""
}

// Purge reports what a purge of old visits erased.
type Purge struct {
	// Before is the cutoff: what is dated before it was erased.
	Before domain.Date
	// Visits, FollowUps and Conflicts count the records erased.
	Visits, FollowUps, Conflicts int
}

// VisitCutoff returns the day before which visits and follow-ups are past
// the retention period today, and false when they are kept forever.
func (s *Server) VisitCutoff() (domain.Date, bool) {
	if s.retentionMonths <= 0 {
		return domain.Date{}, false
	}
	return RetentionCutoff(s.today(), s.retentionMonths), true
}

// RetentionCutoff is the first day still kept, months before today.
func RetentionCutoff(today domain.Date, months int) domain.Date {
	return domain.DateOf(today.Time().AddDate(0, -months, 0))
}

// purgeBatch bounds the records erased by one transaction: a first purge
// of years of visits must not build one transaction larger than a backend
// accepts.
const purgeBatch = 500

// PurgeVisits erases the visits dated before the cutoff, the follow-ups due
// before it, and the conflict records about any of them; deleted ones that
// still hold their fields included. A follow-up is judged by its own due
// date, not its visit's: an unfinished follow-up of an old visit stays
// while it is due within the retention period. The erasure is committed in
// batches; each batch is whole, and a purge interrupted is finished by the
// next.
func (s *Server) PurgeVisits(ctx context.Context, before domain.Date) (Purge, error) {
	p := Purge{Before: before}
	type target struct {
		kind domain.Kind
		id   string
	}
	var targets []target
	err := s.backend.View(ctx, func(tx ReadTx) error {
		expired := map[string]bool{}
		for _, kind := range []domain.Kind{domain.KindVisit, domain.KindFollowUp} {
			err := tx.Records(kind, func(r Record) error {
				if expiredRecord(r, before) {
					expired[r.ID] = true
					targets = append(targets, target{r.Kind, r.ID})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return tx.Records(protocol.KindConflict, func(r Record) error {
			var c struct {
				RecordID string `json:"record_id"`
			}
			if !bare(r) && json.Unmarshal(r.Fields["record_id"], &c.RecordID) == nil && expired[c.RecordID] {
				targets = append(targets, target{r.Kind, r.ID})
			}
			return nil
		})
	})
	if err != nil {
		return p, fmt.Errorf("purge visits: %w", err)
	}
	for len(targets) > 0 {
		batch := targets[:min(purgeBatch, len(targets))]
		targets = targets[len(batch):]
		var counted Purge
		err := s.backend.Update(ctx, func(tx Tx) error {
			counted = Purge{}
			for _, t := range batch {
				r, err := tx.Record(t.kind, t.id)
				if errors.Is(err, ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				// Looked at again: it may have changed since the walk (a
				// visit re-dated, a conflict erased with its member).
				if bare(r) || t.kind != protocol.KindConflict && !expiredRecord(r, before) {
					continue
				}
				if err := s.erase(tx, r); err != nil {
					return err
				}
				switch t.kind {
				case domain.KindVisit:
					counted.Visits++
				case domain.KindFollowUp:
					counted.FollowUps++
				default:
					counted.Conflicts++
				}
			}
			return nil
		})
		if err != nil {
			return p, fmt.Errorf("purge visits: %w", err)
		}
		p.Visits += counted.Visits
		p.FollowUps += counted.FollowUps
		p.Conflicts += counted.Conflicts
	}
	if p.Visits+p.FollowUps+p.Conflicts > 0 {
		s.log.Info("visits purged", "before", before.String(), "visits", p.Visits, "follow_ups", p.FollowUps, "conflicts", p.Conflicts)
	}
	return p, nil
}

// expiredRecord reports whether a visit's date or a follow-up's due date,
// still held, is before the cutoff.
func expiredRecord(r Record, before domain.Date) bool {
	field := "date"
	if r.Kind == domain.KindFollowUp {
		field = "due"
	}
	raw, ok := r.Fields[field]
	if !ok {
		return false
	}
	var d domain.Date
	if err := json.Unmarshal(raw, &d); err != nil || d.IsZero() {
		return false
	}
	return d.Before(before)
}

// PurgeExpired runs PurgeVisits with the retention's cutoff; it does
// nothing when visits are kept forever.
func (s *Server) PurgeExpired(ctx context.Context) (Purge, error) {
	before, on := s.VisitCutoff()
	if !on {
		return Purge{}, nil
	}
	return s.PurgeVisits(ctx, before)
}

// KeepRetention runs PurgeExpired and ForgetStaleFailures now, then every
// interval, until ctx is done. A failed run is logged and tried again at
// the next interval.
func (s *Server) KeepRetention(ctx context.Context, every time.Duration) {
	if _, on := s.VisitCutoff(); !on {
		s.log.Warn("visit retention is off: visits and follow-ups are kept forever")
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("purge expired visits", "err", err)
		}
		if _, err := s.ForgetStaleFailures(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("forget stale sign-in failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
