package hlc

import (
	"testing"
	"time"
)

func TestClockNeverGoesBackwards(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	a := c.Now()
	wall = wall.Add(-time.Hour) // the user sets the clock back
	b := c.Now()
	if b <= a {
		t.Fatalf("after clock moved back: %v <= %v", b, a)
	}
	if b.WallMS() != a.WallMS() || b.Logical() != a.Logical()+1 {
		t.Fatalf("expected logical tick, got %v after %v", b, a)
	}
}

func TestClockFollowsWallTime(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	c.Now()
	wall = wall.Add(time.Second)
	if got := c.Now(); got != New(wall.UnixMilli(), 0) {
		t.Fatalf("got %v, want wall time %d.0", got, wall.UnixMilli())
	}
}

func TestObserveOrdersAfterRemote(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, 0)
	remote := New(wall.Add(24*time.Hour).UnixMilli(), 7)
	c.Observe(remote)
	if got := c.Now(); got <= remote {
		t.Fatalf("local event %v not after observed %v", got, remote)
	}
}

func TestRestartContinuesFromPersisted(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	last := New(wall.UnixMilli()+5000, 3)
	c := NewClock(func() time.Time { return wall }, last)
	if got := c.Now(); got <= last {
		t.Fatalf("restarted clock issued %v, not after %v", got, last)
	}
}

func TestCounterOverflowBorrowsNextMillisecond(t *testing.T) {
	wall := time.UnixMilli(1_700_000_000_000)
	c := NewClock(func() time.Time { return wall }, New(wall.UnixMilli(), 1<<16-1))
	got := c.Now()
	if got.WallMS() != wall.UnixMilli()+1 || got.Logical() != 0 {
		t.Fatalf("got %v", got)
	}
}

func TestClamp(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ahead := New(now.AddDate(1, 0, 0).UnixMilli(), 0)
	got := Clamp(ahead, now, time.Minute)
	if got.WallMS() != now.Add(time.Minute).UnixMilli() {
		t.Fatalf("clamped to %v", got)
	}
	behind := New(now.AddDate(0, 0, -1).UnixMilli(), 2)
	if Clamp(behind, now, time.Minute) != behind {
		t.Fatal("a clock behind must not be changed")
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, ts := range []Timestamp{0, New(1, 0), New(1_700_000_000_123, 42), New(1<<48-1, 1<<16-1)} {
		got, err := Parse(ts.String())
		if err != nil || got != ts {
			t.Fatalf("Parse(%q) = %v, %v", ts.String(), got, err)
		}
	}
	for _, bad := range []string{"", "12", "x.1", "1.x", "1.70000", "-1.0"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestEndOfTime: a stamp or a wall clock past what a Timestamp holds (the
// year 10889) saturates instead of wrapping around to a small stamp that
// every other write would beat.
func TestEndOfTime(t *testing.T) {
	last := ^Timestamp(0)
	c := NewClock(func() time.Time { return time.UnixMilli(1_700_000_000_000) }, last)
	if got := c.Now(); got != last {
		t.Errorf("after the last stamp: %v", got)
	}
	c = NewClock(func() time.Time { return time.UnixMilli(1 << 50) }, New(1<<48-1, 9))
	if got := c.Now(); got != New(1<<48-1, 10) {
		t.Errorf("wall clock past the range: %v", got)
	}
	now := time.UnixMilli(1<<48 - 10)
	if got := Clamp(New(1<<48-10, 0), now, time.Minute); got != New(1<<48-10, 0) {
		t.Errorf("limit past the range clamped %v", got)
	}
}
