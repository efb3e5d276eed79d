package outbox_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// openHotBenchDB opens Badger in tb.TempDir() with the options of a hub's
// store (hub/backup.go, storeOptions): values from 1 KiB on go to the value
// log, as they do in the hub.
func openHotBenchDB(tb testing.TB) *badger.DB {
	tb.Helper()
	db, err := badger.Open(badger.DefaultOptions(tb.TempDir()).WithLogger(nil).WithMemTableSize(16 << 20).
		WithNumMemtables(3).WithValueLogFileSize(64 << 20).WithBlockCacheSize(32 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkHotAppend appends events of make bench's sizes (64 B and 1
// KiB) with the default retention, from 4 agents at once per CPU (their
// Things apart): the hub's store work for every event.
func BenchmarkHotAppend(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			ctx := context.Background()
			s := outbox.New(openHotBenchDB(b), outbox.Options{})
			val := []byte(`{"seq":1,"ts":2,"m":1,"pad":"` + strings.Repeat("x", max(size-30, 0)) + `"}`)
			b.SetBytes(int64(len(val)))
			b.SetParallelism(4)
			b.ReportAllocs()
			var agents atomicCounter
			b.RunParallel(func(pb *testing.PB) {
				thing := "urn:hot:" + strconv.Itoa(agents.next())
				for pb.Next() {
					if _, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: thing, Name: "tick", Value: val, Sender: "agent"}, outbox.RetainDefault); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// atomicCounter hands out 1, 2, 3, ... to concurrent callers.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1)) }
