package domain

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// NewID returns a UUIDv7 (RFC 9562) made on this device: 48 bits of Unix
// milliseconds, then random bits. Made on the device so that a create can be
// replayed to the server without being duplicated; time-ordered so that
// records made together sit together in the store's key space.
func NewID() string { return defaultIDs.next(time.Now()) }

// NewIDAt is NewID with an explicit clock, for generators and tests. The id
// carries t's millisecond even when t is earlier than ids made before (a
// shared source would move it forward to stay increasing, and a record dated
// 2021 would get an id of today); ids made with the same t still increase.
func NewIDAt(t time.Time) string { return explicitIDs.next(t) }

var (
	defaultIDs  idSource
	explicitIDs = idSource{exact: true}
)

// idSource keeps ids made in the same millisecond increasing (RFC 9562
// method 1: a 12-bit counter in rand_a, reseeded each new millisecond).
// Unless exact, a clock that steps back reuses the last millisecond.
type idSource struct {
	mu      sync.Mutex
	exact   bool
	lastMS  int64
	counter uint16
}

func (s *idSource) next(t time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported systems
	}
	ms := t.UnixMilli()
	s.mu.Lock()
	if ms == s.lastMS || ms < s.lastMS && !s.exact {
		ms = s.lastMS
		s.counter++
		if s.counter > 0x0fff { // counter spent: borrow the next millisecond
			ms++
			s.counter = uint16(binary.BigEndian.Uint16(b[6:8]) & 0x07ff)
		}
	} else {
		s.counter = uint16(binary.BigEndian.Uint16(b[6:8]) & 0x07ff)
	}
	s.lastMS = ms
	counter := s.counter
	s.mu.Unlock()
	return formatV7(ms, counter, b)
}

func formatV7(ms int64, counter uint16, b [16]byte) string {
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	b[6] = 0x70 | byte(counter>>8)&0x0f
	b[7] = byte(counter)
	b[8] = 0x80 | b[8]&0x3f
	return FormatUUID(b)
}

// FormatUUID writes 16 bytes in the canonical lower-case 8-4-4-4-12 form.
func FormatUUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// ErrBadID is returned for a string that is not a canonical lower-case UUID.
var ErrBadID = errors.New("not a UUID")

// CheckID verifies that s is a canonical, lower-case UUID of any version.
func CheckID(s string) error {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return ErrBadID
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ErrBadID
		}
	}
	return nil
}

// IDTime returns the creation time encoded in a UUIDv7, and false for other ids.
func IDTime(id string) (time.Time, bool) {
	if CheckID(id) != nil || id[14] != '7' {
		return time.Time{}, false
	}
	raw, err := hex.DecodeString(id[0:8] + id[9:13])
	if err != nil {
		return time.Time{}, false
	}
	var ms int64
	for _, c := range raw {
		ms = ms<<8 | int64(c)
	}
	return time.UnixMilli(ms), true
}
