package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	"github.com/nats-io/nats.go"

	"github.com/wotmq/wotmq/cluster"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// retainedOn returns what a new subscriber on h gets as topic's retained
// message: "" when none. The subscriber publishes a marker (not retained)
// on the topic after its SUBSCRIBE: the broker handles a connection's
// packets in order, so a retained message, if any, comes before it.
func retainedOn(t *testing.T, h *hub.Hub, topic string, n *int) string {
	t.Helper()
	*n++
	c := hubtest.Dial(t, h, fmt.Sprintf("retained-probe-%d", *n))
	defer c.Client.Disconnect(&paho.Disconnect{})
	c.Sub(topic)
	marker := fmt.Sprintf("marker-%d", *n)
	if _, err := c.Publish(context.Background(), &paho.Publish{Topic: topic, Payload: []byte(marker), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	for {
		m := c.Next(topic)
		if string(m.Payload) == marker {
			return ""
		}
		if !m.Retain && strings.HasPrefix(string(m.Payload), "marker-") {
			// An earlier probe's marker, published on another node, that
			// the fan-out bus brought here after this SUBSCRIBE.
			continue
		}
		if !m.Retain {
			t.Fatalf("%s: first message %q is not retained", topic, m.Payload)
		}
		return string(m.Payload)
	}
}

// TestClusterRetainedFreeTopics: a free topic's retained message is kept
// for the cluster: a node that was down while it was retained has it when
// it comes back, and a clear on another node reaches every node.
func TestClusterRetainedFreeTopics(t *testing.T) {
	a := hubtest.Start(t, func(o *hub.Options) {
		o.Dev = true
		o.Cluster = hub.ClusterOptions{Name: "ret", NodeName: "a", Listen: "127.0.0.1:0"}
	})
	join := func(name, dir string) func(o *hub.Options) {
		return func(o *hub.Options) {
			o.Dev = true
			if dir != "" {
				o.DataDir = dir
			}
			o.Cluster = hub.ClusterOptions{Name: "ret", NodeName: name, NATSURLs: []string{a.NATSURL()}}
		}
	}
	b := hubtest.Start(t, join("b", ""))
	cDir := t.TempDir()
	c := hubtest.Start(t, join("c", cDir))
	if err := c.Close(); err != nil { // C is down while the message is retained
		t.Fatal(err)
	}

	pub := hubtest.Dial(t, a, "site-pub")
	if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: "site/gate", Payload: []byte("open"), QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	n := 0
	if got := retainedOn(t, b, "site/gate", &n); got != "open" {
		t.Fatalf("on b: %q, want open", got)
	}
	c = hubtest.Start(t, join("c", cDir))
	if got := retainedOn(t, c, "site/gate", &n); got != "open" {
		t.Fatalf("on c, back after being down: %q, want open", got)
	}

	// A clear (an empty retained message) on b reaches a and c.
	clr := hubtest.Dial(t, b, "site-clear")
	if _, err := clr.Publish(context.Background(), &paho.Publish{Topic: "site/gate", QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]*hub.Hub{"a": a, "b": b, "c": c} {
		hubtest.WaitFor(t, "the clear on "+name, func() bool { return retainedOn(t, h, "site/gate", &n) == "" })
	}
}

// TestClusterRetainedBucketOrderWins: a retained message from the fan-out
// bus that is older than the bucket's (two nodes changed one topic at once
// and the bus delivered them the other way round) does not stay: the node
// keeps the bucket's newest.
func TestClusterRetainedBucketOrderWins(t *testing.T) {
	a := hubtest.Start(t, func(o *hub.Options) {
		o.Dev = true
		o.Cluster = hub.ClusterOptions{Name: "order", NodeName: "a", Listen: "127.0.0.1:0"}
	})
	b := hubtest.Start(t, func(o *hub.Options) {
		o.Dev = true
		o.Cluster = hub.ClusterOptions{Name: "order", NodeName: "b", NATSURLs: []string{a.NATSURL()}}
	})
	pub := hubtest.Dial(t, a, "site-pub")
	if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: "site/lock", Payload: []byte("fresh"), QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	n := 0
	hubtest.WaitFor(t, "fresh on b", func() bool { return retainedOn(t, b, "site/lock", &n) == "fresh" })

	// A late bus copy of an older change, then a marker after it: the bus
	// keeps one publisher's order, and b handles its messages in turn.
	nc, err := nats.Connect(a.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	bus, err := cluster.NewBus(nc, cluster.BusOptions{Node: "late"})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	watch := hubtest.Dial(t, b, "marker-watch")
	watch.Sub("site/marker")
	for _, m := range []cluster.Message{{Topic: "site/lock", Payload: []byte("stale"), Retain: true, QoS: 1}, {Topic: "site/marker", Payload: []byte("m"), QoS: 1}} {
		if err := bus.Publish(m); err != nil {
			t.Fatal(err)
		}
	}
	watch.Next("site/marker")
	if got := retainedOn(t, b, "site/lock", &n); got != "fresh" {
		t.Fatalf("after a stale bus copy, b holds %q, want the bucket's fresh", got)
	}
}
