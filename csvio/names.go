package csvio

import (
	"fmt"
	"io"
	"strings"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/locales"
)

// Names turns the ids a record holds into what a reader of the export
// needs (a member's name, municipality and region, a coordinator's name,
// a service's name), in one language.
type Names struct {
	loc          *locales.Localizer
	members      map[string]memberRef
	coordinators map[string]string
	services     map[string]domain.Service
}

type memberRef struct{ name, municipality, region string }

// NewNames starts the lookups for an export in loc's language, with the
// default service catalog until AddService brings the real one.
func NewNames(loc *locales.Localizer) *Names {
	n := &Names{loc: loc, members: map[string]memberRef{}, coordinators: map[string]string{}, services: map[string]domain.Service{}}
	for _, s := range domain.DefaultServices() {
		n.services[s.ID] = s
	}
	return n
}

// AddMember makes m's name, municipality and region known.
func (n *Names) AddMember(m domain.Member) {
	n.members[m.ID] = memberRef{m.Name, m.Municipality, m.Region}
}

// AddCoordinator makes c's name known.
func (n *Names) AddCoordinator(c domain.Coordinator) { n.coordinators[c.ID] = c.Name }

// AddService makes s's names known, over the default catalog's.
func (n *Names) AddService(s domain.Service) { n.services[s.ID] = s }

// region writes a region as "03 - Capitale-Nationale": a spreadsheet keeps
// it as text (a bare "03" would become the number 3), it sorts by code,
// and the members import reads it back.
func (n *Names) region(code string) string {
	if code == "" {
		return ""
	}
	if _, ok := domain.RegionByCode(code); !ok {
		return code
	}
	return code + " - " + n.loc.Region(code)
}

// serviceList names a list of services, in the catalog's names; an id the
// catalog does not know is written as is.
func (n *Names) serviceList(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id
		if s, ok := n.services[id]; ok {
			names[i] = n.loc.Service(s)
		}
	}
	return strings.Join(names, ", ")
}

// Kind names what an export holds.
type Kind string

// The exports.
const (
	Members   Kind = "members"
	Visits    Kind = "visits"
	FollowUps Kind = "followups"
)

// Kinds lists the exports, as the CLIs name them.
func Kinds() []Kind { return []Kind{Visits, FollowUps, Members} }

// Source is what an export reads: the device's store, or the central
// service through a small adapter. Each walk skips deleted records.
type Source interface {
	EachMember(func(domain.Member) error) error
	EachVisit(func(domain.Visit) error) error
	EachFollowUp(func(domain.FollowUp) error) error
	Coordinators() ([]domain.Coordinator, error)
	Services() ([]domain.Service, error)
}

// Export writes every record of kind from src as CSV in loc's language and
// returns how many rows it wrote. Rows come in src's order; a spreadsheet
// sorts them as its user likes.
func Export(w io.Writer, kind Kind, loc *locales.Localizer, src Source) (int, error) {
	n, err := export(w, kind, loc, src)
	if err != nil {
		return n, fmt.Errorf("export %s: %w", kind, err)
	}
	return n, nil
}

func export(w io.Writer, kind Kind, loc *locales.Localizer, src Source) (int, error) {
	names, err := loadNames(kind, loc, src)
	if err != nil {
		return 0, err
	}
	switch kind {
	case Members:
		return writeAll(w, names, memberColumns(), src.EachMember)
	case Visits:
		return writeAll(w, names, visitColumns(), src.EachVisit)
	case FollowUps:
		return writeAll(w, names, followUpColumns(), src.EachFollowUp)
	}
	return 0, fmt.Errorf("unknown export %q", kind)
}

// loadNames reads the lookups kind needs.
func loadNames(kind Kind, loc *locales.Localizer, src Source) (*Names, error) {
	names := NewNames(loc)
	services, err := src.Services()
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		names.AddService(s)
	}
	if kind == Members {
		return names, nil
	}
	coords, err := src.Coordinators()
	if err != nil {
		return nil, err
	}
	for _, c := range coords {
		names.AddCoordinator(c)
	}
	err = src.EachMember(func(m domain.Member) error { names.AddMember(m); return nil })
	return names, err
}

func writeAll[T any](w io.Writer, names *Names, cols []column[T], each func(func(T) error) error) (int, error) {
	cw, err := newWriter(w, names, cols)
	if err != nil {
		return 0, err
	}
	n := 0
	if err := each(func(v T) error { n++; return cw.Write(v) }); err != nil {
		return 0, err
	}
	return n, cw.Flush()
}

// NewMemberWriter starts a members CSV in the names' language. Its columns
// are the ones ReadMembers reads, so an export can be edited and imported.
func NewMemberWriter(w io.Writer, names *Names) (*Writer[domain.Member], error) {
	return newWriter(w, names, memberColumns())
}
