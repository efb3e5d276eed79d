package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wire"
)

// clusterNodeProc is one `wotmq serve --cluster` child process.
type clusterNodeProc struct {
	*clustertest.Proc
	name string
	mqtt string // MQTT address of the current run
	nats string // the node's NATS client URL
}

// started reads the addresses of the current run from its log.
func (n *clusterNodeProc) started(t *testing.T) {
	t.Helper()
	var rec struct {
		MQTT string `json:"mqtt"`
		NATS string `json:"nats"`
	}
	line := n.WaitLine(`"message":"cluster stores open"`, 2*time.Minute)
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	n.nats = rec.NATS
	line = n.WaitLine(`"message":"hub started"`, time.Minute)
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	n.mqtt = rec.MQTT
}

// startClusterNodes starts three nodes on loopback, each with its own
// data directory.
func startClusterNodes(t *testing.T) []*clusterNodeProc {
	t.Helper()
	bin := wotmqBin(t)
	ports := clustertest.FreePorts(t, 3)
	var nodes []*clusterNodeProc
	for i := range 3 {
		var routes []string
		for j := range 3 {
			if j != i {
				routes = append(routes, "nats://"+clustertest.Addr(ports[j]))
			}
		}
		name := fmt.Sprintf("n%d", i)
		args := []string{"serve", "--dev", "--data", t.TempDir(), "--mqtt-addr", "127.0.0.1:0", "--ws-addr", "off",
			"--http-addr", "off", "--metrics-addr", "off", "--mdns=false", "--log-format", "json", "--log-level", "info",
			"--cluster", "evidence", "--node-name", name, "--cluster-listen", clustertest.Addr(ports[i]),
			"--cluster-routes", strings.Join(routes, ",")}
		nodes = append(nodes, &clusterNodeProc{Proc: clustertest.Start(t, name, bin, nil, "", args...), name: name})
	}
	for _, n := range nodes {
		n.started(t)
	}
	return nodes
}

// dialClusterNode connects an MQTT 5 client to a node.
func dialClusterNode(t *testing.T, n *clusterNodeProc, clientID string) *hubtest.Client {
	t.Helper()
	conn, err := net.Dial("tcp", n.mqtt)
	if err != nil {
		t.Fatal(err)
	}
	c := hubtest.NewClient(t, conn, clientID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatalf("%s on %s: %v", clientID, n.name, err)
	}
	return c
}

func evidenceThingTD(i int) []byte {
	var actions []string
	for a := range 50 {
		actions = append(actions, fmt.Sprintf(`"a%d":{"input":{"type":"integer"}}`, a))
	}
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:evidence:` + fmt.Sprint(i) + `","title":"E",` +
		`"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","actions":{` + strings.Join(actions, ",") + `}}`)
}

func userProp(p *paho.Publish, key string) string {
	if p.Properties == nil {
		return ""
	}
	return p.Properties.User.Get(key)
}

// TestClusterEvidence is issue 14's evidence with three `wotmq serve
// --cluster` processes: steps 1 to 4 (see the issue).
func TestClusterEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hubs")
	}
	start := time.Now()
	nodes := startClusterNodes(t)
	t.Logf("three nodes up in %s", time.Since(start).Round(time.Millisecond))

	// The node that leads the request bucket is A: the agent's node too.
	nc, err := nats.Connect(nodes[0].nats + "," + nodes[1].nats + "," + nodes[2].nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	a := -1
	clustertest.WaitFor(t, "the request bucket's leader", func() error {
		s, err := js.Stream(context.Background(), "KV_WOTMQ_REQ")
		if err != nil {
			return err
		}
		si, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		for i, n := range nodes {
			if si.Cluster != nil && si.Cluster.Leader == n.name {
				a = i
				return nil
			}
		}
		return fmt.Errorf("no leader")
	})
	b, c := (a+1)%3, (a+2)%3
	A, B, C := nodes[a], nodes[b], nodes[c]
	t.Logf("A = %s (request leader, agent), B = %s (consumer), C = %s", A.name, B.name, C.name)

	// Step 1: a TD registered on A is retained at all three nodes within 2 s.
	watchers := make([]*hubtest.Client, 3)
	for i, n := range nodes {
		watchers[i] = dialClusterNode(t, n, "watch-"+n.name)
		watchers[i].Sub("things/+/td")
	}
	agent := dialClusterNode(t, A, "agent-l")
	t0 := time.Now()
	for i := range 4 {
		agent.MustPub(fmt.Sprintf("agents/agent-l/things/urn:evidence:%d/td", i), evidenceThingTD(i), nil)
	}
	for i, w := range watchers {
		for th := range 4 {
			w.Next(fmt.Sprintf("things/urn:evidence:%d/td", th))
		}
		t.Logf("step 1: %s has the 4 TDs after %s", nodes[i].name, time.Since(t0).Round(time.Millisecond))
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("step 1: the TDs took %s to reach every node, want 2 s at most", d)
	}
	// A late subscriber on each node gets them retained.
	for _, n := range nodes {
		late := dialClusterNode(t, n, "late-"+n.name)
		late.Sub("things/urn:evidence:3/td")
		if m := late.Next("things/urn:evidence:3/td"); !m.Retain {
			t.Fatalf("step 1: the TD on %s is not retained", n.name)
		}
	}

	// Step 2: the agent is away; a consumer on B sends 200 requests.
	_ = agent.Disconnect(&paho.Disconnect{})
	consumer := dialClusterNode(t, B, "consumer")
	consumer.Sub("replies/consumer/#")
	const total = 200
	for i := range total {
		th, act := i%4, i/4
		code, reason := consumer.Pub(fmt.Sprintf("things/urn:evidence:%d/actions/a%d", th, act), fmt.Appendf(nil, "%d", i),
			&paho.PublishProperties{ResponseTopic: "replies/consumer/r", CorrelationData: fmt.Appendf(nil, "%d", i)})
		if code >= 0x80 {
			t.Fatalf("step 2: request %d refused: 0x%x %s", i, code, reason)
		}
	}
	for i := range total {
		m := consumer.Next("replies/consumer/r")
		if string(m.Properties.CorrelationData) != fmt.Sprint(i) || userProp(m, wire.PropStatus) != string(wire.StatusPending) {
			t.Fatalf("step 2: reply %d is %s %s, want %d pending", i, m.Properties.CorrelationData, userProp(m, wire.PropStatus), i)
		}
	}
	t.Logf("step 2: %d requests acknowledged and answered pending (%s since start)", total, time.Since(start).Round(time.Millisecond))

	// Step 3: kill -9 A.
	A.Kill()
	t.Logf("step 3: killed %s", A.name)

	// Step 4: the agent reconnects to C and gets all 200, in order.
	agent = dialClusterNode(t, C, "agent-l")
	agent.Sub("agents/agent-l/requests")
	seen := map[string]bool{}
	for i := 0; i < total; {
		m := agent.Next("agents/agent-l/requests")
		id := userProp(m, wire.PropActionID)
		if seen[id] {
			if userProp(m, wire.PropRedelivered) == "" {
				t.Fatalf("step 4: request %s again without redelivered", id)
			}
			continue
		}
		seen[id] = true
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("step 4: request %d is %s: out of order", i, m.Payload)
		}
		agent.MustPub(m.Properties.ResponseTopic, nil, &paho.PublishProperties{CorrelationData: m.Properties.CorrelationData,
			User: paho.UserProperties{{Key: wire.PropStatus, Value: string(wire.StatusCompleted)}}})
		i++
	}
	done := map[string]bool{}
	for len(done) < total {
		m := consumer.Next("replies/consumer/r")
		st, corr := userProp(m, wire.PropStatus), string(m.Properties.CorrelationData)
		if st == string(wire.StatusCompleted) {
			if done[corr] {
				t.Fatalf("step 4: outcome of %s twice", corr)
			}
			done[corr] = true
		}
	}
	t.Logf("step 4: the agent on %s got all %d in order; the consumer on %s every outcome once (%s since start)",
		C.name, total, B.name, time.Since(start).Round(time.Millisecond))
}
