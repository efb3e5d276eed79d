package hub

import (
	"errors"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/exposition"
	"github.com/wotmq/wotmq/wire"
)

// reserve keeps the disk reserve (Limits.MinFreeDisk) of the data
// directory's file system: below it every write that would reach the
// store is refused with storage_full until space returns. Badger cannot
// fail gracefully on a full disk (its logs are memory mapped), so the hub
// stops writing before it is full. Both transports consult it (the MQTT
// guard before a publish is routed, the HTTP binding before it reads a
// write): it is the hub's, which owns the data directory, and each
// transport names what it needs of it (broker.Reserve, httpapi.Reserve).
type reserve struct {
	min       int64 // bytes kept free; 0 or less: no reserve
	dir       string
	freeSpace func(dir string) (uint64, error)
	interval  time.Duration
	log       zerolog.Logger

	full      atomic.Bool
	freeBytes atomic.Uint64
	written   atomic.Int64 // estimated bytes written since the last disk check
}

// Spend accounts for a write of a payload of n bytes against the free
// space found by the last disk check and refuses it (storage_full) when
// the reserve does not allow it. Between checks (a second apart) a hub
// can write tens of megabytes: the estimate keeps it from running through
// its reserve before the next check sees the real figure.
func (r *reserve) Spend(n int) error {
	if r.min > 0 && !r.spend(int64(n)) {
		return wire.Errorf(wire.CodeStorageFull, "the hub's disk is nearly full (under %d bytes free); try again later", r.min)
	}
	return nil
}

func (r *reserve) spend(n int64) bool {
	if r.full.Load() {
		return false
	}
	// What a write costs on disk, roughly: the write-ahead log and the
	// value log or a table, plus keys and headers.
	written := r.written.Add(2*n + 512)
	return int64(r.freeBytes.Load())-written >= r.min
}

// StorageError turns a full disk found by a write into storage_full (and
// refuses writes until the next disk check finds space); other errors
// are returned as they are.
func (r *reserve) StorageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		r.full.Store(true) // until the next disk check finds space
		return wire.Errorf(wire.CodeStorageFull, "the hub's disk is full; try again later")
	}
	return err
}

// Refused reports whether a write would be refused for the disk reserve
// now: the decision of Spend for the smallest write, including what was
// written since the last disk check (/readyz says so).
func (r *reserve) Refused() bool {
	if r.min <= 0 {
		return false
	}
	return r.full.Load() || int64(r.freeBytes.Load())-r.written.Load()-512 < r.min
}

// loop watches the free space until stop closes.
func (r *reserve) loop(stop <-chan struct{}) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.check()
		}
	}
}

// check updates the reserve from the file system's free space.
func (r *reserve) check() {
	if r.min < 0 {
		return
	}
	written := r.written.Load()
	free, err := r.freeSpace(r.dir)
	if err != nil {
		r.log.Debug().Err(err).Msg("cannot read free disk space")
		return
	}
	r.freeBytes.Store(free)
	r.written.Add(-written) // now in the figure
	full := free < uint64(r.min)
	if r.full.Swap(full) != full {
		if full {
			r.log.Error().Uint64("free", free).Int64("min", r.min).Msg("disk nearly full: refusing writes")
		} else {
			r.log.Warn().Uint64("free", free).Msg("disk space back: accepting writes")
		}
	}
}

// writeMetrics writes the reserve's metric families.
func (r *reserve) writeMetrics(e *exposition.Writer) {
	e.One("wotmq_store_free_bytes", "gauge", "Free space of the data directory's file system at the last check.", float64(r.freeBytes.Load()))
	full := 0.0
	if r.full.Load() {
		full = 1
	}
	e.One("wotmq_store_full", "gauge", "1 while writes are refused because the disk is nearly full.", full)
}
