package store

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/domain"
)

// A backup is:
//
//	magic "TERRAIN-BACKUP/1\n"
//	uint32 header length, header JSON {key, salt, schema, device}
//	chunks: flag byte (1 on the last), uint32 length, AES-256-GCM ciphertext
//
// The header carries key.json as it was at backup time, so the backup opens
// with the passphrase of that day. Chunks are sealed with a key derived from
// the master key and the header's random salt (HKDF-SHA256), under nonce =
// chunk number, with the header's hash, the number and the flag as
// additional data: a reordered, altered, truncated or extended stream fails.
// The plaintext is Badger's own backup stream.
const (
	backupMagic = "TERRAIN-BACKUP/1\n"
	chunkSize   = 64 << 10
	maxHeader   = 1 << 16
	backupInfo  = "terrain backup v1"
)

type backupHeader struct {
	Key    keyFile `json:"key"`
	Salt   []byte  `json:"salt"`
	Schema int     `json:"schema"`
	Device string  `json:"device"`
}

// Backup writes an encrypted copy of the whole store to w: a consistent
// snapshot, taken while the store stays usable. Nothing in it is readable
// without the passphrase that was current at backup time.
func (s *Store) Backup(w io.Writer) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.keyMu.Lock()
	kf, err := readKeyFile(s.dir)
	master := append([]byte(nil), s.master...)
	s.keyMu.Unlock()
	defer clear(master)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	h := backupHeader{Key: kf, Salt: make([]byte, 32), Schema: s.schema, Device: s.device}
	if _, err := rand.Read(h.Salt); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(backupMagic)
	binary.Write(bw, binary.BigEndian, uint32(len(hb)))
	bw.Write(hb)
	cw, err := newChunkWriter(bw, master, h.Salt, hb)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := s.db.Backup(cw, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore makes a profile in dir, which must be empty or missing, from a
// backup stream, then opens it. The passphrase is the one that was current
// when the backup was made. The restored profile is a new device: it gets a
// new device id, its unsent mutations are renumbered from 1 and its token
// is wiped, so the coordinator signs in again. Keeping the old id would let
// the server skip, as already applied, new work numbered like mutations it
// received after the backup was made. On failure dir is left empty.
func Restore(r io.Reader, dir string, passphrase []byte, opt Options) (*Store, error) {
	if !emptyOrMissing(dir) {
		return nil, fmt.Errorf("restore: %s is not empty: %w", dir, ErrProfileExists)
	}
	br := bufio.NewReader(r)
	h, hb, err := readBackupHeader(br)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	master, err := h.Key.open(passphrase)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	s, err := restoreInto(br, dir, h, hb, master, opt)
	if err != nil {
		clear(master)
		if entries, rerr := os.ReadDir(dir); rerr == nil {
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		return nil, fmt.Errorf("restore: %w", err)
	}
	return s, nil
}

func restoreInto(br *bufio.Reader, dir string, h backupHeader, hb, master []byte, opt Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cr, err := newChunkReader(br, master, h.Salt, hb)
	if err != nil {
		return nil, err
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	db, err := badger.Open(badgerOptions(filepath.Join(dir, dbDirName), master, logger))
	if err != nil {
		return nil, err
	}
	if err := db.Load(cr, 16); err != nil {
		db.Close()
		if errors.Is(err, ErrBadBackup) {
			return nil, err
		}
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := cr.finish(); err != nil {
		db.Close()
		return nil, err
	}
	if err := becomeNewDevice(db); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	// The key goes last: a profile with a key.json is a complete one.
	if err := writeKeyFile(dir, h.Key); err != nil {
		return nil, err
	}
	return openDB(dir, master, opt)
}

func readBackupHeader(r io.Reader) (backupHeader, []byte, error) {
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != backupMagic {
		return backupHeader{}, nil, ErrBadBackup
	}
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil || n == 0 || n > maxHeader {
		return backupHeader{}, nil, ErrBadBackup
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(r, hb); err != nil {
		return backupHeader{}, nil, ErrBadBackup
	}
	var h backupHeader
	if err := json.Unmarshal(hb, &h); err != nil || len(h.Salt) != 32 {
		return backupHeader{}, nil, ErrBadBackup
	}
	if err := h.Key.check(); err != nil {
		return backupHeader{}, nil, fmt.Errorf("%w: %w", ErrBadBackup, err)
	}
	return h, hb, nil
}

func backupAEAD(master, salt []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, master, salt, backupInfo, 32)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// chunkAAD binds a chunk to its backup, its place and whether it ends the
// stream.
func chunkAAD(headerHash []byte, n uint64, final bool) []byte {
	aad := binary.BigEndian.AppendUint64(append([]byte(nil), headerHash...), n)
	if final {
		return append(aad, 1)
	}
	return append(aad, 0)
}

func chunkNonce(n uint64) []byte {
	nonce := make([]byte, 12)
	binary.BigEndian.PutUint64(nonce[4:], n)
	return nonce
}

type chunkWriter struct {
	w    io.Writer
	aead cipher.AEAD
	hash []byte
	n    uint64
	buf  []byte
}

func newChunkWriter(w io.Writer, master, salt, header []byte) (*chunkWriter, error) {
	aead, err := backupAEAD(master, salt)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(header)
	return &chunkWriter{w: w, aead: aead, hash: sum[:], buf: make([]byte, 0, chunkSize)}, nil
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(chunkSize-len(c.buf), len(p))
		c.buf = append(c.buf, p[:n]...)
		p = p[n:]
		if len(c.buf) == chunkSize {
			if err := c.seal(false); err != nil {
				return 0, err
			}
		}
	}
	return total, nil
}

func (c *chunkWriter) seal(final bool) error {
	ct := c.aead.Seal(nil, chunkNonce(c.n), c.buf, chunkAAD(c.hash, c.n, final))
	var head [5]byte
	if final {
		head[0] = 1
	}
	binary.BigEndian.PutUint32(head[1:], uint32(len(ct)))
	if _, err := c.w.Write(head[:]); err != nil {
		return err
	}
	if _, err := c.w.Write(ct); err != nil {
		return err
	}
	c.n++
	c.buf = c.buf[:0]
	return nil
}

// Close seals what is buffered as the final chunk.
func (c *chunkWriter) Close() error { return c.seal(true) }

type chunkReader struct {
	r     *bufio.Reader
	aead  cipher.AEAD
	hash  []byte
	n     uint64
	plain []byte
	done  bool
}

func newChunkReader(r *bufio.Reader, master, salt, header []byte) (*chunkReader, error) {
	aead, err := backupAEAD(master, salt)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(header)
	return &chunkReader{r: r, aead: aead, hash: sum[:]}, nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.plain) == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.plain)
	c.plain = c.plain[n:]
	return n, nil
}

func (c *chunkReader) next() error {
	var head [5]byte
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return ErrBadBackup // the final chunk is missing: truncated
	}
	final := head[0] == 1
	size := binary.BigEndian.Uint32(head[1:])
	if head[0] > 1 || size < uint32(c.aead.Overhead()) || size > chunkSize+uint32(c.aead.Overhead()) {
		return ErrBadBackup
	}
	ct := make([]byte, size)
	if _, err := io.ReadFull(c.r, ct); err != nil {
		return ErrBadBackup
	}
	plain, err := c.aead.Open(ct[:0], chunkNonce(c.n), ct, chunkAAD(c.hash, c.n, final))
	if err != nil {
		return ErrBadBackup
	}
	c.n++
	c.plain = plain
	c.done = final
	return nil
}

// finish checks that the stream ended with its final chunk and nothing
// after it: Badger's loader stops at a clean record boundary and would not
// notice a backup cut there.
func (c *chunkReader) finish() error {
	for !c.done {
		if err := c.next(); err != nil {
			return err
		}
		if len(c.plain) != 0 {
			return ErrBadBackup // data Badger did not read
		}
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		return ErrBadBackup
	}
	return nil
}

// becomeNewDevice gives a restored database a fresh device id, renumbers its
// outbox from 1 (the server knows nothing of the new id) and wipes the
// device token, which belonged to the old id.
func becomeNewDevice(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte(kDevice), []byte(domain.NewID())); err != nil {
			return err
		}
		var pending []Mutation
		var oldKeys [][]byte
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte(pOutbox)
		it := txn.NewIterator(opt)
		for it.Rewind(); it.Valid(); it.Next() {
			var m Mutation
			key := it.Item().KeyCopy(nil)
			if err := it.Item().Value(func(val []byte) error { return jsonUnmarshal(key, val, &m) }); err != nil {
				it.Close()
				return err
			}
			pending = append(pending, m)
			oldKeys = append(oldKeys, key)
		}
		it.Close()
		for _, k := range oldKeys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		for i := range pending {
			pending[i].Seq = uint64(i + 1)
			if err := setJSON(txn, outboxKey(pending[i].Seq), pending[i]); err != nil {
				return err
			}
		}
		if err := setUint(txn, kOutSeq, uint64(len(pending))); err != nil {
			return err
		}
		var sess Session
		ok, err := getJSON(txn, kSession, &sess)
		if err != nil || !ok {
			return err
		}
		sess.Token = ""
		return setJSON(txn, []byte(kSession), sess)
	})
}
