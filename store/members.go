package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// MemberSummary is what member lists show: enough to search, filter and
// sort without reading the whole member.
type MemberSummary struct {
	ID           string
	Name         string
	Municipality string
	Region       string
	LegalForm    domain.LegalForm
	Status       domain.MemberStatus
	Services     []string
	// LastVisit is the date of the member's latest visit, zero if none.
	LastVisit domain.Date
}

// MemberQuery selects members; empty fields select everything.
type MemberQuery struct {
	// Text is matched, folded, against name, municipality, NEQ and
	// contact name: every word must occur somewhere.
	Text      string
	Region    string
	LegalForm domain.LegalForm
	Service   string
	// Limit caps the result; 0 means no limit.
	Limit int
}

// memberSummary is the persisted form of a summary under pSummary. It keeps
// the inputs of domain.Member.SearchKey so Open folds them without reading
// members; a domain change to SearchKey's inputs needs a migration that
// rewrites these.
type memberSummary struct {
	Name         string              `json:"n"`
	Municipality string              `json:"mu"`
	Region       string              `json:"r"`
	LegalForm    domain.LegalForm    `json:"lf"`
	Status       domain.MemberStatus `json:"st"`
	Services     []string            `json:"sv,omitempty"`
	NEQ          string              `json:"neq,omitempty"`
	ContactName  string              `json:"cn,omitempty"`
	LastVisit    int                 `json:"lv,omitempty"` // yyyymmdd
}

// encodeSummary writes sum as json.Marshal does, for a fraction of the cost:
// a first sync writes 60,000 of them.
func encodeSummary(sum *memberSummary) []byte {
	b := make([]byte, 0, 64+len(sum.Name)+len(sum.Municipality)+len(sum.NEQ)+len(sum.ContactName)+16*len(sum.Services))
	b = append(b, `{"n":`...)
	b = appendString(b, sum.Name)
	b = append(b, `,"mu":`...)
	b = appendString(b, sum.Municipality)
	b = append(b, `,"r":`...)
	b = appendString(b, sum.Region)
	b = append(b, `,"lf":`...)
	b = appendString(b, string(sum.LegalForm))
	b = append(b, `,"st":`...)
	b = appendString(b, string(sum.Status))
	if len(sum.Services) > 0 {
		b = append(b, `,"sv":[`...)
		for i, sv := range sum.Services {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, sv)
		}
		b = append(b, ']')
	}
	if sum.NEQ != "" {
		b = append(b, `,"neq":`...)
		b = appendString(b, sum.NEQ)
	}
	if sum.ContactName != "" {
		b = append(b, `,"cn":`...)
		b = appendString(b, sum.ContactName)
	}
	if sum.LastVisit != 0 {
		b = append(b, `,"lv":`...)
		b = strconv.AppendInt(b, int64(sum.LastVisit), 10)
	}
	return append(b, '}')
}

func summaryOf(m *domain.Member, lastVisit int) *memberSummary {
	return &memberSummary{Name: m.Name, Municipality: m.Municipality, Region: m.Region,
		LegalForm: m.LegalForm, Status: m.Status, Services: m.Services, NEQ: m.NEQ,
		ContactName: m.ContactName, LastVisit: lastVisit}
}

// loadSummary returns the summary of a member as this transaction sees it,
// nil for a member not in the store. Committed summaries are read from the
// in-memory index, which every commit updates under the same writer lock.
func (w *writeTx) loadSummary(memberID string) *memberSummary {
	if sum, ok := w.summary[memberID]; ok {
		return sum
	}
	return w.s.members.get(memberID)
}

func (w *writeTx) putSummary(memberID string, sum *memberSummary) error {
	return w.storeSummary(memberID, sum, encodeSummary(sum))
}

// storeSummary is putSummary with the summary already encoded.
func (w *writeTx) storeSummary(memberID string, sum *memberSummary, enc []byte) error {
	if w.summary == nil {
		w.summary = make(map[string]*memberSummary)
	}
	w.summary[memberID] = sum
	return w.txn.Set([]byte(pSummary+memberID), enc)
}

// lastVisitDay reads the date of a member's latest visit from the first key
// of its clustered visits, as this transaction sees it (pending writes
// included).
func lastVisitDay(txn *badger.Txn, memberID string) (int, error) {
	prefix := []byte(memberVisitPrefix(memberID))
	var day domain.Date
	var err error
	found := false
	scanKeys(txn, prefix, nil, func(key []byte) bool {
		rest := key[len(prefix):]
		if i := strings.IndexByte(string(rest), '/'); i > 0 {
			day, err = parseDayDesc(string(rest[:i]))
			found = true
		}
		return false
	})
	if err != nil || !found {
		return 0, err
	}
	return dayNumber(day), nil
}

// refreshLastVisit recomputes a member's last visit after its history
// changed. A member not (yet) in the store has no summary to refresh.
func (w *writeTx) refreshLastVisit(memberID string) error {
	sum := w.loadSummary(memberID)
	if sum == nil {
		return nil
	}
	day, err := lastVisitDay(w.txn, memberID)
	if err != nil {
		return err
	}
	if day == sum.LastVisit {
		return nil
	}
	next := *sum
	next.LastVisit = day
	return w.putSummary(memberID, &next)
}

// SaveMember validates m and stores it with the outbox mutation of the
// fields that changed, in one durable transaction. It returns the
// *domain.ValidationError unchanged when m is invalid, and writes nothing.
func (s *Store) SaveMember(m domain.Member) error { return s.saveMember(m, 0) }

// saveMember is SaveMember with the write stamped at (see updateAt).
func (s *Store) saveMember(m domain.Member, at hlc.Timestamp) error {
	m.Normalize()
	if err := m.Validate(s.todayFor(at)); err != nil {
		return err
	}
	err := s.updateAt(at, func(w *writeTx) error {
		var old domain.Member
		existed, changed, err := w.saveLocal(domain.KindMember, m.ID, &m, &old)
		if err != nil || !changed {
			return err
		}
		last := 0
		if sum := w.loadSummary(m.ID); existed && sum != nil {
			last = sum.LastVisit
		} else if last, err = lastVisitDay(w.txn, m.ID); err != nil {
			return err
		}
		return w.putSummary(m.ID, summaryOf(&m, last))
	})
	if err != nil {
		return fmt.Errorf("save member: %w", err)
	}
	return nil
}

// Member returns a member by id, or ErrNotFound.
func (s *Store) Member(id string) (domain.Member, error) {
	var m domain.Member
	err := s.view(func(txn *badger.Txn) error { return getLive(txn, domain.KindMember, id, &m) })
	if err != nil {
		return domain.Member{}, fmt.Errorf("member %s: %w", id, err)
	}
	return m, nil
}

// SearchMembers returns the members matching q, sorted by folded name. It
// reads only the in-memory index, so it is fast enough to run on every
// keystroke.
func (s *Store) SearchMembers(q MemberQuery) ([]MemberSummary, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	return s.members.search(q), nil
}

// CountMembers returns how many members the store holds (0 once closed).
func (s *Store) CountMembers() int {
	if s.acquire() != nil {
		return 0
	}
	defer s.release()
	return s.members.count()
}

// MembersNotVisitedSince returns the active and suspended members whose
// last visit is before d, or who were never visited: never visited first,
// then the longest unvisited, then by name. Former members need no visit.
func (s *Store) MembersNotVisitedSince(d domain.Date) ([]MemberSummary, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	return s.members.notVisitedSince(d), nil
}
