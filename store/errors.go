package store

import "errors"

// Errors callers must tell apart. Validation failures are returned as the
// domain's *ValidationError (errors.Is(err, domain.ErrInvalid)), untouched.
var (
	// ErrWrongPassphrase means the passphrase does not unseal the master key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrAlreadyOpen means another process (or another Store in this one)
	// holds the profile's database.
	ErrAlreadyOpen = errors.New("store already open by another process")
	// ErrNotFound means no live record has that id.
	ErrNotFound = errors.New("not found")
	// ErrDeleted means the record was deleted and cannot be saved again.
	ErrDeleted = errors.New("record deleted")
	// ErrNoProfile means the directory holds no key.json: call Create.
	ErrNoProfile = errors.New("no profile in directory")
	// ErrProfileExists means Create or Restore found a profile (or data) in
	// the directory.
	ErrProfileExists = errors.New("profile already exists")
	// ErrSchemaTooNew means the data was written by a newer Terrain.
	ErrSchemaTooNew = errors.New("data written by a newer version of Terrain")
	// ErrClosed means the Store was closed.
	ErrClosed = errors.New("store closed")
	// ErrBadBackup means a backup stream is truncated, altered or not a
	// Terrain backup.
	ErrBadBackup = errors.New("not a valid Terrain backup")
)
