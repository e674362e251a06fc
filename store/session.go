package store

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// Session is how this device talks to the central service: the server's
// address and the device token (kept, like everything, in the encrypted
// database), and who signed in.
type Session struct {
	Server string `json:"server"`
	// CAFile is the PEM file of the authority that signed the server's
	// certificate, when it is not one the system trusts.
	CAFile string `json:"ca_file,omitempty"`
	// Token is empty once signed out.
	Token         string    `json:"token,omitempty"`
	CoordinatorID string    `json:"coordinator_id,omitempty"`
	Email         string    `json:"email,omitempty"`
	Role          string    `json:"role,omitempty"`
	SignedInAt    time.Time `json:"signed_in_at"`
}

// SignedIn reports whether the session holds a token.
func (s Session) SignedIn() bool { return s.Token != "" }

// Session returns the stored session; the zero Session before the first
// sign-in.
func (s *Store) Session() (Session, error) {
	var sess Session
	err := s.view(func(txn *badger.Txn) error {
		_, err := getJSON(txn, kSession, &sess)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	return sess, nil
}

// SaveSession stores a new session together with the card of the
// coordinator who signed in, who becomes Me, in one transaction.
func (s *Store) SaveSession(sess Session, me domain.Coordinator) error {
	me.Normalize()
	if err := domain.CheckID(me.ID); err != nil {
		return fmt.Errorf("save session: coordinator id: %w", err)
	}
	sess.CoordinatorID = me.ID
	err := s.update(func(w *writeTx) error {
		if err := setJSON(w.txn, []byte(kSession), sess); err != nil {
			return err
		}
		if err := setJSON(w.txn, recordKey(pCoordinator, me.ID), me); err != nil {
			return err
		}
		return w.txn.Set([]byte(kMe), []byte(me.ID))
	})
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// ForgetToken signs out: the token is wiped; the server address, the data,
// the cursor, the outbox and the quarantine stay, so that signing in again
// (the same coordinator: a device belongs to one) carries on where it was
// and sends what was not sent.
func (s *Store) ForgetToken() error {
	err := s.update(func(w *writeTx) error {
		var sess Session
		ok, err := getJSON(w.txn, kSession, &sess)
		if err != nil || !ok {
			return err
		}
		sess.Token = ""
		return setJSON(w.txn, []byte(kSession), sess)
	})
	if err != nil {
		return fmt.Errorf("forget token: %w", err)
	}
	return nil
}

// MarkSynced records when the last sync completed, leaving the cursor as
// the pulled pages stored it.
func (s *Store) MarkSynced(at time.Time) error {
	err := s.update(func(w *writeTx) error {
		var st SyncState
		if _, err := getJSON(w.txn, kSync, &st); err != nil {
			return err
		}
		st.LastSync = at.UTC()
		return setJSON(w.txn, []byte(kSync), st)
	})
	if err != nil {
		return fmt.Errorf("mark synced: %w", err)
	}
	return nil
}
