package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/crypto/argon2"
)

const (
	keyFileName = "key.json"
	dbDirName   = "db"
	masterSize  = 32
	saltSize    = 16
)

// KeyCost is the Argon2id cost of sealing a profile's key. It is written in
// key.json so that a key sealed with other costs (older files, tests)
// still opens.
type KeyCost struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// productionKDF is RFC 9106's second recommended profile.
var productionKDF = KeyCost{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// CheapKeyCost is for profiles that guard no real data and are made by the
// hundred (the sync simulation, tests): it makes the key trivial to guess.
var CheapKeyCost = KeyCost{Time: 1, MemoryKiB: 64, Threads: 1}

// kdfCost is what Create and ChangePassphrase seal new keys with; tests lower
// it so the suite does not spend minutes in Argon2.
var kdfCost = productionKDF

// keyFile is the JSON layout of key.json. []byte fields encode as base64.
type keyFile struct {
	Version   int    `json:"version"`
	KDF       string `json:"kdf"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
	Nonce     []byte `json:"nonce"`
	Wrapped   []byte `json:"wrapped"`
}

// keyAAD binds the sealed key to its purpose, so no other Terrain ciphertext
// can be passed off as a master key.
var keyAAD = []byte("terrain master key v1")

// sealMaster wraps master under a key derived from passphrase with fresh salt
// and nonce.
func sealMaster(master, passphrase []byte, p KeyCost) (keyFile, error) {
	kf := keyFile{Version: 1, KDF: "argon2id", Time: p.Time, MemoryKiB: p.MemoryKiB,
		Threads: p.Threads, Salt: make([]byte, saltSize)}
	if _, err := rand.Read(kf.Salt); err != nil {
		return keyFile{}, fmt.Errorf("seal key: %w", err)
	}
	aead, err := kf.aead(passphrase)
	if err != nil {
		return keyFile{}, err
	}
	kf.Nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(kf.Nonce); err != nil {
		return keyFile{}, fmt.Errorf("seal key: %w", err)
	}
	kf.Wrapped = aead.Seal(nil, kf.Nonce, master, keyAAD)
	return kf, nil
}

// open unseals the master key; a failed authentication means a wrong
// passphrase (or an altered file, which we cannot tell apart).
func (kf keyFile) open(passphrase []byte) ([]byte, error) {
	if err := kf.check(); err != nil {
		return nil, err
	}
	aead, err := kf.aead(passphrase)
	if err != nil {
		return nil, err
	}
	master, err := aead.Open(nil, kf.Nonce, kf.Wrapped, keyAAD)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return master, nil
}

func (kf keyFile) aead(passphrase []byte) (cipher.AEAD, error) {
	kek := argon2.IDKey(passphrase, kf.Salt, kf.Time, kf.MemoryKiB, kf.Threads, 32)
	defer clear(kek)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("key cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key cipher: %w", err)
	}
	return aead, nil
}

var errBadKeyFile = errors.New("malformed key file")

// check refuses files we did not write, including costs so high that
// opening would exhaust the laptop.
func (kf keyFile) check() error {
	switch {
	case kf.Version != 1, kf.KDF != "argon2id",
		kf.Time < 1 || kf.Time > 100,
		kf.MemoryKiB < 8 || kf.MemoryKiB > 4<<20,
		kf.Threads < 1,
		len(kf.Salt) != saltSize, len(kf.Nonce) != 12,
		len(kf.Wrapped) != masterSize+16:
		return errBadKeyFile
	}
	return nil
}

func readKeyFile(dir string) (keyFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, keyFileName))
	if errors.Is(err, os.ErrNotExist) {
		return keyFile{}, ErrNoProfile
	}
	if err != nil {
		return keyFile{}, fmt.Errorf("read key file: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return keyFile{}, fmt.Errorf("read key file: %w: %w", errBadKeyFile, err)
	}
	if err := kf.check(); err != nil {
		return keyFile{}, fmt.Errorf("read key file: %w", err)
	}
	return kf, nil
}

func writeKeyFile(dir string, kf keyFile) error {
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, keyFileName), append(b, '\n')); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path so that after a crash it holds either the
// old or the new content, never a mix: the key file is the only way into the
// data, losing it loses everything.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename durable. Windows cannot open a directory for
// syncing and persists renames in its journal anyway.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

func newMasterKey() ([]byte, error) {
	k := make([]byte, masterSize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, fmt.Errorf("make master key: %w", err)
	}
	return k, nil
}
