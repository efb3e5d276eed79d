package hub_test

import (
	"testing"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

// TestRequestWindowOwnSetting: the delivery window of requests is its own
// setting (--request-window), no longer half of the client queue, whose
// default is far larger now: with a window of 3 and the default queue,
// three requests are delivered and the next ones wait as pending until an
// answer frees a slot.
func TestRequestWindowOwnSetting(t *testing.T) {
	x := newHeater(t, func(o *hub.Options) { o.Limits.RequestWindow = 3 })
	x.listen()
	var corrs []string
	for range 5 {
		corr, rc, reason := x.invoke("ping", "")
		if rc != 0 {
			t.Fatalf("PUBACK %#x %q", rc, reason)
		}
		corrs = append(corrs, corr)
	}
	for i, corr := range corrs {
		want := wot.StatusDelivered
		if i >= 3 {
			want = wot.StatusPending
		}
		x.expect(corr, want, "")
	}
	first := x.nextRequest()
	x.agent.answer(first, wot.StatusCompleted, []byte(`"pong"`))
	x.expect(corrs[0], wot.StatusCompleted, "")
	x.expect(corrs[3], wot.StatusDelivered, "")
}
