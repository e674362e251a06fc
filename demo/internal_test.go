package demo

import (
	"slices"
	"testing"
)

func TestApportion(t *testing.T) {
	tests := []struct {
		total   int
		weights []uint64
		want    []int
	}{
		{10, []uint64{1, 1}, []int{5, 5}},
		{10, []uint64{1, 2, 2}, []int{2, 4, 4}},
		{7, []uint64{1, 1, 1}, []int{2, 2, 3}},
		{5, []uint64{0, 3, 0, 2}, []int{0, 3, 0, 2}},
		{5, []uint64{0, 0}, []int{0, 0}},
		{0, []uint64{1}, []int{0}},
		{500000, []uint64{1 << 40, 1 << 40}, []int{250000, 250000}},
	}
	for _, tt := range tests {
		got := apportion(tt.total, len(tt.weights), func(i int) uint64 { return tt.weights[i] })
		if !slices.Equal(got, tt.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
		}
	}
}

func TestChunkRegions(t *testing.T) {
	for n := 1; n <= len(regionTable); n++ {
		chunks := chunkRegions(n)
		var all []string
		for _, c := range chunks {
			if len(c) == 0 {
				t.Errorf("chunkRegions(%d) has an empty chunk: %v", n, chunks)
			}
			all = append(all, c...)
		}
		slices.Sort(all)
		if len(all) != len(regionTable) || len(slices.Compact(all)) != len(regionTable) {
			t.Errorf("chunkRegions(%d) = %v does not cover each region once", n, chunks)
		}
	}
}

func TestTables(t *testing.T) {
	order := slices.Clone(travelOrder)
	slices.Sort(order)
	for i, ri := range order {
		if ri != i {
			t.Fatalf("travelOrder is not a permutation of the regions: %v", travelOrder)
		}
	}
	for i, reg := range regionTable {
		if want := string([]byte{byte('0' + (i+1)/10), byte('0' + (i+1)%10)}); reg.code != want {
			t.Errorf("regionTable[%d] is %s", i, reg.code)
		}
		for _, p := range reg.places {
			for _, fsa := range p.fsas {
				if len(fsa) != 3 || !postalFSA(fsa) {
					t.Errorf("%s: bad postal area %q", p.name, fsa)
				}
			}
		}
	}
	for _, s := range serviceOdds {
		if len(serviceTopics[s.id]) == 0 {
			t.Errorf("service %s has no topics", s.id)
		}
	}
	ids := make([]string, len(serviceOdds))
	for i, s := range serviceOdds {
		ids[i] = s.id
	}
	if !slices.IsSorted(ids) {
		t.Errorf("serviceOdds not sorted: %v", ids)
	}
}

func postalFSA(s string) bool {
	const first = "ABCEGHJKLMNPRSTVXY"
	return slices.Contains([]byte(first), s[0]) && s[1] >= '0' && s[1] <= '9' &&
		slices.Contains([]byte(postalLetters), s[2])
}

// makeID keeps the serial unique: the same stream position with serials
// that differ must give different ids even at the same millisecond.
func TestMakeIDUniquePerSerial(t *testing.T) {
	seen := map[string]bool{}
	for serial := range uint64(1 << 16) {
		var r rng
		r.seed(1, streamVisits, 0) // same random bits every time
		id := makeID(1_700_000_000_000, idVisit, serial, &r)
		if seen[id] {
			t.Fatalf("serial %d repeats an id", serial)
		}
		seen[id] = true
	}
}
