package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// indexEntry is one member in the in-memory index. Entries are immutable
// once published; updates replace them.
type indexEntry struct {
	id        string
	sum       *memberSummary
	sortKey   string // folded name
	searchKey string // domain.Member.SearchKey
	lastVisit domain.Date
}

func newIndexEntry(id string, sum *memberSummary) *indexEntry {
	m := domain.Member{Name: sum.Name, Municipality: sum.Municipality, NEQ: sum.NEQ, ContactName: sum.ContactName}
	return &indexEntry{id: id, sum: sum, sortKey: domain.Fold(sum.Name), searchKey: m.SearchKey(),
		lastVisit: dayFromNumber(sum.LastVisit)}
}

// withSummary is e for an updated summary, reusing the folded keys when
// their inputs did not change (a visit changes only the last-visit date).
func (e *indexEntry) withSummary(sum *memberSummary) *indexEntry {
	o := e.sum
	if o.Name != sum.Name || o.Municipality != sum.Municipality || o.NEQ != sum.NEQ || o.ContactName != sum.ContactName {
		return newIndexEntry(e.id, sum)
	}
	return &indexEntry{id: e.id, sum: sum, sortKey: e.sortKey, searchKey: e.searchKey,
		lastVisit: dayFromNumber(sum.LastVisit)}
}

func (e *indexEntry) less(o *indexEntry) bool {
	if e.sortKey != o.sortKey {
		return e.sortKey < o.sortKey
	}
	return e.id < o.id
}

// memberIndex keeps every member's summary in memory, sorted by folded name,
// so search as you type never touches the disk.
//
// hay is every search key in sorted order, each followed by '\n' (which no
// folded word contains), and starts[i] is where entry i's key begins: one
// strings.Index over hay finds the candidates for a word much faster than
// a Contains per member.
type memberIndex struct {
	mu     sync.RWMutex
	byID   map[string]*indexEntry
	sorted []*indexEntry
	hay    string
	starts []int
}

// load builds the index from the persisted summaries. Decoding and folding
// 20,000 of them is most of the time Open takes, so it is spread over the
// available cores.
func (x *memberIndex) load(txn *badger.Txn) error {
	type raw struct{ id, val []byte }
	var raws []raw
	err := scanValues(txn, []byte(pSummary), func(key, val []byte) (bool, error) {
		raws = append(raws, raw{bytes.Clone(key[len(pSummary):]), bytes.Clone(val)})
		return true, nil
	})
	if err != nil {
		return err
	}
	sorted := make([]*indexEntry, len(raws))
	workers := min(runtime.GOMAXPROCS(0), 1+len(raws)/2000)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(raws); i += workers {
				var sum memberSummary
				if err := json.Unmarshal(raws[i].val, &sum); err != nil {
					errs[w] = fmt.Errorf("decode summary %s: %w", raws[i].id, err)
					return
				}
				sorted[i] = newIndexEntry(string(raws[i].id), &sum)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	byID := make(map[string]*indexEntry, len(sorted))
	for _, e := range sorted {
		byID[e.id] = e
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.byID, x.sorted = byID, sorted
	x.resort()
	return nil
}

func (x *memberIndex) resort() {
	sortEntries(x.sorted)
	x.rebuildHay()
}

func sortEntries(s []*indexEntry) []*indexEntry {
	slices.SortFunc(s, func(a, b *indexEntry) int {
		if a.less(b) {
			return -1
		}
		if b.less(a) {
			return 1
		}
		return 0
	})
	return s
}

// mergeSorted merges two sorted lists into a new one.
func mergeSorted(a, b []*indexEntry) []*indexEntry {
	out := make([]*indexEntry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].less(a[0]) {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

func (x *memberIndex) rebuildHay() {
	var b strings.Builder
	n := 0
	for _, e := range x.sorted {
		n += len(e.searchKey) + 1
	}
	b.Grow(n)
	x.starts = make([]int, len(x.sorted)+1)
	for i, e := range x.sorted {
		x.starts[i] = b.Len()
		b.WriteString(e.searchKey)
		b.WriteByte('\n')
	}
	x.starts[len(x.sorted)] = b.Len()
	x.hay = b.String()
}

// apply publishes summaries written by a committed transaction; a nil
// summary removes the member (deleted, or out of the device's scope). A
// visit changes only a last-visit date: the entry is swapped in place and
// the order and haystack stay as they are.
func (x *memberIndex) apply(put map[string]*memberSummary) {
	if len(put) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var moved []*indexEntry
	removed := false
	for id, sum := range put {
		old, ok := x.byID[id]
		if sum == nil {
			if ok {
				delete(x.byID, id)
				x.sorted = slices.Delete(x.sorted, x.position(old), x.position(old)+1)
				removed = true
			}
			continue
		}
		var e *indexEntry
		if ok {
			e = old.withSummary(sum)
		} else {
			e = newIndexEntry(id, sum)
		}
		x.byID[id] = e
		if ok && old.sortKey == e.sortKey && old.searchKey == e.searchKey {
			x.sorted[x.position(old)] = e
			continue
		}
		if ok {
			x.sorted = slices.Delete(x.sorted, x.position(old), x.position(old)+1)
		}
		moved = append(moved, e)
	}
	if len(moved) == 0 {
		if removed {
			x.rebuildHay()
		}
		return
	}
	if len(moved) > 64 {
		// An import or a pulled page: sort the newcomers alone and merge
		// them in, rather than sorting every member again for each page
		// of a first sync.
		x.sorted = mergeSorted(x.sorted, sortEntries(moved))
		x.rebuildHay()
		return
	}
	for _, e := range moved {
		i := sort.Search(len(x.sorted), func(i int) bool { return !x.sorted[i].less(e) })
		x.sorted = slices.Insert(x.sorted, i, e)
	}
	x.rebuildHay()
}

// position finds a published entry in sorted.
func (x *memberIndex) position(e *indexEntry) int {
	return sort.Search(len(x.sorted), func(i int) bool { return !x.sorted[i].less(e) })
}

// get returns a member's committed summary, nil when absent.
func (x *memberIndex) get(id string) *memberSummary {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e, ok := x.byID[id]; ok {
		return e.sum
	}
	return nil
}

func (x *memberIndex) count() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// search applies domain.MatchFolded's rule (every word of the folded query
// occurs in the folded key) and the filters, in sorted order.
func (x *memberIndex) search(q MemberQuery) []MemberSummary {
	words := strings.Fields(domain.Fold(q.Text))
	// The longest word usually has the fewest candidates.
	slices.SortFunc(words, func(a, b string) int { return len(b) - len(a) })
	x.mu.RLock()
	defer x.mu.RUnlock()
	var hits []*indexEntry
	keep := func(e *indexEntry) bool {
		if q.Region != "" && e.sum.Region != q.Region ||
			q.LegalForm != "" && e.sum.LegalForm != q.LegalForm ||
			q.Service != "" && !slices.Contains(e.sum.Services, q.Service) {
			return true
		}
		for _, w := range words[min(1, len(words)):] {
			if !strings.Contains(e.searchKey, w) {
				return true
			}
		}
		hits = append(hits, e)
		return q.Limit <= 0 || len(hits) < q.Limit
	}
	if len(words) == 0 {
		for _, e := range x.sorted {
			if !keep(e) {
				break
			}
		}
	} else {
		for pos, k := 0, 0; pos < len(x.hay); {
			i := strings.Index(x.hay[pos:], words[0])
			if i < 0 {
				break
			}
			// The entry holding the match: the last start at or before it.
			k += sort.SearchInts(x.starts[k:], pos+i+1) - 1
			if !keep(x.sorted[k]) {
				break
			}
			k++
			pos = x.starts[k]
		}
	}
	return summaries(hits)
}

// summaries copies entries out; the services of all results share one
// allocation, each capped so that appending to one cannot touch another.
func summaries(hits []*indexEntry) []MemberSummary {
	if len(hits) == 0 {
		return nil
	}
	n := 0
	for _, e := range hits {
		n += len(e.sum.Services)
	}
	services := make([]string, 0, n)
	out := make([]MemberSummary, len(hits))
	for i, e := range hits {
		from := len(services)
		services = append(services, e.sum.Services...)
		out[i] = MemberSummary{ID: e.id, Name: e.sum.Name, Municipality: e.sum.Municipality,
			Region: e.sum.Region, LegalForm: e.sum.LegalForm, Status: e.sum.Status,
			Services: services[from:len(services):len(services)], LastVisit: e.lastVisit}
		if len(e.sum.Services) == 0 {
			out[i].Services = nil
		}
	}
	return out
}

func (x *memberIndex) notVisitedSince(d domain.Date) []MemberSummary {
	limit := dayNumber(d)
	x.mu.RLock()
	var hits []*indexEntry
	for _, e := range x.sorted {
		if e.sum.Status != domain.MemberFormer && e.sum.LastVisit < limit {
			hits = append(hits, e)
		}
	}
	x.mu.RUnlock()
	// sorted is by name already; a stable sort keeps that within a day.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].sum.LastVisit < hits[j].sum.LastVisit })
	return summaries(hits)
}
