package store

// Errors callers must tell apart. Validation failures are returned as the
// domain's *ValidationError (errors.Is(err, domain.ErrInvalid)), untouched.
// Each sentinel names the locales message that explains it to a
// coordinator (locales.Localizer.Error reads MessageID), so the UI and the
// headless commands need no switch of their own.
var (
	// ErrWrongPassphrase means the passphrase does not unseal the master key.
	ErrWrongPassphrase error = &sentinel{"wrong passphrase", "error.wrong_passphrase"}
	// ErrAlreadyOpen means another process (or another Store in this one)
	// holds the profile's database.
	ErrAlreadyOpen error = &sentinel{"store already open by another process", "error.already_open"}
	// ErrNotFound means no live record has that id.
	ErrNotFound error = &sentinel{"not found", "error.not_found"}
	// ErrDeleted means the record was deleted and cannot be saved again.
	ErrDeleted error = &sentinel{"record deleted", "error.deleted"}
	// ErrNoProfile means the directory holds no key.json: call Create.
	ErrNoProfile error = &sentinel{"no profile in directory", "error.no_profile"}
	// ErrProfileExists means Create or Restore found a profile (or data) in
	// the directory.
	ErrProfileExists error = &sentinel{"profile already exists", "error.profile_exists"}
	// ErrSchemaTooNew means the data was written by a newer Terrain.
	ErrSchemaTooNew error = &sentinel{"data written by a newer version of Terrain", "error.schema_too_new"}
	// ErrClosed means the Store was closed.
	ErrClosed error = &sentinel{"store closed", "error.store_closed"}
	// ErrBadBackup means a backup stream is truncated, altered or not a
	// Terrain backup.
	ErrBadBackup error = &sentinel{"not a valid Terrain backup", "error.bad_backup"}
)

// sentinel is an error compared by identity that names its message.
type sentinel struct{ text, id string }

func (e *sentinel) Error() string { return e.text }

// MessageID is the locales message that explains the error.
func (e *sentinel) MessageID() string { return e.id }
