package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// getRaw returns a copy of the value at key, or nil when absent.
func getRaw(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// getJSON decodes the value at key into v and reports whether it was there.
func getJSON(txn *badger.Txn, key string, v any) (bool, error) {
	b, err := getRaw(txn, []byte(key))
	if err != nil || b == nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

func setJSON(txn *badger.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

func getString(txn *badger.Txn, key string) (string, error) {
	b, err := getRaw(txn, []byte(key))
	return string(b), err
}

// getUint reads a counter; an absent one is zero.
func getUint(txn *badger.Txn, key string) (uint64, error) {
	b, err := getRaw(txn, []byte(key))
	if err != nil || b == nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%s: %d bytes, want 8", key, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func setUint(txn *badger.Txn, key string, v uint64) error {
	return txn.Set([]byte(key), binary.BigEndian.AppendUint64(nil, v))
}

// scanKeys calls fn with each key under prefix, in order, without loading
// values, until fn returns false.
func scanKeys(txn *badger.Txn, prefix, start []byte, fn func(key []byte) bool) {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = prefix
	it := txn.NewIterator(opt)
	defer it.Close()
	if start == nil {
		start = prefix
	}
	for it.Seek(start); it.Valid(); it.Next() {
		if !fn(it.Item().Key()) {
			return
		}
	}
}

// scanValues calls fn with each key and value under prefix, in order, until
// fn returns false or an error. The slices are only valid during the call.
func scanValues(txn *badger.Txn, prefix []byte, fn func(key, val []byte) (bool, error)) error {
	opt := badger.DefaultIteratorOptions
	opt.Prefix = prefix
	it := txn.NewIterator(opt)
	defer it.Close()
	for it.Seek(prefix); it.Valid(); it.Next() {
		item := it.Item()
		var more bool
		err := item.Value(func(val []byte) error {
			var err error
			more, err = fn(item.Key(), val)
			return err
		})
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}
