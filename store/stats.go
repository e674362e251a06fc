package store

import (
	"bytes"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// MonthCount is the number of visits in one calendar month.
type MonthCount struct {
	Year   int
	Month  time.Month
	Visits int
}

// VisitCounts is what the dashboard charts: visits per month and per
// region of the visited member, over a range of days.
type VisitCounts struct {
	// Months has one entry per calendar month of the range, oldest first,
	// months without visits included.
	Months []MonthCount
	// ByRegion counts visits by the region code of the visited member.
	ByRegion map[string]int
	Total    int
}

// CountVisits counts the visits dated from from to to, both included. It
// reads keys only: the date is in each visit's key, and the member's
// region in the in-memory index. Visits are clustered by member, newest
// first, so each member costs one seek to its first visit in range and a
// short scan, and older visits are skipped.
func (s *Store) CountVisits(from, to domain.Date) (VisitCounts, error) {
	out := VisitCounts{ByRegion: map[string]int{}}
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return out, fmt.Errorf("count visits: empty range %s..%s", from, to)
	}
	first := from.Year*12 + int(from.Month) - 1
	last := to.Year*12 + int(to.Month) - 1
	out.Months = make([]MonthCount, last-first+1)
	for i := range out.Months {
		out.Months[i] = MonthCount{Year: (first + i) / 12, Month: time.Month((first+i)%12 + 1)}
	}
	lo, hi := dayNumber(from), dayNumber(to)
	perMember := map[string][]int{} // member -> visits per month index
	err := s.view(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte(pVisit)
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek([]byte(pVisit)); it.Valid(); {
			key := it.Item().Key()
			rest := key[len(pVisit):]
			slash := bytes.IndexByte(rest, '/')
			if slash < 0 {
				it.Next()
				continue
			}
			member := string(rest[:slash])
			prefix := []byte(memberVisitPrefix(member))
			// Jump over this member's visits after the range.
			start := append(bytes.Clone(prefix), dayDesc(to)...)
			counts := make([]int, len(out.Months))
			n := 0
			for it.Seek(start); it.Valid() && bytes.HasPrefix(it.Item().Key(), prefix); it.Next() {
				k := it.Item().Key()[len(prefix):]
				end := bytes.IndexByte(k, '/')
				if end < 0 {
					continue
				}
				day, err := parseDayDesc(string(k[:end]))
				if err != nil {
					return err
				}
				d := dayNumber(day)
				if d < lo {
					break // older than the range, and so is the rest
				}
				if d <= hi {
					counts[day.Year*12+int(day.Month)-1-first]++
					n++
				}
			}
			if n > 0 {
				perMember[member] = counts
			}
			// The next member's visits: '0' is the byte after '/'.
			it.Seek(append(bytes.Clone([]byte(pVisit+member)), '0'))
		}
		return nil
	})
	if err != nil {
		return VisitCounts{}, fmt.Errorf("count visits: %w", err)
	}
	s.members.mu.RLock()
	defer s.members.mu.RUnlock()
	for member, counts := range perMember {
		region := ""
		if e, ok := s.members.byID[member]; ok {
			region = e.sum.Region
		}
		for i, n := range counts {
			out.Months[i].Visits += n
			out.ByRegion[region] += n
			out.Total += n
		}
	}
	return out, nil
}
