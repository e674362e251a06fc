package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
	"leconsortium.coop/terrain/hlc"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Now is the wall clock for validation ("today"), the hybrid logical
	// clock and mutation times; time.Now when nil.
	Now func() time.Time
	// Logger receives Badger's warnings and errors and the store's own;
	// slog.Default() when nil.
	Logger *slog.Logger
	// GCInterval is how often value-log garbage collection runs: 0 means
	// every 10 minutes, a negative value turns it off.
	GCInterval time.Duration
	// KeyCost, when set, replaces the production Argon2id cost of sealing
	// the key of a new profile (Create only); see CheapKeyCost.
	KeyCost KeyCost
}

const defaultGCInterval = 10 * time.Minute

// Store is an open profile. Its methods are safe for concurrent use; writes
// are serialised so that outbox numbers, the persisted clock and the
// in-memory index follow commit order.
type Store struct {
	dir    string
	db     *badger.DB
	now    func() time.Time
	log    *slog.Logger
	clock  *hlc.Clock
	device string
	schema int

	life   sync.RWMutex // read-held by every operation, write-held by Close
	closed bool

	writeMu sync.Mutex // one writer at a time
	outSeq  uint64     // last outbox number issued; guarded by writeMu

	keyMu  sync.Mutex // guards master and key.json
	master []byte

	members memberIndex

	stop   chan struct{}
	gcDone sync.WaitGroup
	gcRuns atomic.Int64
}

// Exists reports whether dir holds a profile (a key.json).
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, keyFileName))
	return err == nil
}

// Create makes a new profile in dir (created if missing): a random master key
// sealed under passphrase, and an empty database with the default services
// catalog and a new device id.
func Create(dir string, passphrase []byte, opt Options) (*Store, error) {
	cost := kdfCost
	if opt.KeyCost != (KeyCost{}) {
		cost = opt.KeyCost
	}
	return create(dir, passphrase, opt, cost)
}

func create(dir string, passphrase []byte, opt Options, cost KeyCost) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store: %w", err)
	}
	if Exists(dir) {
		return nil, ErrProfileExists
	}
	dbDir := filepath.Join(dir, dbDirName)
	if !emptyOrMissing(dbDir) {
		// Data without a key cannot be opened; refusing keeps us from
		// mixing it with a new key.
		return nil, fmt.Errorf("create store: %s holds data: %w", dbDir, ErrProfileExists)
	}
	master, err := newMasterKey()
	if err != nil {
		return nil, err
	}
	kf, err := sealMaster(master, passphrase, cost)
	if err != nil {
		return nil, err
	}
	if err := writeKeyFile(dir, kf); err != nil {
		return nil, fmt.Errorf("create store: %w", err)
	}
	s, err := openDB(dir, master, opt)
	if err != nil {
		if !errors.Is(err, ErrAlreadyOpen) {
			os.Remove(filepath.Join(dir, keyFileName))
			os.RemoveAll(dbDir)
		}
		return nil, fmt.Errorf("create store: %w", err)
	}
	return s, nil
}

// Open unseals the profile in dir with passphrase and opens its database,
// applying pending schema migrations. It returns ErrNoProfile,
// ErrWrongPassphrase, ErrAlreadyOpen or ErrSchemaTooNew for the cases a
// caller must explain to the coordinator.
func Open(dir string, passphrase []byte, opt Options) (*Store, error) {
	kf, err := readKeyFile(dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	master, err := kf.open(passphrase)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s, err := openDB(dir, master, opt)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// Argon2 used 64 MiB the app will never need again. Opening the
	// database has reused part of it; hand the rest back to the system now
	// rather than whenever the scavenger gets to it, off the caller's path.
	go debug.FreeOSMemory()
	return s, nil
}

func openDB(dir string, master []byte, opt Options) (*Store, error) {
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	dbDir := filepath.Join(dir, dbDirName)
	db, err := badger.Open(badgerOptions(dbDir, master, logger))
	if err != nil && !isLockError(err) {
		// Only once Badger has failed, and not because another process
		// holds the directory, may empty logs be removed: a running
		// instance's freshly rotated log is empty for a moment.
		if rerr := removeEmptyLogs(dbDir); rerr != nil {
			clear(master)
			return nil, rerr
		}
		db, err = badger.Open(badgerOptions(dbDir, master, logger))
	}
	if err != nil {
		clear(master)
		if isLockError(err) {
			return nil, ErrAlreadyOpen
		}
		return nil, err
	}
	s := &Store{dir: dir, db: db, now: now, log: logger, master: master, stop: make(chan struct{})}
	if err := s.load(); err != nil {
		db.Close()
		clear(master)
		return nil, err
	}
	interval := opt.GCInterval
	if interval == 0 {
		interval = defaultGCInterval
	}
	if interval > 0 {
		s.gcDone.Add(1)
		go s.gcLoop(interval)
	}
	return s, nil
}

// load migrates the schema and reads what the store keeps in memory.
func (s *Store) load() error {
	if err := s.migrate(); err != nil {
		return err
	}
	err := s.db.View(func(txn *badger.Txn) error {
		dev, err := getString(txn, kDevice)
		if err != nil {
			return fmt.Errorf("device id: %w", err)
		}
		s.device = dev
		last, err := getUint(txn, kHLC)
		if err != nil {
			return fmt.Errorf("clock: %w", err)
		}
		s.clock = hlc.NewClock(s.now, hlc.Timestamp(last))
		if s.outSeq, err = getUint(txn, kOutSeq); err != nil {
			return fmt.Errorf("outbox number: %w", err)
		}
		return s.members.load(txn)
	})
	if err != nil {
		return fmt.Errorf("load store: %w", err)
	}
	return nil
}

// memTableSize is Badger's memtable size in the laptop profile; a
// transaction holds at most 15% of it.
const memTableSize = 8 << 20

// badgerOptions is the laptop profile. Badger's defaults reserve several
// hundred MiB (five 64 MiB memtables, a 256 MiB block cache); a coordinator's
// data fits in far less. Figures are measured by BenchmarkRSS500k.
func badgerOptions(path string, master []byte, l *slog.Logger) badger.Options {
	opt := badger.DefaultOptions(path).
		WithEncryptionKey(master).
		WithSyncWrites(true). // a save that returned survives a power cut
		WithLogger(badgerLogger{l}).
		WithMemTableSize(memTableSize).
		WithNumMemtables(2).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(10).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(16 << 20).
		// Records up to 4 KiB (all but those with long notes) stay in the
		// LSM tree beside their neighbours, so a member's history is read
		// in a few blocks; longer ones go to the value log, which GC
		// reclaims.
		WithValueThreshold(4 << 10).
		WithValueLogFileSize(64 << 20).
		WithBaseTableSize(2 << 20).
		// 16 KiB blocks make the table indexes (decrypted and cached in
		// memory, since the data is encrypted) four times smaller.
		WithBlockSize(16 << 10).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		// Writers are serialised by the store, so Badger need not track
		// read sets to detect conflicts.
		WithDetectConflicts(false)
	// A compaction builds each output table in memory (at twice its size),
	// several at once; with tables growing 2x per level they reach 8 MiB
	// and more, and a compaction after a large import held hundreds of MiB.
	opt.TableSizeMultiplier = 1
	return opt
}

// isLockError recognises Badger's directory-lock failure. Badger formats
// the cause into its message instead of wrapping it, so the text is all we
// have; TestSecondOpen pins it.
func isLockError(err error) bool {
	return strings.Contains(err.Error(), "Another process is using this Badger database")
}

// removeEmptyLogs deletes zero-byte value-log and memtable (write-ahead
// log) files. A crash between Badger creating such a file and sizing it
// leaves one behind, and Badger v4.9.6 then refuses to open ("Create a new
// file") although the file holds nothing. TestCrashDurability found both.
func removeEmptyLogs(dbDir string) error {
	for _, pattern := range []string{"*.vlog", "*.mem"} {
		logs, err := filepath.Glob(filepath.Join(dbDir, pattern))
		if err != nil {
			return err
		}
		for _, path := range logs {
			if info, err := os.Stat(path); err == nil && info.Size() == 0 {
				if err := os.Remove(path); err != nil {
					return fmt.Errorf("remove empty log: %w", err)
				}
			}
		}
	}
	return nil
}

func emptyOrMissing(dir string) bool {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	return err == nil && len(entries) == 0
}

// badgerLogger sends Badger's warnings and errors to slog and drops the rest,
// so Badger prints nothing on stdout or stderr by itself.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(format string, args ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// Close stops background work, flushes and closes the database and forgets
// the master key. Every later call returns ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	close(s.stop)
	s.gcDone.Wait()
	err := s.db.Close()
	s.keyMu.Lock()
	clear(s.master)
	s.keyMu.Unlock()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// acquire guards an operation against a concurrent Close; release ends it.
func (s *Store) acquire() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) release() { s.life.RUnlock() }

// view runs fn in a read-only transaction.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	return s.db.View(fn)
}

// DeviceID is this profile's UUIDv7, made when the profile was created; the
// central service numbers this device's mutations under it.
func (s *Store) DeviceID() string { return s.device }

// SchemaVersion is the layout version of the open database.
func (s *Store) SchemaVersion() int { return s.schema }

func (s *Store) today() domain.Date { return domain.DateOf(s.now()) }

func (s *Store) gcLoop(every time.Duration) {
	defer s.gcDone.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.collectGarbage()
		}
	}
}

// collectGarbage rewrites value-log files while at least half of one is
// garbage, until Badger finds nothing more or the store closes.
func (s *Store) collectGarbage() {
	s.gcRuns.Add(1)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		err := s.db.RunValueLogGC(0.5)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.log.Warn("value log gc", "err", err)
		}
		return
	}
}
