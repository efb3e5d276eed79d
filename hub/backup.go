package hub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

var backupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Backup writes a full backup of the store, taken from a consistent
// snapshot while the hub serves, to name in the backup directory (a name
// made of the time when empty). The file appears only once complete.
func (h *Hub) Backup(ctx context.Context, name string) (*twin.BackupReply, error) {
	start := time.Now()
	if name == "" {
		name = "wotmq-" + h.opts.Now().UTC().Format("20060102T150405.000Z") + ".backup"
	}
	if !backupName.MatchString(name) {
		return nil, wot.Errorf(wot.CodeInvalidPayload, "backup file name %q: letters, digits, '.', '_' and '-' only, not starting with '.'", name)
	}
	dir := h.opts.BackupDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, h.reserve.StorageError(fmt.Errorf("hub: backup directory: %w", err))
	}
	path := filepath.Join(dir, name)
	if _, err := os.Lstat(path); err == nil {
		return nil, wot.Errorf(wot.CodeInvalidPayload, "backup %s exists already", name)
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return nil, h.reserve.StorageError(fmt.Errorf("hub: backup: %w", err))
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing left to remove
	bw := bufio.NewWriterSize(f, 1<<20)
	version, err := h.db.Backup(bw, 0)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return nil, h.reserve.StorageError(fmt.Errorf("hub: backup: %w", err))
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename survives a crash
		d.Close()
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	h.log.Info().Str("file", path).Int64("bytes", st.Size()).Dur("took", took).Msg("backup written")
	return &twin.BackupReply{File: path, Bytes: st.Size(), Version: version, Took: took.Round(time.Millisecond).String()}, nil
}

// ErrNotEmpty is returned by Restore for a data directory that holds data.
var ErrNotEmpty = errors.New("hub: data directory is not empty")

// Restore loads a backup written by Backup into dataDir, which must not
// hold a store yet (it may hold a backups directory). No hub may run on
// dataDir meanwhile; start one on it afterwards.
func Restore(dataDir string, r io.Reader, log *zerolog.Logger) error {
	l := zerolog.Nop()
	if log != nil {
		l = *log
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("hub: restore: %w", err)
	}
	for _, e := range entries {
		if e.Name() != "backups" {
			return fmt.Errorf("%w: %s holds %s; restore into a new directory", ErrNotEmpty, dataDir, e.Name())
		}
	}
	db, err := openStore(dataDir, true, DefaultMemTableSize, l)
	if err != nil {
		return fmt.Errorf("hub: restore: open %s: %w", dataDir, err)
	}
	if err := db.Load(bufio.NewReaderSize(r, 1<<20), 256); err != nil {
		db.Close()
		return fmt.Errorf("hub: restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("hub: restore: close: %w", err)
	}
	return nil
}
