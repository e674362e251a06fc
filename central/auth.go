package central

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/sync/protocol"
)

// Sign-in throttling: after a few free failures, each further attempt under
// the same e-mail (or from the same address) must wait twice as long as the
// previous one. Blocked attempts are answered 429 with Retry-After without
// checking the password, so guessing gets no faster by trying harder. An
// attempt is counted as a failure before its password is checked, in the
// same transaction as the check of the counts, so that attempts sent in
// parallel cannot all pass on the same count; a right password takes its
// count back.
const (
	freeEmailFailures = 5
	freeAddrFailures  = 20 // an office behind one address has many people
	failureWindow     = time.Hour
	maxFailureDelay   = 15 * time.Minute
)

// ForgetStaleFailures deletes the sign-in failure counters that no longer
// slow anyone down (older than the failure window). They name e-mail and IP
// addresses, personal information kept no longer than the throttle needs
// it (Law 25). It returns how many were deleted.
func (s *Server) ForgetStaleFailures(ctx context.Context) (int, error) {
	var n int
	err := s.backend.Update(ctx, func(tx Tx) error {
		var err error
		n, err = tx.DeleteFailuresBefore(s.now().Add(-failureWindow))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("forget stale sign-in failures: %w", err)
	}
	return n, nil
}

// retryAfter returns how long a key with these failures must wait.
func retryAfter(f Failures, now time.Time, free int) time.Duration {
	if f.Count < free || now.Sub(f.Last) > failureWindow {
		return 0
	}
	delay := maxFailureDelay
	if n := f.Count - free; n < 10 {
		delay = min(time.Second<<n, maxFailureDelay)
	}
	return max(f.Last.Add(delay).Sub(now), 0)
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate finds the device and coordinator behind the bearer token,
// answering 401 or 403 itself when there are none.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Device, Coordinator, bool) {
	if len(r.Header.Values("Authorization")) > 1 {
		// Which one would a proxy, a log or another server read? None.
		writeError(w, r, http.StatusBadRequest, protocol.CodeBadRequest, "more than one Authorization header")
		return Device{}, Coordinator{}, false
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !wellFormedToken(strings.TrimSpace(token)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="terrain"`)
		writeError(w, r, http.StatusUnauthorized, protocol.CodeUnauthorized, "missing or malformed device token; sign in with POST /v1/session")
		return Device{}, Coordinator{}, false
	}
	var dev Device
	var coord Coordinator
	err := s.backend.View(r.Context(), func(tx ReadTx) error {
		var err error
		if dev, err = tx.DeviceByToken(tokenHash(strings.TrimSpace(token))); err != nil {
			return err
		}
		coord, err = tx.Coordinator(dev.CoordinatorID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="terrain", error="invalid_token"`)
		writeError(w, r, http.StatusUnauthorized, protocol.CodeUnauthorized, "unknown or revoked device token; sign in again")
		return Device{}, Coordinator{}, false
	}
	if err != nil {
		s.internalError(w, r, "authenticate", err)
		return Device{}, Coordinator{}, false
	}
	info(r).device = dev.ID
	if coord.Disabled {
		writeError(w, r, http.StatusForbidden, protocol.CodeDisabled, "this coordinator account is disabled")
		return Device{}, Coordinator{}, false
	}
	return dev, coord, true
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.signIn(w, r)
	case http.MethodDelete:
		s.signOut(w, r)
	default:
		methodNotAllowed(w, r, "POST, DELETE")
	}
}

var errDeviceTaken = errors.New("device registered to another coordinator")

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	data, ok := s.readJSON(w, r, maxSessionBytes)
	if !ok {
		return
	}
	req, err := protocol.DecodeSession(data)
	if err != nil {
		s.decodeError(w, r, err)
		return
	}
	info(r).device = req.ClientID
	email := strings.ToLower(domain.NormalizeLine(req.Email))
	limits := map[string]int{"email:" + email: freeEmailFailures}
	if s.addrFailures > 0 {
		limits["addr:"+remoteHost(r)] = s.addrFailures
	}
	now := s.now()

	var coord Coordinator
	found := false
	var wait time.Duration
	err = s.backend.Update(r.Context(), func(tx Tx) error {
		found, wait = false, 0
		counts := make(map[string]Failures, len(limits))
		for key, free := range limits {
			f, err := tx.Failures(key)
			if err != nil {
				return err
			}
			if now.Sub(f.Last) > failureWindow {
				f = Failures{}
			}
			wait = max(wait, retryAfter(f, now, free))
			counts[key] = f
		}
		if wait > 0 {
			return nil // blocked: nothing to count, no password to check
		}
		for key, f := range counts {
			f.Count++
			f.Last = now
			if err := tx.PutFailures(key, f); err != nil {
				return err
			}
		}
		var err error
		coord, err = tx.CoordinatorByEmail(email)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		s.internalError(w, r, "sign in", err)
		return
	}
	if wait > 0 {
		s.signInFailed(r, email, protocol.CodeTooManyAttempts)
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, r, http.StatusTooManyRequests, protocol.CodeTooManyAttempts,
			fmt.Sprintf("too many failed sign-ins; try again in %d seconds", secs))
		return
	}
	hash := coord.PasswordHash
	if !found {
		hash = s.dummy()
	}
	good, err := s.verify(r.Context(), []byte(req.Password), hash)
	if err != nil {
		s.internalError(w, r, "verify password", err)
		return
	}
	if !found || !good {
		s.signInFailed(r, email, protocol.CodeBadCredentials)
		writeError(w, r, http.StatusUnauthorized, protocol.CodeBadCredentials, "wrong e-mail or password")
		return
	}
	if err := s.signedIn(r.Context(), limits); err != nil {
		s.internalError(w, r, "sign in", err)
		return
	}
	if coord.Disabled {
		s.signInFailed(r, email, protocol.CodeDisabled)
		writeError(w, r, http.StatusForbidden, protocol.CodeDisabled, "this coordinator account is disabled")
		return
	}
	token, th, err := newToken()
	if err != nil {
		s.internalError(w, r, "sign in", err)
		return
	}
	err = s.backend.Update(r.Context(), func(tx Tx) error {
		dev, err := tx.Device(req.ClientID)
		switch {
		case errors.Is(err, ErrNotFound):
			dev = Device{ID: req.ClientID, CreatedAt: now}
		case err != nil:
			return err
		case dev.CoordinatorID != coord.ID:
			return errDeviceTaken
		}
		dev.CoordinatorID = coord.ID
		dev.Name = domain.NormalizeLine(req.DeviceName)
		dev.TokenHash = th
		dev.SignedInAt = now
		return tx.PutDevice(dev)
	})
	if errors.Is(err, errDeviceTaken) {
		writeError(w, r, http.StatusForbidden, protocol.CodeForbidden, "this device is registered to another coordinator; create a new profile on it")
		return
	}
	if err != nil {
		s.internalError(w, r, "sign in", err)
		return
	}
	s.log.Info("signed in", "coordinator", coord.ID, "device", req.ClientID)
	writeJSON(w, r, http.StatusOK, protocol.SessionResponse{
		Token:       token,
		Coordinator: coordinatorInfo(coord),
		Epoch:       s.Epoch(),
	})
}

func coordinatorInfo(c Coordinator) protocol.CoordinatorInfo {
	role := c.Role
	if role == "" {
		role = protocol.RoleCoordinator
	}
	return protocol.CoordinatorInfo{ID: c.ID, Name: c.Name, Email: c.Email, Regions: scopeOf(c), Role: role}
}

// signOut revokes the token it is called with.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	dev, _, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if err := s.revoke(r.Context(), dev.ID, dev.TokenHash); err != nil {
		s.internalError(w, r, "sign out", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revoke clears a device's token; when only is non-nil it clears it only if
// it is still that token (a sign-out racing a new sign-in keeps the new one).
func (s *Server) revoke(ctx context.Context, deviceID string, only []byte) error {
	return s.backend.Update(ctx, func(tx Tx) error {
		dev, err := tx.Device(deviceID)
		if err != nil {
			return err
		}
		if only != nil && !bytes.Equal(dev.TokenHash, only) {
			return nil
		}
		dev.TokenHash = nil
		return tx.PutDevice(dev)
	})
}

// signedIn settles the counts of a right password: the e-mail's failures
// are forgotten, and the address gets back the attempt counted in advance
// (others behind it may still have failed).
func (s *Server) signedIn(ctx context.Context, limits map[string]int) error {
	return s.backend.Update(ctx, func(tx Tx) error {
		for key := range limits {
			var f Failures
			if strings.HasPrefix(key, "addr:") {
				var err error
				if f, err = tx.Failures(key); err != nil {
					return err
				}
				if f.Count--; f.Count <= 0 {
					f = Failures{}
				}
			}
			if err := tx.PutFailures(key, f); err != nil {
				return err
			}
		}
		return nil
	})
}

// verify checks a password, at most two at a time.
func (s *Server) verify(ctx context.Context, password []byte, hash string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return verifyPassword(password, hash)
}

// hash hashes a new password, at most two at a time.
func (s *Server) hash(ctx context.Context, password []byte) (string, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.hashing }()
	return hashPassword(password, s.argon)
}

func (s *Server) dummy() string {
	s.dummyOnce.Do(func() {
		h, err := hashPassword([]byte("not a password of anyone"), s.argon)
		if err != nil {
			panic("central: dummy hash: " + err.Error()) // only crypto/rand can fail here
		}
		s.dummyHash = h
	})
	return s.dummyHash
}
