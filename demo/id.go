package demo

import "leconsortium.coop/terrain/domain"

// Kinds of records, kept in the id so that ids of different kinds never
// collide.
const (
	idMember = iota
	idVisit
	idFollowUp
	idCoordinator
)

// makeID builds a UUIDv7 (RFC 9562) like domain.NewID would, but from the
// seeded generator, so that the same seed gives the same ids. Its 62 bits of
// rand_b hold the kind (2 bits) and a serial number unique within the kind
// (36 bits) beside 24 random bits: ids are unique by construction, not by
// luck. The serial is scrambled by a bijection (an odd multiplier modulo
// 2³⁶, after an offset) so the ids do not show runs of zeros; rand_a is
// random, so two seeds give different ids.
func makeID(ms int64, kind int, serial uint64, r *rng) string {
	x := r.uint64()
	serial = (serial + 0x5bd1e995) * 0x9e3779b97 & (1<<36 - 1)
	var b [16]byte
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	b[6] = 0x70 | byte(x>>8)&0x0f // version 7, rand_a
	b[7] = byte(x)
	low := uint64(kind)<<60 | serial<<24 | x>>16&(1<<24-1)
	b[8] = 0x80 | byte(low>>56)&0x3f // variant 10
	for i := 9; i < 16; i++ {
		b[i] = byte(low >> (8 * (15 - i)))
	}
	return domain.FormatUUID(b)
}
