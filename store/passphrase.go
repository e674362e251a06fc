package store

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime/debug"
)

var errKeyMismatch = errors.New("key file does not match the open store")

// ChangePassphrase re-seals the master key under newPass after checking
// oldPass. Only key.json changes (atomically); the data is not re-encrypted.
func (s *Store) ChangePassphrase(oldPass, newPass []byte) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	defer debug.FreeOSMemory() // two Argon2 runs' worth of memory, no longer needed
	kf, err := readKeyFile(s.dir)
	if err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	master, err := kf.open(oldPass)
	if err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	defer clear(master)
	if subtle.ConstantTimeCompare(master, s.master) != 1 {
		return fmt.Errorf("change passphrase: %w", errKeyMismatch)
	}
	nkf, err := sealMaster(s.master, newPass, kdfCost)
	if err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	if err := writeKeyFile(s.dir, nkf); err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	return nil
}
