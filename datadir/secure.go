package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrExposed is wrapped by the error Secure returns when it cannot take
// other users' access away.
var ErrExposed = errors.New("datadir: readable by other users")

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// Secure makes each of dirs (the data directory, the backup directory)
// and every directory below it 0700 and every file 0600, creating the
// first one (0700) when it does not exist; others are left alone when they
// do not. Symbolic links are not followed. It returns how many modes it
// changed. When it cannot change one (the hub's user does not own it), it
// returns an error wrapping ErrExposed that says how to fix it.
func Secure(dirs ...string) (changed int, err error) {
	if runtime.GOOS == "windows" {
		return 0, nil // modes mean little there; ACLs are the operator's
	}
	for i, dir := range dirs {
		if dir == "" {
			continue
		}
		if i == 0 {
			if err := os.MkdirAll(dir, dirMode); err != nil {
				return changed, fmt.Errorf("datadir: %w", err)
			}
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			// A file that went between the listing and the look (Badger
			// deletes a replayed memtable or a compacted table while the hub
			// runs) has no mode to tighten.
			if errors.Is(err, fs.ErrNotExist) {
				if path == dir {
					return fs.SkipAll
				}
				return nil
			}
			if err != nil {
				return err
			}
			want := fileMode
			switch {
			case d.IsDir():
				want = dirMode
			case !d.Type().IsRegular():
				return nil // a symbolic link, socket: not ours to change
			}
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if info.Mode().Perm()&0o077 == 0 {
				return nil
			}
			if err := os.Chmod(path, info.Mode().Perm()&want); errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%w: %s has mode %04o and the hub cannot change it (%v); "+
					"run `chmod -R go-rwx %s` as its owner, or give it to the user the hub runs as",
					ErrExposed, path, info.Mode().Perm(), err, dir)
			}
			changed++
			return nil
		})
		if err != nil {
			if errors.Is(err, ErrExposed) {
				return changed, err
			}
			return changed, fmt.Errorf("datadir: %w", err)
		}
	}
	return changed, nil
}
