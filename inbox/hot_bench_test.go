package inbox_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wotmq/wotmq/wire"
)

// BenchmarkHotActionTransition is one action's life in the store as a
// bench round trip makes it: the request stored as delivered (an agent
// online with nothing waiting), then its completion with the output. The
// two status transitions, each a Badger commit, are the store's share of
// an action round trip.
func BenchmarkHotActionTransition(b *testing.B) {
	ctx := context.Background()
	s, _ := mustOpen(b, b.TempDir(), nil)
	in, out := json.RawMessage(`7`), json.RawMessage(`7`)
	b.ReportAllocs()
	for b.Loop() {
		r := newReq("hot-agent", "urn:hot", "echo")
		r.Input = in
		r.Status = wire.StatusDelivered
		if err := s.Add(ctx, r); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Transition(ctx, r.ID, wire.StatusCompleted, out, nil); err != nil {
			b.Fatal(err)
		}
	}
}
