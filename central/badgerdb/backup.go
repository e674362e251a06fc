package badgerdb

import (
	"fmt"
	"io"

	"leconsortium.coop/terrain/central"
)

// Backup writes a consistent copy of the whole database to w, while it
// serves: Badger's own backup stream of the latest version of every key.
// Restore reads it back into an empty directory.
func (d *DB) Backup(w io.Writer) error {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return fmt.Errorf("backup: %w", central.ErrClosed)
	}
	if _, err := d.db.Backup(w, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Load reads a backup written by Backup into the database, which must be
// new (empty) and serve nothing while it loads. The restored data carries
// the epoch it had: rotate it (central.Server.RotateEpoch, `terrain-central
// epoch rotate`) before serving, so that devices fetch everything again and
// push what the backup lacks.
func (d *DB) Load(r io.Reader) error {
	d.life.RLock()
	defer d.life.RUnlock()
	if d.closed {
		return fmt.Errorf("load backup: %w", central.ErrClosed)
	}
	d.writer.Lock()
	defer d.writer.Unlock()
	if err := d.db.Load(r, 256); err != nil {
		return fmt.Errorf("load backup: %w", err)
	}
	return nil
}
