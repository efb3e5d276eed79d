package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets: values below 2^subBits nanoseconds are exact; above,
// each power of two is split into 2^(subBits-1) buckets, so a recorded
// value is off by at most 1/64 (1.6%).
const (
	subBits    = 7
	subCount   = 1 << subBits
	halfCount  = subCount / 2
	numBuckets = (64-subBits+1)*halfCount + subCount
)

// Histogram records durations in fixed memory with about 1.6% precision.
// Record is safe for concurrent use and does not allocate.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

func bucketOf(v int64) int {
	if v < subCount {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - subBits // >= 1
	return e*halfCount + int(uint64(v)>>e)
}

// bucketValue is the middle of bucket i.
func bucketValue(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	e := i/halfCount - 1
	m := int64(i%halfCount + halfCount)
	lo := m << e
	return lo + (int64(1)<<e)/2
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max is the largest recorded duration (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the duration below which a fraction q (0..1) of the
// recorded durations fall; 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketValue(i)), h.Max())
		}
	}
	return h.Max()
}
