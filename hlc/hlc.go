// Package hlc is a hybrid logical clock (Kulkarni et al., 2014): timestamps
// that follow wall time when clocks agree, never go backwards, and order
// every event after the events it has seen, even when a laptop's clock is
// off by a year.
package hlc

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timestamp packs 48 bits of Unix milliseconds and a 16-bit logical counter;
// ordering two timestamps is ordering two integers. Zero means "never".
type Timestamp uint64

const logicalBits = 16

// maxWall is the last millisecond a Timestamp can hold, in the year 10889.
const maxWall = 1<<(64-logicalBits) - 1

// wall bounds a wall clock reading to what a Timestamp holds: a clock set
// to an absurd date must saturate, not wrap around to a small stamp.
func boundWall(ms int64) int64 { return min(max(ms, 0), maxWall) }

// New builds a timestamp from wall milliseconds and a logical counter.
func New(wallMS int64, logical uint16) Timestamp {
	return Timestamp(uint64(wallMS)<<logicalBits | uint64(logical))
}

// WallMS returns the physical part in Unix milliseconds.
func (t Timestamp) WallMS() int64 { return int64(t >> logicalBits) }

// Logical returns the counter part.
func (t Timestamp) Logical() uint16 { return uint16(t) }

// Time returns the physical part as a time.
func (t Timestamp) Time() time.Time { return time.UnixMilli(t.WallMS()).UTC() }

// String renders "wallms.logical", readable in logs and stable in tests.
func (t Timestamp) String() string {
	return strconv.FormatInt(t.WallMS(), 10) + "." + strconv.Itoa(int(t.Logical()))
}

// Parse reads what String wrote.
func Parse(s string) (Timestamp, error) {
	w, l, ok := strings.Cut(s, ".")
	if !ok {
		return 0, fmt.Errorf("hlc: %q has no logical part", s)
	}
	wall, err := strconv.ParseInt(w, 10, 64)
	if err != nil || wall < 0 || wall >= 1<<48 {
		return 0, fmt.Errorf("hlc: bad wall time in %q", s)
	}
	logical, err := strconv.ParseUint(l, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("hlc: bad counter in %q", s)
	}
	return New(wall, uint16(logical)), nil
}

// Clock issues timestamps. The zero value is not usable; use NewClock.
type Clock struct {
	mu   sync.Mutex
	now  func() time.Time
	last Timestamp
}

// NewClock returns a clock reading wall time from now (time.Now when nil)
// that will never issue a timestamp at or below last, so a restarted
// device carries on from what it had persisted.
func NewClock(now func() time.Time, last Timestamp) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now, last: last}
}

// Now returns a timestamp for a local event, greater than every timestamp
// this clock issued or observed; only at the greatest Timestamp, after
// observing it, does it return that one again rather than wrap around.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = advance(c.last, c.now().UnixMilli())
	return c.last
}

// Observe folds in a timestamp received from elsewhere so that later local
// events order after it.
func (c *Clock) Observe(remote Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if remote > c.last {
		c.last = remote
	}
}

// Last returns the greatest timestamp issued or observed, to persist.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func advance(last Timestamp, wallMS int64) Timestamp {
	if w := boundWall(wallMS); w > last.WallMS() {
		return New(w, 0)
	}
	switch {
	case last == ^Timestamp(0):
		return last // the end of time: nothing comes after it
	case last.Logical() == 1<<logicalBits-1: // counter spent: borrow the next millisecond
		return New(last.WallMS()+1, 0)
	}
	return last + 1
}

// Clamp bounds a timestamp received from a device to at most maxAhead past
// the receiver's wall clock: a laptop whose clock runs a year fast must not
// win every later conflict for a year.
func Clamp(t Timestamp, now time.Time, maxAhead time.Duration) Timestamp {
	limit := New(boundWall(now.Add(maxAhead).UnixMilli()), 1<<logicalBits-1)
	if t > limit {
		return limit
	}
	return t
}
