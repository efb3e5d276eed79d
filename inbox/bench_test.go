package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wotmq/wotmq/wire"
)

// BenchmarkRequestLifecycle stores a request, delivers it and completes it:
// the three writes of an action round trip, from concurrent agents.
func BenchmarkRequestLifecycle(b *testing.B) {
	for _, par := range []int{1, 8} {
		b.Run(fmt.Sprintf("agents=%dxCPU", par), func(b *testing.B) {
			ctx := context.Background()
			s, _ := mustOpen(b, b.TempDir(), nil)
			in, out := json.RawMessage(`{"to":30}`), json.RawMessage(`30`)
			b.SetParallelism(par)
			b.ReportAllocs()
			var agents atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				agent := fmt.Sprint("agent-", agents.Add(1))
				for pb.Next() {
					r := newReq(agent, "urn:t:"+agent, "fade")
					r.Input = in
					if err := s.Add(ctx, r); err != nil {
						b.Fatal(err)
					}
					if _, err := s.Transition(ctx, r.ID, wire.StatusDelivered, nil, nil); err != nil {
						b.Fatal(err)
					}
					if _, err := s.Transition(ctx, r.ID, wire.StatusCompleted, out, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
