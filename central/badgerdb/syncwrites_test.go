package badgerdb

import (
	"io"
	"log/slog"
	"testing"
)

// TestCommitsAreSynced: an acknowledged push must survive a power cut, not
// only a crash of the process (which the crash tests cover: the kernel
// keeps what a killed process wrote). Badger fsyncs each commit only with
// SyncWrites.
func TestCommitsAreSynced(t *testing.T) {
	b, err := Open(t.TempDir(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.db.Opts().SyncWrites {
		t.Error("the backend's Badger commits without fsync")
	}
}
