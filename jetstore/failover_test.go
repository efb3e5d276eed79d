package jetstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

func TestMain(m *testing.M) {
	clustertest.RunNATSChildIfAsked()
	os.Exit(m.Run())
}

// TestJetstoreKillLeaderLosesNothingAcknowledged runs the stores with
// three replicas on three NATS processes, kills the leader of the request
// bucket with SIGKILL while requests and history are being written, and
// checks that a node opening the stores afterwards has every request and
// record that was acknowledged, in order.
func TestJetstoreKillLeaderLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	tr := clustertest.StartNATSTrio(t)
	nc, err := nats.Connect(tr.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o := jetstore.Options{JS: js, Replicas: 3}
	var in *jetstore.Inbox
	clustertest.WaitFor(t, "open the inbox (R3)", func() (err error) { in, err = jetstore.OpenInbox(ctx, o, inbox.Options{}); return err })
	defer in.Close()
	var hist *jetstore.Outbox
	clustertest.WaitFor(t, "open the outbox (R3)", func() (err error) { hist, err = jetstore.OpenOutbox(ctx, o, jetstore.OutboxOptions{}); return err })

	leader := func() (int, error) {
		s, err := js.Stream(ctx, "KV_WOTMQ_REQ")
		if err != nil {
			return -1, err
		}
		si, err := s.Info(ctx)
		if err != nil {
			return -1, err
		}
		if si.Cluster == nil || si.Cluster.Leader == "" {
			return -1, fmt.Errorf("no leader")
		}
		var n int
		_, err = fmt.Sscanf(si.Cluster.Leader, "n%d", &n)
		return n, err
	}
	const total = 300
	var acked []string // request IDs, in the order acknowledged
	var events int
	killed := -1
	start := time.Now()
	for i := range total {
		if i == total/2 {
			clustertest.WaitFor(t, "find the request bucket's leader", func() (err error) { killed, err = leader(); return err })
			tr.Procs[killed].Kill()
			t.Logf("killed n%d, the request bucket's leader, after %d requests", killed, i)
		}
		r := &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: fmt.Sprintf("urn:t:%d", i%4), Name: fmt.Sprintf("a%d", i%50),
			Op: wire.OpInvokeAction}, AgentID: "agent-l"}
		// A call that fails was not acknowledged: the caller (the hub)
		// would refuse the publish and the client send it again.
		for {
			c, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := in.Add(c, r)
			cancel()
			if err == nil {
				break
			}
		}
		acked = append(acked, r.ID)
		for {
			c, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, err := hist.Append(c, outbox.Record{Kind: wire.KindEvent, ThingID: "urn:t:h", Name: "e", Value: fmt.Appendf(nil, "%d", i)}, outbox.RetainDefault)
			cancel()
			if err == nil {
				break
			}
		}
		events++
	}
	t.Logf("%d requests and %d events acknowledged in %s", len(acked), events, time.Since(start).Round(time.Millisecond))

	// Another node opens the stores now: everything acknowledged is there.
	var in2 *jetstore.Inbox
	clustertest.WaitFor(t, "open the inbox again", func() (err error) { in2, err = jetstore.OpenInbox(ctx, o, inbox.Options{}); return err })
	defer in2.Close()
	// Reads during the election may find no leader to answer (no
	// responders): this test's stores have no Retry, so it reads again.
	var q []inbox.Entry
	clustertest.WaitFor(t, "read the queue", func() (err error) { q, err = in2.Queue(ctx, "agent-l"); return err })
	have := map[string]bool{}
	for _, e := range q {
		have[e.ID] = true
	}
	for i, id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged request %d (%s) is missing; the queue has %d", i, id, len(q))
		}
	}
	// In the order acknowledged (the queue may also hold a request whose
	// acknowledgement was lost with the node: stored, never acknowledged).
	pos := 0
	for _, e := range q {
		if pos < len(acked) && e.ID == acked[pos] {
			pos++
		}
	}
	if pos != len(acked) {
		t.Fatalf("the queue is not in the order acknowledged (%d of %d in order)", pos, len(acked))
	}
	var page wire.HistoryPage
	clustertest.WaitFor(t, "read the history", func() (err error) {
		page, err = hist.History(ctx, "urn:t:h", outbox.Filter{}, wire.HistoryQuery{Limit: outbox.MaxPageSize})
		return err
	})
	seen := map[string]bool{}
	for _, it := range page.Items {
		seen[string(it.Value)] = true
	}
	for i := range events {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("acknowledged event %d is missing from the history (%d items)", i, len(page.Items))
		}
	}
	t.Logf("after the kill: %d queued requests (%d acknowledged), %d history records", len(q), len(acked), len(page.Items))

	t0 := time.Now()
	tr.Restart(killed)
	clustertest.WaitFor(t, "the restarted node's replica is current", func() error {
		s, err := js.Stream(ctx, "KV_WOTMQ_REQ")
		if err != nil {
			return err
		}
		si, err := s.Info(ctx)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("n%d", killed)
		if si.Cluster.Leader == name {
			return nil
		}
		for _, r := range si.Cluster.Replicas {
			if r.Name == name && r.Current && !r.Offline {
				return nil
			}
		}
		return fmt.Errorf("n%d not current", killed)
	})
	t.Logf("restarted node current after %s", time.Since(t0).Round(time.Millisecond))
}
