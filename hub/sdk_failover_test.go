package hub_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// What the Go SDK does when its hub ends the connection for good: a token
// that was revoked (or expired) is replaced from Options.TokenSource, and a
// hub that went away is replaced by the next of Options.URLs (a cluster's
// other nodes, docs/cluster.md).

// TestSDKTokenSourceAfterRevocation: the hub ends a connection whose token
// was revoked (0x98) and refuses that token from then on; a client with a
// TokenSource comes back with a fresh token and works as before.
func TestSDKTokenSourceAfterRevocation(t *testing.T) {
	h, _ := secureHub(t)
	var (
		mu     sync.Mutex
		issued []string
	)
	source := func(context.Context) (string, error) {
		tok := tokIssue(t, h, "r-operator", time.Hour)
		mu.Lock()
		issued = append(issued, tok)
		mu.Unlock()
		return tok, nil
	}
	var ups atomic.Int32
	c := hubtest.Connect(t, hubtest.URL(h), "sdk-tok", func(o *wot.Options) {
		o.TokenSource = source
		o.OnConnect = func() { ups.Add(1) }
	})
	if got := c.AgentID(); got != "r-operator" {
		t.Fatalf("the client takes itself for %q, want the token's subject r-operator", got)
	}
	hubtest.WaitFor(t, "the first connection up", func() bool { return ups.Load() == 1 })
	mu.Lock()
	first := issued[0]
	mu.Unlock()
	if err := h.Accounts().RevokeToken(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "the client connected again with a fresh token", func() bool { return ups.Load() >= 2 })
	mu.Lock()
	n := len(issued)
	mu.Unlock()
	if n < 2 {
		t.Fatalf("the token source was asked %d times, want a fresh token for the reconnection", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	if _, err := c.Things(ctx); err != nil {
		t.Fatalf("reading the directory after the reconnection: %v", err)
	}
}

// TestSDKMovesToTheNextURL: when its hub goes away the client connects to
// the next URL, and its subscriptions are made again there.
func TestSDKMovesToTheNextURL(t *testing.T) {
	first := hubtest.Start(t)
	second := hubtest.Start(t)
	var ups atomic.Int32
	c := hubtest.Connect(t, hubtest.URL(first), "sdk-urls", func(o *wot.Options) {
		o.URLs = []string{hubtest.URL(second)}
		o.OnConnect = func() { ups.Add(1) }
	})
	hubtest.WaitFor(t, "connected to the first hub", func() bool { return ups.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	sdkExpose(t, ctx, first, "sdk-urls-agent1")
	thing, err := c.Thing(ctx, "urn:sdk:moved")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	if _, err := thing.SubscribeEvent(ctx, "e", func(m wot.Message) {
		select {
		case got <- string(m.Payload):
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "connected to the second hub", func() bool { return ups.Load() == 2 })
	exposed := sdkExpose(t, ctx, second, "sdk-urls-agent2")
	hubtest.WaitFor(t, "the event through the second hub", func() bool {
		if err := exposed.PublishEvent(ctx, "e", 7); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			return p == "7"
		default:
			return false
		}
	})
}

// sdkExpose has a new agent of h expose the Thing urn:sdk:moved with an
// event e.
func sdkExpose(t *testing.T, ctx context.Context, h *hub.Hub, agentID string) *wot.ExposedThing {
	t.Helper()
	agent := hubtest.Connect(t, hubtest.URL(h), agentID)
	exposed, err := agent.Produce(wot.NewThing("urn:sdk:moved", "moved").Event("e", nil).TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := exposed.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	return exposed
}
