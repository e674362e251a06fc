package hlc

import (
	"math"
	"testing"
	"time"
)

// FuzzHLC checks the clock against arbitrary persisted stamps, remote
// stamps and wall clocks that jump back and forth:
//   - String and Parse round-trip: every stamp renders and parses back,
//     and what Parse accepts renders to a string that parses the same;
//   - the integer order of stamps is the order of (wall, counter);
//   - Now is exactly the next stamp: wall time when it is ahead, else one
//     more than the last stamp (the counter, borrowing the next millisecond
//     when spent), so it never goes backwards and always exceeds every stamp
//     issued, persisted or observed;
//   - Clamp never raises a stamp, and lowers it only to its limit.
//
// ops drives the clock, one byte per step: Now, Observe a stamp derived
// from remote, or move the wall clock.
func FuzzHLC(f *testing.F) {
	const wall = 1_750_000_000_000
	f.Add("1750000000000.3", uint64(New(wall, 3)), uint64(New(wall+86_400_000, 7)), int64(wall), int64(60_000), []byte{0, 1, 0, 2, 0, 0})
	f.Add("0.65535", uint64(New(wall, 1<<16-1)), uint64(0), int64(wall-5), int64(0), []byte{0, 0, 0})
	f.Add("281474976710655.65535", uint64(math.MaxUint64), uint64(math.MaxUint64), int64(math.MaxInt64), int64(-1), []byte{1, 0, 3, 0})
	f.Add("-1.0", uint64(0), uint64(New(1<<48-1, 0)), int64(-1), int64(1<<62), []byte{4, 1, 0, 0})
	// The last stamp there is, persisted or observed, with a sane clock.
	f.Add("+7.01", uint64(math.MaxUint64), uint64(New(wall, 0)), int64(wall), int64(0), []byte{0, 0})
	// A receiver whose clock plus the allowed skew passes the last
	// millisecond: the limit must not wrap around.
	f.Add("", uint64(0), uint64(New(1<<48-10, 0)), int64(1<<48-10), int64(60_000), []byte{})
	f.Fuzz(func(t *testing.T, s string, last, remote uint64, wallMS, maxAheadMS int64, ops []byte) {
		// Parse and String.
		if p, err := Parse(s); err == nil {
			if back, err := Parse(p.String()); err != nil || back != p {
				t.Fatalf("Parse(%q) = %v, whose String parses as %v, %v", s, p, back, err)
			}
		}
		for _, ts := range []Timestamp{Timestamp(last), Timestamp(remote)} {
			if back, err := Parse(ts.String()); err != nil || back != ts {
				t.Fatalf("Parse(%q) = %v, %v; want %d", ts.String(), back, err, uint64(ts))
			}
			if New(ts.WallMS(), ts.Logical()) != ts {
				t.Fatalf("New(%d, %d) != %d", ts.WallMS(), ts.Logical(), uint64(ts))
			}
		}

		// Order.
		a, b := Timestamp(last), Timestamp(remote)
		byParts := a.WallMS() < b.WallMS() || a.WallMS() == b.WallMS() && a.Logical() < b.Logical()
		if (a < b) != byParts {
			t.Fatalf("%v < %v is %v, by parts %v", a, b, a < b, byParts)
		}

		// The clock.
		now := wallMS
		c := NewClock(func() time.Time { return time.UnixMilli(now) }, a)
		high := a // the greatest stamp issued, persisted or observed
		for i, op := range ops {
			switch op % 4 {
			case 0, 3:
				got := c.Now()
				want := high + 1
				if w := min(max(now, 0), maxWall); w > high.WallMS() {
					want = New(w, 0)
				}
				if high == math.MaxUint64 {
					want = high // the end of time (year 10889): the clock stays there
				}
				if got != want {
					t.Fatalf("step %d: Now() = %v after %v at wall %d; want %v", i, got, high, now, want)
				}
				high = got
			case 1:
				r := Timestamp(remote ^ uint64(op)<<40)
				c.Observe(r)
				high = max(high, r)
				if c.Last() != high {
					t.Fatalf("step %d: Last() = %v after observing %v, want %v", i, c.Last(), r, high)
				}
			case 2:
				now += int64(op) - 128 + int64(op)*maxAheadMS // back and forth
			}
		}

		// Clamp, at a receiver's wall clock.
		at := time.UnixMilli(wallMS)
		ahead := time.Duration(maxAheadMS) * time.Millisecond
		got := Clamp(b, at, ahead)
		limitMS := at.Add(ahead).UnixMilli()
		switch {
		case got > b:
			t.Fatalf("Clamp(%v, %d, %v) = %v raises the stamp", b, wallMS, ahead, got)
		case got < b && (got.WallMS() != min(max(limitMS, 0), maxWall) || got.Logical() != 1<<16-1):
			t.Fatalf("Clamp(%v, %d, %v) = %v, not the limit %d", b, wallMS, ahead, got, limitMS)
		case got < b && limitMS >= b.WallMS() && limitMS <= maxWall:
			t.Fatalf("Clamp(%v, %d, %v) = %v lowers a stamp within the limit", b, wallMS, ahead, got)
		}
	})
}
