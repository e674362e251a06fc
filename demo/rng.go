package demo

import (
	"math/bits"
	"math/rand/v2"
)

// rng draws from a PCG using only its raw 64-bit output: the PCG algorithm
// is fixed, whereas the helpers of rand.Rand (IntN, Shuffle…) are not
// promised to give the same values in every Go release. All arithmetic is on
// integers so that no platform's floating point can change the data.
type rng struct{ p rand.PCG }

// Streams separate the draws of one member's record, visits and follow-ups,
// so each can be regenerated alone and in any order.
const (
	streamLayout = iota
	streamMember
	streamVisits
	streamFollowUps
	streamCoordinators
)

// seed points r at the stream of one index (a member, or 0).
func (r *rng) seed(seed uint64, stream, index int) {
	r.p.Seed(seed, mix(uint64(stream)<<40^uint64(index)))
}

// mix is SplitMix64's finaliser: neighbouring indexes get unrelated streams.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (r *rng) uint64() uint64 { return r.p.Uint64() }

// intn returns a number in [0, n) by multiply-and-shift; the bias, below
// n/2⁶⁴, does not matter for demo data.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.p.Uint64(), uint64(n))
	return int(hi)
}

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// percent is true pct times in a hundred.
func (r *rng) percent(pct int) bool { return r.intn(100) < pct }

func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }

// weighted returns an index into weights, drawn in proportion to them.
func (r *rng) weighted(weights func(i int) int, n, total int) int {
	x := r.intn(total)
	for i := 0; i < n; i++ {
		x -= weights(i)
		if x < 0 {
			return i
		}
	}
	return n - 1
}
