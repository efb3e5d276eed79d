package datadir

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// ErrDamaged is wrapped by every Damage error.
var ErrDamaged = errors.New("datadir: store damaged")

// Damage says which file of a store is damaged and how. Check returns it
// before anything was changed.
type Damage struct {
	Dir     string // the data directory
	File    string // base name of the damaged file
	Problem string // what is wrong with it, and what Badger would do
}

func (d *Damage) Error() string {
	return fmt.Sprintf("datadir: store in %s is damaged: %s: %s. The hub changed nothing and will not start on it: "+
		"restore the last backup into a new directory (wotmq restore --data NEW BACKUP) and start the hub there, "+
		"keeping this directory for inspection (docs/operations.md, \"Damaged store\")", d.Dir, d.File, d.Problem)
}

func (d *Damage) Unwrap() error { return ErrDamaged }

const (
	manifestName = "MANIFEST"
	memExt       = ".mem"
	vlogExt      = ".vlog"
	sstExt       = ".sst"
)

// Check reads the Badger store in dir and returns a *Damage error when
// opening it would lose data silently or crash: a missing or unreadable
// MANIFEST beside data files, a table file the MANIFEST lists that is
// missing or fails its checksums, and a write-ahead log (.mem, and the
// newest .vlog) with readable records after an unreadable one. A directory
// that does not exist or holds no store is fine. Check only reads.
func Check(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("datadir: %w", err)
	}
	var data, mems, vlogs []string
	hasManifest := false
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == manifestName:
			hasManifest = true
		case strings.HasSuffix(name, memExt):
			mems = append(mems, name)
			data = append(data, name)
		case strings.HasSuffix(name, vlogExt):
			vlogs = append(vlogs, name)
			data = append(data, name)
		case strings.HasSuffix(name, sstExt):
			data = append(data, name)
		}
	}
	damaged := func(file, format string, a ...any) error {
		return &Damage{Dir: dir, File: file, Problem: fmt.Sprintf(format, a...)}
	}
	if !hasManifest {
		if len(data) > 0 {
			return damaged(manifestName, "missing, while %d data files remain (%s); Badger would start an empty store and delete them",
				len(data), strings.Join(head(data, 5), ", "))
		}
		return nil
	}
	mf, err := readManifest(filepath.Join(dir, manifestName))
	if err != nil {
		return damaged(manifestName, "%v", err)
	}
	for id, tm := range mf.Tables {
		name := table.IDToFilename(id)
		if err := checkTable(filepath.Join(dir, name), tm); err != nil {
			return damaged(name, "%v", err)
		}
	}
	slices.Sort(mems)
	for _, name := range mems {
		if err := checkLog(filepath.Join(dir, name)); err != nil {
			return damaged(name, "%v", err)
		}
	}
	// Badger reads only the newest value log at start; older ones are
	// read value by value, through pointers, and never truncated.
	if len(vlogs) > 0 {
		name := slices.MaxFunc(vlogs, func(a, b string) int { return cmp.Compare(fileID(a), fileID(b)) })
		if err := checkLog(filepath.Join(dir, name)); err != nil {
			return damaged(name, "%v", err)
		}
	}
	return nil
}

// fileID is the number a Badger file is named by (000042.vlog: 42).
func fileID(name string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(name, filepath.Ext(name)), 10, 64)
	return n
}

func head(s []string, n int) []string { return s[:min(len(s), n)] }

// readManifest replays the MANIFEST as Badger would, but refuses a torn
// or unreadable record instead of truncating the file there.
func readManifest(path string) (badger.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return badger.Manifest{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return badger.Manifest{}, err
	}
	mf, end, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(""))
	if err != nil {
		return mf, fmt.Errorf("unreadable (%v)", err)
	}
	if end < st.Size() {
		return mf, fmt.Errorf("unreadable after byte %d of %d; Badger would cut it there and forget the tables recorded after it", end, st.Size())
	}
	return mf, nil
}

// checkTable opens a table file read-only and verifies its index and the
// checksum of every block. Badger panics on some damage (a truncated file)
// in a goroutine of its own; here the panic is on ours and becomes an error.
func checkTable(path string, tm badger.TableManifest) (err error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("missing, though the MANIFEST lists it")
		}
		return err
	}
	if st.Size() < 8 {
		return fmt.Errorf("truncated to %d bytes", st.Size())
	}
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable (%v; truncated or overwritten)", firstLine(r))
		}
		_ = mf.Close(-1) // -1: never truncate; OpenTable may have closed it already
	}()
	t, err := table.OpenTable(mf, table.Options{
		ReadOnly:           true,
		ChkMode:            options.OnTableRead,
		Compression:        tm.Compression,
		BlockSize:          4 << 10, // OpenTable wants one for compressed tables; reading does not use it
		BloomFalsePositive: 0.01,
	})
	if err != nil {
		return fmt.Errorf("unreadable: fails its checksums (%v)", err)
	}
	_ = t // closed with mf above: t.DecrRef would delete the file
	return nil
}

// firstLine is the first line of a panic's message that says something.
func firstLine(r any) string {
	for _, l := range strings.Split(fmt.Sprint(r), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "panic"
}
