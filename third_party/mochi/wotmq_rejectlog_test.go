package mqtt

import (
	"log/slog"
	"os"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmqPublishHook takes every publish over (ErrRejectPacket), as the
// hub's pipeline does, or lets it pass.
type wotmqPublishHook struct {
	HookBase
	reject bool
}

func (h *wotmqPublishHook) ID() string           { return "wotmq-publish" }
func (h *wotmqPublishHook) Provides(b byte) bool { return b == OnPublish }
func (h *wotmqPublishHook) OnPublish(cl *Client, pk packets.Packet) (packets.Packet, error) {
	if h.reject {
		return pk, errRejectPacket // as the hub does
	}
	return pk, nil
}

// TestWotmqRejectedPublishNoAlloc: a publish a hook takes over
// (ErrRejectPacket) costs no more allocations than one it lets pass when
// debug logging is off; the debug line boxed the whole packet for every
// publish.
func TestWotmqRejectedPublishNoAlloc(t *testing.T) {
	cl, _, _ := newTestClient()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "a/b", Payload: []byte("x")}
	allocs := func(reject bool) float64 {
		h := new(Hooks)
		h.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		if err := h.Add(&wotmqPublishHook{reject: reject}, nil); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(100, func() {
			if _, err := h.OnPublish(cl, pk); (err != nil) != reject {
				t.Fatal(err)
			}
		})
	}
	if rejected, passed := allocs(true), allocs(false); rejected > passed {
		t.Fatalf("%.0f allocations per rejected publish, %.0f per one let pass", rejected, passed)
	}
}
