package badgerdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"leconsortium.coop/terrain/central"
)

// RawDump returns every byte the backend keeps: each version of each key
// and its value, then the content of every file in the database directory
// (the write-ahead memtables, value logs, tables and manifest, up to where
// their zero-filled preallocated tails begin). The contract
// suite looks in it for what must never be stored, such as a password or a
// device token. It is a test-only method: the file ends in _test.go.
func (d *DB) RawDump(ctx context.Context) ([]byte, error) {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return nil, fmt.Errorf("raw dump: %w", central.ErrClosed)
	}
	var out []byte
	err := d.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.AllVersions = true
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			out = append(out, item.Key()...)
			out = append(out, '\n')
			if item.IsDeletedOrExpired() {
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v...)
			out = append(out, '\n')
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("raw dump: %w", err)
	}
	dirs := []string{d.db.Opts().Dir}
	if vd := d.db.Opts().ValueDir; vd != dirs[0] {
		dirs = append(dirs, vd)
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := readWritten(path)
			out = append(out, b...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("raw dump: %w", err)
		}
	}
	return out, nil
}

// readWritten reads path up to its first mebibyte of zeros: Badger
// preallocates its logs (2 GiB for a value log) and appends from the start,
// so what follows is the unwritten tail, too slow to read for nothing.
func readWritten(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []byte
	chunk := make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(f, chunk)
		if n > 0 && bytes.Count(chunk[:n], []byte{0}) == n {
			return out, nil
		}
		out = append(out, chunk[:n]...)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
