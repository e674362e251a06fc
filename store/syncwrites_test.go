package store

import "testing"

// TestSavesAreSynced: a save that returned must survive a power cut, not
// only a crash of the process (which TestCrashDurability covers: the kernel
// keeps what a killed process wrote). Badger fsyncs each commit only with
// SyncWrites.
func TestSavesAreSynced(t *testing.T) {
	s, _, _ := newStore(t)
	if !s.db.Opts().SyncWrites {
		t.Error("the store's Badger commits without fsync")
	}
}
