package cluster_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wotmq/wotmq/cluster"
	"github.com/wotmq/wotmq/natsnode"
)

func startClusterNode(t *testing.T) *natsnode.Node {
	t.Helper()
	n, err := natsnode.Start(context.Background(), natsnode.Options{Name: "cluster-test", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func dialClusterNode(t *testing.T, n *natsnode.Node) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestClusterBusCarriesPropertiesInOrder: another node hears every message
// with its MQTT 5 properties, in the order published; the publishing node
// does not hear its own.
func TestClusterBusCarriesPropertiesInOrder(t *testing.T) {
	n := startClusterNode(t)
	a, err := cluster.NewBus(dialClusterNode(t, n), cluster.BusOptions{Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cluster.NewBus(dialClusterNode(t, n), cluster.BusOptions{Node: "b"})
	if err != nil {
		t.Fatal(err)
	}
	atA, atB := make(chan cluster.Message, 2000), make(chan cluster.Message, 2000)
	if err := a.Subscribe(func(m cluster.Message) { atA <- m }); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(func(m cluster.Message) { atB <- m }); err != nil {
		t.Fatal(err)
	}
	full := cluster.Message{Topic: "things/urn:x\nline/events/e", Payload: []byte("{}"), Retain: true, QoS: 1,
		ResponseTopic: "replies/c1/é", CorrelationData: []byte{0, 1, '\n', 255}, ContentType: "application/json",
		Expiry: 60, UserProps: [][2]string{{"status", "pending"}, {"k=v", "a\r\nb"}, {"status", "again"}}}
	if err := a.Publish(full); err != nil {
		t.Fatal(err)
	}
	const n1 = 1000
	for i := range n1 {
		if err := a.Publish(cluster.Message{Topic: "t", Payload: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The sentinel: b's own message comes back to a, after which a has
	// heard nothing of its own.
	if err := b.Publish(cluster.Message{Topic: "from-b"}); err != nil {
		t.Fatal(err)
	}
	got := <-atB
	full.Node = "a"
	if !reflect.DeepEqual(got, full) {
		t.Fatalf("b got %+v\nwant %+v", got, full)
	}
	for i := range n1 {
		m := <-atB
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q: out of order", i, m.Payload)
		}
	}
	select {
	case m := <-atA:
		if m.Topic != "from-b" || m.Node != "b" {
			t.Fatalf("a heard %+v first, want b's message", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a did not hear b")
	}
}

// TestClusterOwnersNewestWins: the newest claim of an agent wins; the node
// that held it hears so, and its late release does not undo the claim.
func TestClusterOwnersNewestWins(t *testing.T) {
	n := startClusterNode(t)
	ctx := context.Background()
	lostA := make(chan cluster.Owner, 4)
	a, err := cluster.OpenOwners(ctx, n.JetStream(), cluster.OwnersOptions{Node: "a", TakenOver: func(agent string, by cluster.Owner) {
		if agent == "agent/1" {
			lostA <- by
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.OpenOwners(ctx, n.JetStream(), cluster.OwnersOptions{Node: "b", TakenOver: func(string, cluster.Owner) {
		t.Error("b lost an agent")
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ea, err := a.Claim(ctx, "agent/1")
	if err != nil || ea != 1 {
		t.Fatalf("a's claim: %d, %v", ea, err)
	}
	// a claims again (a reconnect on the same node): no takeover.
	if ea, err = a.Claim(ctx, "agent/1"); err != nil || ea != 2 {
		t.Fatalf("a's second claim: %d, %v", ea, err)
	}
	eb, err := b.Claim(ctx, "agent/1")
	if err != nil || eb != 3 {
		t.Fatalf("b's claim: %d, %v", eb, err)
	}
	select {
	case by := <-lostA:
		if by.Node != "b" || by.Epoch != 3 {
			t.Fatalf("a lost the agent to %+v", by)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a did not hear that b took the agent")
	}
	if len(lostA) != 0 {
		t.Fatalf("a heard %d more takeovers (its own claims?)", len(lostA))
	}
	if err := a.Release(ctx, "agent/1", ea); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := b.Get(ctx, "agent/1"); err != nil || !ok || o.Node != "b" || o.Epoch != 3 {
		t.Fatalf("after a's late release: %+v, %v, %v", o, ok, err)
	}
	if err := b.Release(ctx, "agent/1", eb); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Get(ctx, "agent/1"); ok {
		t.Fatal("b's release left the owner record")
	}
}
