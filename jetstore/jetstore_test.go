package jetstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/natsnode"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

var jetstorePrefixes atomic.Int64

// jetstoreOptions starts an embedded node and returns store options with a
// prefix of the test's own.
func jetstoreOptions(t testing.TB) jetstore.Options {
	t.Helper()
	n, err := natsnode.Start(context.Background(), natsnode.Options{Name: "jetstore-test", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return jetstore.Options{JS: n.JetStream(), Prefix: fmt.Sprintf("J%d", jetstorePrefixes.Add(1))}
}

// waitJetstore polls cond (a watcher's change arrives asynchronously).
func waitJetstore(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// TestJetstoreDirectoryTwoNodes: what one node registers, the other's
// in-memory directory has (its watcher), and ownership is decided by the
// stored record, not by a node's memory.
func TestJetstoreDirectoryTwoNodes(t *testing.T) {
	ctx := context.Background()
	o := jetstoreOptions(t)
	a, err := jetstore.OpenDirectory(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := jetstore.OpenDirectory(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	raw := []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:t:1","title":"T","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n"}`)
	parsed, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(ctx, &directory.Entry{ThingID: "urn:t:1", AgentID: "agent-a", TD: parsed}, raw); err != nil {
		t.Fatal(err)
	}
	waitJetstore(t, "node b sees the Thing", func() bool { e, ok := b.Get("urn:t:1"); return ok && e.AgentID == "agent-a" })
	if len(b.ByAgent("agent-a")) != 1 {
		t.Fatal("node b's ByAgent misses the Thing")
	}
	if _, err := b.Put(ctx, &directory.Entry{ThingID: "urn:t:1", AgentID: "agent-b", TD: parsed}, raw); !errors.Is(err, directory.ErrNotOwner) {
		t.Fatalf("another agent on node b: %v, want ErrNotOwner", err)
	}
	if _, err := b.Delete(ctx, "urn:t:1", "agent-a"); err != nil {
		t.Fatal(err)
	}
	waitJetstore(t, "node a forgets the Thing", func() bool { _, ok := a.Get("urn:t:1"); return !ok })
}

// TestJetstoreInboxTwoNodes: a request submitted on one node is in the
// other node's queue index, and two nodes racing to finish one request
// cannot both succeed.
func TestJetstoreInboxTwoNodes(t *testing.T) {
	ctx := context.Background()
	o := jetstoreOptions(t)
	a, err := jetstore.OpenInbox(ctx, o, inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := jetstore.OpenInbox(ctx, o, inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	heardA, heardB := make(chan string, 64), make(chan string, 64)
	a.OnPending(func(agent string) { heardA <- agent })
	b.OnPending(func(agent string) { heardB <- agent })
	for round := range 20 {
		r := &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: "urn:t:1", Name: "go", Op: wire.OpInvokeAction}, AgentID: "agent-a"}
		if err := a.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		waitJetstore(t, "node b has the request in its queue", func() bool {
			q, _ := b.Queue(ctx, "agent-a")
			return len(q) == 1 && q[0].ID == r.ID
		})
		if got := <-heardB; got != "agent-a" {
			t.Fatalf("node b heard of a pending request of %q", got)
		}
		if _, err := b.Transition(ctx, r.ID, wire.StatusDelivered, nil, nil); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*jetstore.Inbox{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := wire.StatusCompleted
				if i == 1 {
					to = wire.StatusFailed
				}
				_, errs[i] = s.Transition(ctx, r.ID, to, nil, &wire.Error{Code: "x"})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, inbox.ErrFinished):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d nodes finished the request (%v)", round, won, errs)
		}
		waitJetstore(t, "both queues are empty", func() bool { return a.Len() == 0 && b.Len() == 0 })
		if len(heardA) != 0 || len(heardB) != 0 {
			t.Fatalf("round %d: heard of pending requests: a %d (its own), b %d more", round, len(heardA), len(heardB))
		}
		got, err := b.Get(ctx, r.ID)
		if err != nil || !got.Status.Final() || got.Deliveries != 1 {
			t.Fatalf("round %d: stored %+v, %v", round, got, err)
		}
	}
}
