package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// The administration operations below are what terrain-central's
// sub-commands call. They run against the backend directly, with the
// authority of the central office.

// NewCoordinator describes a coordinator to create.
type NewCoordinator struct {
	// ID is optional; a new UUIDv7 when empty (the demo fixes it so its
	// visits point at it).
	ID       string
	Name     string
	Email    string
	Regions  []string
	Admin    bool
	Password []byte
}

// ErrUnknownCoordinator is returned for an e-mail no coordinator has.
var ErrUnknownCoordinator = errors.New("no coordinator with this e-mail")

// AddCoordinator creates a coordinator. It returns a *domain.ValidationError
// for a bad name, e-mail or region, ErrWeakPassword, or ErrDuplicateEmail.
func (s *Server) AddCoordinator(ctx context.Context, nc NewCoordinator) (Coordinator, error) {
	c := Coordinator{
		Coordinator: domain.Coordinator{ID: nc.ID, Name: nc.Name, Email: nc.Email, Regions: nc.Regions},
		Role:        protocol.RoleCoordinator,
	}
	if c.ID == "" {
		c.ID = domain.NewID()
	}
	if nc.Admin {
		c.Role = protocol.RoleAdmin
		if len(c.Regions) == 0 {
			c.Regions = allRegions()
		}
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return Coordinator{}, err
	}
	if utf8.RuneCount(nc.Password) < MinPasswordRunes {
		return Coordinator{}, ErrWeakPassword
	}
	hash, err := s.hash(ctx, nc.Password)
	if err != nil {
		return Coordinator{}, err
	}
	c.PasswordHash = hash
	err = s.backend.Update(ctx, func(tx Tx) error {
		if _, err := tx.CoordinatorByEmail(c.Email); err == nil {
			return ErrDuplicateEmail
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := tx.Coordinator(c.ID); err == nil {
			return fmt.Errorf("coordinator id %s is taken", c.ID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return s.putCoordinator(tx, c)
	})
	if err != nil {
		return Coordinator{}, fmt.Errorf("add coordinator: %w", err)
	}
	return c, nil
}

// putCoordinator stores a coordinator and the public card every device
// receives (name, e-mail, regions; never the password hash).
func (s *Server) putCoordinator(tx Tx, c Coordinator) error {
	if err := tx.PutCoordinator(c); err != nil {
		return err
	}
	return s.putCentral(tx, domain.KindCoordinator, c.ID, "", toFields(c.Coordinator))
}

// updateCoordinator changes the coordinator with email through fn.
func (s *Server) updateCoordinator(ctx context.Context, email string, fn func(*Coordinator) error) (Coordinator, error) {
	return s.updateCoordinatorRevoking(ctx, email, false, fn)
}

// updateCoordinatorRevoking is updateCoordinator that, with revoke, also
// revokes the token of every device of the coordinator in the same
// transaction: each must sign in again.
func (s *Server) updateCoordinatorRevoking(ctx context.Context, email string, revoke bool, fn func(*Coordinator) error) (Coordinator, error) {
	email = strings.ToLower(domain.NormalizeLine(email))
	var out Coordinator
	err := s.backend.Update(ctx, func(tx Tx) error {
		c, err := tx.CoordinatorByEmail(email)
		if errors.Is(err, ErrNotFound) {
			return ErrUnknownCoordinator
		} else if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		out = c
		if err := s.putCoordinator(tx, c); err != nil {
			return err
		}
		if revoke {
			return revokeDevicesOf(tx, c.ID)
		}
		return nil
	})
	return out, err
}

// revokeDevicesOf clears the token of every device of a coordinator.
func revokeDevicesOf(tx Tx, coordinatorID string) error {
	var theirs []Device
	err := tx.Devices(func(d Device) error {
		if d.CoordinatorID == coordinatorID && d.TokenHash != nil {
			theirs = append(theirs, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range theirs {
		d.TokenHash = nil
		if err := tx.PutDevice(d); err != nil {
			return err
		}
	}
	return nil
}

// DisableCoordinator disables a coordinator: they cannot sign in, and the
// tokens of their devices are revoked (their next request is refused 401:
// sign in again), so that enabling them again revives none.
func (s *Server) DisableCoordinator(ctx context.Context, email string) error {
	_, err := s.updateCoordinatorRevoking(ctx, email, true, func(c *Coordinator) error {
		c.Disabled = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("disable coordinator: %w", err)
	}
	return nil
}

// EnableCoordinator lifts DisableCoordinator.
func (s *Server) EnableCoordinator(ctx context.Context, email string) error {
	_, err := s.updateCoordinator(ctx, email, func(c *Coordinator) error {
		c.Disabled = false
		return nil
	})
	if err != nil {
		return fmt.Errorf("enable coordinator: %w", err)
	}
	return nil
}

// SetRegions replaces a coordinator's regions. Their devices receive the
// records of regions gained in full at the next sync, and delete those of
// regions lost.
func (s *Server) SetRegions(ctx context.Context, email string, regions []string) (Coordinator, error) {
	c, err := s.updateCoordinator(ctx, email, func(c *Coordinator) error {
		c.Regions = regions
		return nil
	})
	if err != nil {
		return Coordinator{}, fmt.Errorf("set regions: %w", err)
	}
	return c, nil
}

// SetPassword replaces a coordinator's password and revokes the tokens of
// their devices: a password reset because of a lost laptop or a leaked
// password must shut out whoever holds it.
func (s *Server) SetPassword(ctx context.Context, email string, password []byte) error {
	if utf8.RuneCount(password) < MinPasswordRunes {
		return ErrWeakPassword
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.updateCoordinatorRevoking(ctx, email, true, func(c *Coordinator) error {
		c.PasswordHash = hash
		return nil
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// Coordinators lists every coordinator by e-mail.
func (s *Server) Coordinators(ctx context.Context) ([]Coordinator, error) {
	var out []Coordinator
	err := s.backend.View(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Coordinators()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list coordinators: %w", err)
	}
	return out, nil
}

// Devices lists every device.
func (s *Server) Devices(ctx context.Context) ([]Device, error) {
	var out []Device
	err := s.backend.View(ctx, func(tx ReadTx) error {
		return tx.Devices(func(d Device) error {
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// RevokeDevice invalidates a device's token; it must sign in again.
func (s *Server) RevokeDevice(ctx context.Context, deviceID string) error {
	if err := s.revoke(ctx, deviceID, nil); err != nil {
		return fmt.Errorf("revoke device: %w", err)
	}
	return nil
}

// ImportError lists the records an import refused; nothing was written.
type ImportError struct {
	Rejections []protocol.Rejection
}

func (e *ImportError) Error() string {
	msgs := make([]string, 0, len(e.Rejections))
	for i, r := range e.Rejections {
		if i == 10 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(e.Rejections)-10))
			break
		}
		msgs = append(msgs, fmt.Sprintf("%s %s: %s", r.Kind, r.ID, r.Message))
	}
	return "import refused: " + strings.Join(msgs, "; ")
}

// Import writes members, visits and follow-ups with the authority of the
// central office, all or nothing: one refused record refuses the batch with
// an *ImportError. A record whose id exists is updated field by field: a
// field equal to the stored value is not written, and a field a coordinator
// changed since the office last wrote it is merged as a concurrent write —
// the import, being the newer, wins and the coordinator's value is kept in a
// conflict record that both sides see. A re-import never silently undoes
// what coordinators typed.
func (s *Server) Import(ctx context.Context, members []domain.Member, visits []domain.Visit, followUps []domain.FollowUp) error {
	today := s.today()
	var ie ImportError
	err := s.backend.Update(ctx, func(btx Tx) error {
		ie.Rejections = ie.Rejections[:0]
		n := 0
		var tx *recordCache
		put := func(kind domain.Kind, id string, v any) error {
			// Records are read a chunk at a time, in one call per kind, and
			// forgotten after it: an import may hold a million records.
			if n%importChunk == 0 {
				tx = newRecordCache(btx)
				if err := primeImport(tx, n, members, visits, followUps); err != nil {
					return err
				}
			}
			n++
			m, err := s.centralMutation(tx, kind, id, toFields(v))
			if err != nil || m == nil {
				return err
			}
			m.Seq = uint64(n)
			rej, err := s.applyMutation(tx, centralActor(), *m, today)
			if err != nil {
				return err
			}
			if rej != nil {
				ie.Rejections = append(ie.Rejections, *rej)
			}
			return nil
		}
		for _, m := range members {
			if err := put(domain.KindMember, m.ID, m); err != nil {
				return err
			}
		}
		for _, v := range visits {
			if err := put(domain.KindVisit, v.ID, v); err != nil {
				return err
			}
		}
		for _, f := range followUps {
			if err := put(domain.KindFollowUp, f.ID, f); err != nil {
				return err
			}
		}
		if len(ie.Rejections) > 0 {
			return &ie
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// importChunk is how many records an import reads in one go.
const importChunk = 2000

// primeImport reads the records of an import from the from-th (members,
// then visits, then follow-ups) to the next chunk's, with the members their
// visits and follow-ups belong to.
func primeImport(tx *recordCache, from int, members []domain.Member, visits []domain.Visit, followUps []domain.FollowUp) error {
	ids := map[domain.Kind][]string{}
	for i := from; i < from+importChunk; i++ {
		switch j := i - len(members); {
		case i < len(members):
			ids[domain.KindMember] = append(ids[domain.KindMember], members[i].ID)
		case j < len(visits):
			ids[domain.KindVisit] = append(ids[domain.KindVisit], visits[j].ID)
			ids[domain.KindMember] = append(ids[domain.KindMember], visits[j].MemberID)
		case j-len(visits) < len(followUps):
			f := followUps[j-len(visits)]
			ids[domain.KindFollowUp] = append(ids[domain.KindFollowUp], f.ID)
			ids[domain.KindMember] = append(ids[domain.KindMember], f.MemberID)
		}
	}
	return tx.primeKinds(ids)
}

// centralMutation turns a full record from the central office into a
// mutation of the fields that differ from what is stored. A field the office
// wrote last is based on its stored version, so it applies without conflict;
// a field a device wrote last is based on nothing (0), so the merge rule
// treats the two writes as concurrent and keeps the loser. It returns nil
// when nothing differs.
func (s *Server) centralMutation(tx Tx, kind domain.Kind, id string, fields map[string]json.RawMessage) (*protocol.Mutation, error) {
	cur, err := tx.Record(kind, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	m := &protocol.Mutation{Kind: kind, ID: id, Fields: map[string]json.RawMessage{}, Base: map[string]uint64{}, HLC: s.clock.Now()}
	for name, v := range fields {
		if old, ok := cur.Fields[name]; ok && !cur.Deleted && protocol.SameJSON(old, v) {
			continue
		}
		m.Fields[name] = v
		if ver := cur.Versions[name]; ver.Device == protocol.CentralDevice {
			m.Base[name] = ver.Seq
		}
	}
	if len(m.Fields) == 0 {
		return nil, nil
	}
	return m, nil
}

// ExportMembers calls fn for every member that is not deleted, by id.
func (s *Server) ExportMembers(ctx context.Context, fn func(domain.Member) error) error {
	return export(ctx, s, domain.KindMember, fn)
}

// ExportVisits calls fn for every visit that is not deleted, by id.
func (s *Server) ExportVisits(ctx context.Context, fn func(domain.Visit) error) error {
	return export(ctx, s, domain.KindVisit, fn)
}

// ExportFollowUps calls fn for every follow-up that is not deleted, by id.
func (s *Server) ExportFollowUps(ctx context.Context, fn func(domain.FollowUp) error) error {
	return export(ctx, s, domain.KindFollowUp, fn)
}

// ExportServices calls fn for every service of the catalog that is not
// deleted, by id.
func (s *Server) ExportServices(ctx context.Context, fn func(domain.Service) error) error {
	return export(ctx, s, domain.KindService, fn)
}

func export[T any](ctx context.Context, s *Server, kind domain.Kind, fn func(T) error) error {
	err := s.backend.View(ctx, func(tx ReadTx) error {
		return tx.Records(kind, func(r Record) error {
			if r.Deleted {
				return nil
			}
			var v T
			if err := fromFields(r.Fields, &v); err != nil {
				return fmt.Errorf("decode %s %s: %w", kind, r.ID, err)
			}
			return fn(v)
		})
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", kind, err)
	}
	return nil
}
