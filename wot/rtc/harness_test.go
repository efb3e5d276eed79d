package rtc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// testTimeout bounds every wait of a test.
const testTimeout = 15 * time.Second

// startHub starts a hub (hubtest.Start).
func startHub(tb testing.TB, mod ...func(*hub.Options)) *hub.Hub {
	tb.Helper()
	return hubtest.Start(tb, mod...)
}

// connect connects a client (hubtest.Connect) to the hub.
func connect(tb testing.TB, h *hub.Hub, clientID string, mod ...func(*wot.Options)) *wot.Client {
	tb.Helper()
	return hubtest.Connect(tb, hubtest.URL(h), clientID, mod...)
}

// expose exposes a Thing without affordances.
func expose(tb testing.TB, c *wot.Client, id string) *wot.ExposedThing {
	tb.Helper()
	e, err := c.Produce(wot.NewThing(id, "Sensor").Property("level", td.DataSchema{Type: td.TypeInteger}).TD())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.Expose(ctx); err != nil {
		tb.Fatal(err)
	}
	return e
}

// loopback is the Options of every channel in the tests.
func loopback() Options { return Options{Loopback: true} }

// inbox collects a channel's messages.
type inbox struct {
	mu   sync.Mutex
	msgs [][]byte
	more chan struct{} // signalled on each message
}

func newInbox() *inbox { return &inbox{more: make(chan struct{}, 1)} }

func (in *inbox) add(b []byte) {
	in.mu.Lock()
	in.msgs = append(in.msgs, b)
	in.mu.Unlock()
	select {
	case in.more <- struct{}{}:
	default:
	}
}

// wait returns once n messages have arrived.
func (in *inbox) wait(tb testing.TB, n int) [][]byte {
	tb.Helper()
	deadline := time.After(testTimeout)
	for {
		in.mu.Lock()
		got := in.msgs
		in.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-in.more:
		case <-deadline:
			tb.Fatalf("%d of %d messages arrived", len(got), n)
		}
	}
}

// waitClosed waits for a channel to close.
func waitClosed(tb testing.TB, ch *Channel, who string) {
	tb.Helper()
	select {
	case <-ch.Done():
	case <-time.After(testTimeout):
		tb.Fatalf("%s: channel still open", who)
	}
}

// pair connects two bare pion PeerConnections on loopback, signalled in
// memory, and returns the offerer's DataChannel and the answerer's, both
// open. The answerer gets the offerer's candidates before the offer, so
// that they are held until the remote description (candidates).
func pair(tb testing.TB, init *webrtc.DataChannelInit) (a, b *webrtc.DataChannel) {
	tb.Helper()
	api := webrtc.NewAPI(webrtc.WithSettingEngine(LoopbackSettings()))
	pa, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	pb, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pa.Close(); _ = pb.Close() })
	var iceA, iceB candidates
	gathered := make(chan struct{})
	var mu sync.Mutex
	var toB []*webrtc.ICECandidate
	pa.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(gathered)
			return
		}
		mu.Lock()
		toB = append(toB, c)
		mu.Unlock()
	})
	pb.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			sig, _ := candidateSignal("s", c)
			if err := iceA.add(pa, sig.Candidate); err != nil {
				tb.Error(err)
			}
		}
	})
	openB := make(chan *webrtc.DataChannel, 1)
	pb.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnOpen(func() { openB <- dc })
	})
	a, err = pa.CreateDataChannel("bench", init)
	if err != nil {
		tb.Fatal(err)
	}
	openA := make(chan struct{})
	a.OnOpen(func() { close(openA) })
	offer, err := pa.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pa.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	mu.Lock()
	defer mu.Unlock()
	for _, c := range toB { // before the offer: held
		sig, _ := candidateSignal("s", c)
		if err := iceB.add(pb, sig.Candidate); err != nil {
			tb.Fatal(err)
		}
	}
	if len(iceB.pending) == 0 {
		tb.Fatal("no candidates held before the remote description")
	}
	if err := iceB.setRemote(pb, offer); err != nil {
		tb.Fatal(err)
	}
	answer, err := pb.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pb.SetLocalDescription(answer); err != nil {
		tb.Fatal(err)
	}
	if err := iceA.setRemote(pa, answer); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-openA:
	case <-time.After(testTimeout):
		tb.Fatal("bare pion pair did not open")
	}
	select {
	case b = <-openB:
	case <-time.After(testTimeout):
		tb.Fatal("bare pion pair did not open")
	}
	return a, b
}
