package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/conformance"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wire"
)

// clusterNodeProc is one `wotmq serve --cluster` child process.
type clusterNodeProc struct {
	*clustertest.Proc
	name string
	mqtt string // MQTT address of the current run
	http string // HTTP address of the current run
	nats string // the node's NATS client URL
}

// started reads the addresses of the current run from its log.
func (n *clusterNodeProc) started(t *testing.T) {
	t.Helper()
	var rec struct {
		MQTT string `json:"mqtt"`
		NATS string `json:"nats"`
		HTTP string `json:"http"`
	}
	line := n.WaitLine(`"message":"http api started"`, 2*time.Minute)
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	n.http = rec.HTTP
	line = n.WaitLine(`"message":"cluster stores open"`, 2*time.Minute)
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
// data directory, requiring credentials (no --dev): each is given the
// same first admin password, and the cluster creates the account once.
func startClusterNodes(t *testing.T) []*clusterNodeProc {
	t.Helper()
	bin := wotmqBin(t)
	pwFile := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(pwFile, []byte(evidenceAdminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
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
		args := []string{"serve", "--admin-password-file", pwFile, "--data", t.TempDir(), "--mqtt-addr", "127.0.0.1:0", "--ws-addr", "off",
			"--http-addr", "127.0.0.1:0", "--explorer=false", "--metrics-addr", "off", "--mdns=false", "--log-format", "json", "--log-level", "info",
			"--cluster", "evidence", "--node-name", name, "--cluster-listen", clustertest.Addr(ports[i]),
			"--cluster-routes", strings.Join(routes, ",")}
		nodes = append(nodes, &clusterNodeProc{Proc: clustertest.Start(t, name, bin, nil, "", args...), name: name})
	}
	// All three together: a node that exits at start fails the test at
	// once, rather than after the others waited for it in vain.
	procs := make([]*clustertest.Proc, len(nodes))
	for i, n := range nodes {
		procs[i] = n.Proc
	}
	clustertest.WaitLineAll(t, procs, `"message":"hub started"`, 3*time.Minute)
	for _, n := range nodes {
		n.started(t)
	}
	return nodes
}

// dialClusterNode connects an MQTT 5 client to a node as account user
// (evidencePassword; the admin's for "admin").
func dialClusterNode(t *testing.T, n *clusterNodeProc, clientID, user string) *hubtest.Client {
	t.Helper()
	conn, err := net.Dial("tcp", n.mqtt)
	if err != nil {
		t.Fatal(err)
	}
	c := hubtest.NewClient(t, conn, clientID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pw := evidencePassword
	if user == "admin" {
		pw = evidenceAdminPassword
	}
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: true, Password: []byte(pw), PasswordFlag: true}); err != nil {
		t.Fatalf("%s (%s) on %s: %v", clientID, user, n.name, err)
	}
	return c
}

func evidenceThingTD(i int) []byte {
	var actions []string
	for a := range 50 {
		actions = append(actions, fmt.Sprintf(`"a%d":{"input":{"type":"integer"}}`, a))
	}
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:evidence:` + fmt.Sprint(i) + `","title":"E",` +
		`"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","actions":{` + strings.Join(actions, ",") + `},` +
		`"properties":{"p":{"type":"integer"}},"events":{"e":{"data":{"type":"integer"}}}}`)
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
	const total = evidenceTotal
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
	evidenceAccounts(t, nodes)

	// Step 1: a TD registered on A is retained at all three nodes within 2 s.
	watchers := make([]*hubtest.Client, 3)
	for i, n := range nodes {
		watchers[i] = dialClusterNode(t, n, "watch-"+n.name, "watcher")
		watchers[i].Sub("things/+/td")
	}
	agent := dialClusterNode(t, A, "agent-l", "agent-l")
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
	// Values and history written on A before the kill (step 5 reads them).
	agent.MustPub("agents/agent-l/things/urn:evidence:0/properties/p", []byte("42"), nil)
	for i := range 20 {
		agent.MustPub("agents/agent-l/things/urn:evidence:0/events/e", fmt.Appendf(nil, "%d", i), nil)
	}
	// A late subscriber on each node gets them retained.
	for _, n := range nodes {
		late := dialClusterNode(t, n, "late-"+n.name, "watcher")
		late.Sub("things/urn:evidence:3/td")
		if m := late.Next("things/urn:evidence:3/td"); !m.Retain {
			t.Fatalf("step 1: the TD on %s is not retained", n.name)
		}
	}

	// The conformance suite passes against a node of the cluster.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := conformance.Run(ctx, conformance.Config{Broker: B.mqtt, AgentID: "conf-agent", AgentPassword: evidencePassword,
		Username: "conf-user", Password: evidencePassword})
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("conformance on %s: %s: %v", B.name, r.Check.ID, r.Err)
		}
	}
	t.Logf("conformance: %d checks run against %s (%s since start)", len(results), B.name, time.Since(start).Round(time.Millisecond))

	// Steps 2 to 4: the agent is away while a consumer on B sends 200
	// requests; A (the request leader and the agent's node) is killed; the
	// agent comes back on C.
	// A Go SDK client on A that knows the other nodes: it must move to one
	// of them when A is killed, and read there what A stored.
	sdk := evidenceSDK(t, A, []*clusterNodeProc{B, C})
	_ = agent.Disconnect(&paho.Disconnect{})
	consumer := dialClusterNode(t, B, "consumer", "consumer")
	consumer.Sub("replies/consumer/#")
	sendEvidenceRequests(t, consumer, 0, true)
	t.Logf("step 2: 200 requests acknowledged and answered pending (%s since start)", time.Since(start).Round(time.Millisecond))
	A.Kill()
	t.Logf("step 3: killed %s", A.name)
	agent = dialClusterNode(t, C, "agent-l", "agent-l")
	agent.Sub("agents/agent-l/requests")
	answerEvidenceRequests(t, agent, consumer, 0)
	// Step 5: what A stored before it was killed is readable on B and C,
	// and an event stream resumes by Last-Event-ID with no gap.
	for _, n := range []*clusterNodeProc{B, C} {
		if v := evidenceGet(t, n, "/things/urn:evidence:0/properties/p"); strings.TrimSpace(v) != "42" {
			t.Fatalf("step 5: property p on %s is %q, want 42", n.name, v)
		}
		var page wire.HistoryPage
		if err := json.Unmarshal([]byte(evidenceGet(t, n, "/things/urn:evidence:0/events/e?limit=100")), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 20 {
			t.Fatalf("step 5: %s has %d events of 20", n.name, len(page.Items))
		}
		for i, it := range page.Items {
			if string(it.Value) != fmt.Sprint(i) {
				t.Fatalf("step 5: event %d on %s is %s", i, n.name, it.Value)
			}
		}
		got := evidenceSSE(t, n, "/things/urn:evidence:0/events/e", page.Items[9].Cursor, 10)
		if want := "[10 11 12 13 14 15 16 17 18 19]"; fmt.Sprint(got) != want {
			t.Fatalf("step 5: the stream on %s resumed with %v, want %s", n.name, got, want)
		}
	}
	sdk.moved(t)
	t.Logf("step 5: property and event history written on %s read on %s and %s; the event stream resumed after the 10th event with no gap; the SDK client of %s moved to another node and read p there", A.name, B.name, C.name, A.name)
	t.Logf("step 4: the agent on %s got all 200 in order; the consumer on %s every outcome once, in order (%s since start)",
		C.name, B.name, time.Since(start).Round(time.Millisecond))

	// Step 6: A restarts on its data directory and catches up; then B,
	// the consumer's node, is killed while 200 more requests go to the
	// agent, online on C, from a consumer on A.
	A.Restart("")
	A.started(t)
	clustertest.WaitFor(t, A.name+"'s replica of the requests is current", func() error {
		s, err := js.Stream(context.Background(), "KV_WOTMQ_REQ")
		if err != nil {
			return err
		}
		si, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if si.Cluster.Leader == A.name {
			return nil
		}
		for _, r := range si.Cluster.Replicas {
			if r.Name == A.name && r.Current && !r.Offline {
				return nil
			}
		}
		return fmt.Errorf("not current")
	})
	t.Logf("step 6: %s restarted and current (%s since start)", A.name, time.Since(start).Round(time.Millisecond))
	consumer2 := dialClusterNode(t, A, "consumer2", "consumer2")
	consumer2.Sub("replies/consumer2/#")
	B.Kill()
	t.Logf("step 6: killed %s", B.name)
	sendEvidenceRequests(t, consumer2, total, false)
	answerEvidenceRequests(t, agent, consumer2, total)
	t.Logf("step 6: with the agent online on %s, 200 more requests from %s all answered in order, each outcome once (%s since start)",
		C.name, A.name, time.Since(start).Round(time.Millisecond))
}

const evidenceTotal = 200

// sendEvidenceRequests sends 200 requests, number first to first+199,
// spread over 4 Things x 50 actions so that none supersedes another; with
// pending, each must be answered pending (the agent is away).
func sendEvidenceRequests(t *testing.T, consumer *hubtest.Client, first int, pending bool) {
	replyTo := "replies/" + consumer.ID + "/r"
	for i := range evidenceTotal {
		n := first + i
		code, reason := consumer.Pub(fmt.Sprintf("things/urn:evidence:%d/actions/a%d", i%4, i/4), fmt.Appendf(nil, "%d", n),
			&paho.PublishProperties{ResponseTopic: replyTo, CorrelationData: fmt.Appendf(nil, "%d", n)})
		if code >= 0x80 {
			t.Errorf("request %d refused: 0x%x %s", n, code, reason)
			return
		}
	}
	if !pending {
		return
	}
	for i := range evidenceTotal {
		m := consumer.Next(replyTo)
		if string(m.Properties.CorrelationData) != fmt.Sprint(first+i) || userProp(m, wire.PropStatus) != string(wire.StatusPending) {
			t.Fatalf("reply %d is %s %s, want %d pending", i, m.Properties.CorrelationData, userProp(m, wire.PropStatus), first+i)
		}
	}
}

// answerEvidenceRequests has the agent take requests first to first+199,
// checks they come in order (a repeat only with redelivered) and
// completes each; the consumer must get each outcome once, in order.
func answerEvidenceRequests(t *testing.T, agent, consumer *hubtest.Client, first int) {
	seen := map[string]bool{}
	for i := 0; i < evidenceTotal; {
		m := agent.Next("agents/agent-l/requests")
		id := userProp(m, wire.PropActionID)
		if seen[id] {
			if userProp(m, wire.PropRedelivered) == "" {
				t.Fatalf("request %s again without redelivered", id)
			}
			continue
		}
		seen[id] = true
		if string(m.Payload) != fmt.Sprint(first+i) {
			t.Fatalf("request %d is %s: out of order", first+i, m.Payload)
		}
		agent.MustPub(m.Properties.ResponseTopic, nil, &paho.PublishProperties{CorrelationData: m.Properties.CorrelationData,
			User: paho.UserProperties{{Key: wire.PropStatus, Value: string(wire.StatusCompleted)}}})
		i++
	}
	replyTo := "replies/" + consumer.ID + "/r"
	for next := first; next < first+evidenceTotal; {
		m := consumer.Next(replyTo)
		if userProp(m, wire.PropStatus) != string(wire.StatusCompleted) {
			continue
		}
		if corr := string(m.Properties.CorrelationData); corr != fmt.Sprint(next) {
			t.Fatalf("outcome of %s, want %d next (each once, in order)", corr, next)
		}
		next++
	}
}

// evidenceGet reads a resource of a node's HTTP binding.
func evidenceGet(t *testing.T, n *clusterNodeProc, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.http+path, nil)
	req.SetBasicAuth("watcher", evidencePassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s on %s: %s %s", path, n.name, resp.Status, b)
	}
	return string(b)
}

// evidenceSSE opens an event stream with Last-Event-ID and returns the
// data of its first n events.
func evidenceSSE(t *testing.T, n *clusterNodeProc, path, lastID string, count int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.http+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", lastID)
	req.SetBasicAuth("watcher", evidencePassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE %s on %s: %s", path, n.name, resp.Status)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for len(out) < count && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
			out = append(out, strings.TrimSpace(d))
		}
	}
	return out
}
