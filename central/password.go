package central

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params is the cost of password hashing. Hashes carry their own
// parameters, so lowering the cost for tests never weakens stored hashes.
type Argon2Params struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon2 is the production cost: RFC 9106's second recommended
// profile (t=3, 64 MiB, p=4).
var DefaultArgon2 = Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// TestArgon2 is a cheap cost for tests, where hashing at production cost
// would spend seconds per sign-in. Never use it in production.
var TestArgon2 = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

const (
	saltBytes = 16
	keyBytes  = 32
	// MinPasswordRunes is the shortest password AddCoordinator accepts.
	MinPasswordRunes = 10
)

// ErrWeakPassword is returned for a password shorter than MinPasswordRunes.
var ErrWeakPassword = fmt.Errorf("password must have at least %d characters", MinPasswordRunes)

var errBadHash = errors.New("unreadable password hash")

// hashPassword returns the PHC string of password under p.
func hashPassword(password []byte, p Argon2Params) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keyBytes)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches the PHC string, in time
// independent of where the two differ.
func verifyPassword(password []byte, phc string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// newToken returns a device token (32 random bytes, base64url) and the hash
// stored in its place.
func newToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token), nil
}

// tokenHash is what the backend stores and looks up: the token itself never
// touches the disk.
func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// wellFormedToken reports whether s can be a token this server issued,
// before any lookup.
func wellFormedToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// GeneratePassword returns a random password for the demo coordinator: 20
// base32 characters, 100 bits.
func GeneratePassword() string {
	return rand.Text()[:20]
}
