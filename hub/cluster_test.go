package hub_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const clusterLampTD = `{"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:cluster:lamp", "title": "Lamp",
	"securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
	"properties": {"on": {"type": "boolean"}},
	"events": {"overheating": {"data": {"type": "number"}}}}`

// TestClusterOneNodeOnJetStream runs a hub as a cluster of one embedded
// node: the twin works over the JetStream stores, and what it stored is
// there after a restart on the same data directory.
func TestClusterOneNodeOnJetStream(t *testing.T) {
	dir := t.TempDir()
	cluster := func(o *hub.Options) {
		o.DataDir = dir
		o.Dev = true
		o.Cluster = hub.ClusterOptions{Name: "solo", NodeName: "n0", Listen: "127.0.0.1:0"}
	}
	h := hubtest.Start(t, cluster)
	agent := hubtest.Dial(t, h, "lamp-agent")
	agent.MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:cluster:lamp"}.String(), []byte(clusterLampTD), nil)
	app := hubtest.Dial(t, h, "app")
	app.Sub(wot.EventTopic("urn:cluster:lamp", "overheating"))
	agent.MustPub(wot.Topic{Kind: wot.TopicAgentProperty, AgentID: "lamp-agent", ThingID: "urn:cluster:lamp", Name: "on"}.String(), []byte("true"), nil)
	agent.MustPub(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "lamp-agent", ThingID: "urn:cluster:lamp", Name: "overheating"}.String(), []byte("71.5"), nil)
	if m := app.Next(wot.EventTopic("urn:cluster:lamp", "overheating")); string(m.Payload) != "71.5" {
		t.Fatalf("event %s, want 71.5", m.Payload)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream", "jetstream", "$G", "streams", "KV_WOTMQ_LATEST")); err != nil {
		t.Fatalf("the latest values are not in JetStream's files: %v", err)
	}

	h = hubtest.Start(t, cluster)
	c := hubtest.Dial(t, h, "app2")
	c.Sub(wot.TDTopic("urn:cluster:lamp"))
	if m := c.Next(wot.TDTopic("urn:cluster:lamp")); len(m.Payload) == 0 {
		t.Fatal("the twin TD is not retained after a restart")
	}
	c.Sub(wot.PropertyTopic("urn:cluster:lamp", "on"))
	if m := c.Next(wot.PropertyTopic("urn:cluster:lamp", "on")); string(m.Payload) != "true" {
		t.Fatalf("property after a restart: %s, want true", m.Payload)
	}
}

// TestClusterRefusesBadSettings: cluster settings that cannot work stop
// the hub at start, with the reason.
func TestClusterRefusesBadSettings(t *testing.T) {
	for name, c := range map[string]struct {
		dev bool
		o   hub.ClusterOptions
	}{
		"RoutesWithoutCluster": {true, hub.ClusterOptions{Routes: []string{"nats://127.0.0.1:1"}}},
		"NoListenAddress":      {true, hub.ClusterOptions{Name: "c", NodeName: "a"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := hub.New(hub.Options{DataDir: t.TempDir(), Dev: c.dev, Cluster: c.o})
			if err == nil {
				t.Fatal("the hub started")
			}
			t.Log(err)
		})
	}
}

// TestClusterTwoNodesNewestConnectionWins runs two nodes in one process,
// the second joining the first's NATS (--nats-url): a consumer on the
// second gets what an agent publishes on the first (fan-out), and when the
// agent connects to the second node too, its session on the first ends
// with 0x8E (session taken over).
func TestClusterTwoNodesNewestConnectionWins(t *testing.T) {
	h1 := hubtest.Start(t, func(o *hub.Options) {
		o.Dev = true
		o.Cluster = hub.ClusterOptions{Name: "pair", NodeName: "n1", Listen: "127.0.0.1:0"}
	})
	h2 := hubtest.Start(t, func(o *hub.Options) {
		o.Dev = true
		o.Cluster = hub.ClusterOptions{Name: "pair", NodeName: "n2", NATSURLs: []string{h1.NATSURL()}}
	})
	agent := hubtest.Dial(t, h1, "lamp-agent")
	agent.MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:cluster:lamp"}.String(), []byte(clusterLampTD), nil)
	app := hubtest.Dial(t, h2, "app")
	app.Sub(wot.TDTopic("urn:cluster:lamp"), wot.EventTopic("urn:cluster:lamp", "overheating"))
	app.Next(wot.TDTopic("urn:cluster:lamp"))
	agent.MustPub(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "lamp-agent", ThingID: "urn:cluster:lamp", Name: "overheating"}.String(), []byte("71.5"), nil)
	if m := app.Next(wot.EventTopic("urn:cluster:lamp", "overheating")); string(m.Payload) != "71.5" {
		t.Fatalf("event on the other node: %s, want 71.5", m.Payload)
	}

	// A free topic: a client on n1 publishes, a subscriber on n2 gets it
	// with its properties, and a retained one reaches a later subscriber.
	app.Sub("cluster-test/#")
	pub := hubtest.Dial(t, h1, "free-pub")
	pub.MustPub("cluster-test/a", []byte("hello"), &paho.PublishProperties{User: paho.UserProperties{{Key: "k", Value: "v"}}})
	if m := app.Next("cluster-test/a"); string(m.Payload) != "hello" || m.Properties.User.Get("k") != "v" {
		t.Fatalf("free topic on the other node: %q %v", m.Payload, m.Properties.User)
	}

	hubtest.Dial(t, h2, "lamp-agent") // the same agent, now on n2
	d := agent.Ended()
	if d == nil || d.ReasonCode != 0x8E {
		t.Fatalf("the agent's session on n1 ended with %+v, want reason 0x8E", d)
	}
}
