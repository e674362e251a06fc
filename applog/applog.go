// Package applog is the desktop app's log file: what support asks a
// coordinator for when something went wrong. It rotates by size, keeping
// a few old files, so it never grows without bound on a laptop.
//
// What goes in is what the app logs (slog): events, durations, counts,
// error codes and device ids. The app never logs member data, visit text,
// e-mail addresses, passphrases, passwords or tokens (the sync engine's
// and store's tests check theirs), so the file can be sent as it is.
package applog

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Defaults: 1 MiB per file, three old files (terrain.log.1 … .3).
const (
	DefaultMaxBytes = 1 << 20
	DefaultKeep     = 3
)

// Dir is where the log files of the profile at profile live: beside it,
// in "logs", not inside it, because restoring a backup renames the profile
// folder, which Windows refuses while a file in it is open.
func Dir(profile string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(profile)), "logs")
}

// File is an append-only log file that rotates when it would pass
// MaxBytes. It is safe for concurrent use.
type File struct {
	path     string
	maxBytes int64
	keep     int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (creating dir if needed) dir/name for appending.
// maxBytes <= 0 and keep <= 0 take the defaults.
func Open(dir, name string, maxBytes int64, keep int) (*File, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	l := &File{path: filepath.Join(dir, name), maxBytes: maxBytes, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path is the current log file.
func (l *File) Path() string { return l.path }

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first if p would take the file past MaxBytes.
// A line is never split across two files.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate closes the file (Windows renames no open file), shifts
// name.N-1 to name.N down to name -> name.1, dropping the oldest, and
// opens a new one.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	l.f = nil
	os.Remove(l.path + "." + strconv.Itoa(l.keep))
	for i := l.keep - 1; i >= 1; i-- {
		os.Rename(l.path+"."+strconv.Itoa(i), l.path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return l.open()
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
