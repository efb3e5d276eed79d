package jetstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/natsnode"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

var groupCommitPrefixes atomic.Int64

// groupCommitOptions starts an embedded NATS node for one test.
func groupCommitOptions(t *testing.T) Options {
	t.Helper()
	n, err := natsnode.Start(context.Background(), natsnode.Options{Name: "groupcommit-test", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return Options{JS: n.JetStream(), Prefix: fmt.Sprintf("G%d", groupCommitPrefixes.Add(1))}
}

// groupCommitWriteAsOtherNode moves a stored request to another status
// as another node would: straight in REQ, unseen by this node's watcher.
func groupCommitWriteAsOtherNode(t *testing.T, s *Inbox, id string, to wire.Status) {
	t.Helper()
	ctx := context.Background()
	e, err := s.req.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var r inbox.Request
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		t.Fatal(err)
	}
	r.Status = to
	if to == wire.StatusDelivered {
		r.Deliveries++
	}
	b, _ := json.Marshal(&r)
	if _, err := s.req.Update(ctx, id, b, e.Revision()); err != nil {
		t.Fatal(err)
	}
}

// TestJetstoreTransitionFromStaleCopy: a transition starts from this
// node's watched copy without reading REQ; when another node moved the
// request meanwhile (the copy is stale) it still ends as the stored record
// allows: a transition the stale copy does not allow is checked against
// the stored record, and a compare-and-set on the stale revision is made
// again on the record read.
func TestJetstoreTransitionFromStaleCopy(t *testing.T) {
	ctx := context.Background()
	s, err := OpenInbox(ctx, groupCommitOptions(t), inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// This node hears no more of REQ: every other node's write is unseen.
	s.w.Stop()
	<-s.stopped

	r := &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: "urn:t:s", Name: "a", Op: wire.OpInvokeAction}, AgentID: "agent-s"}
	if err := s.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	t.Run("NotAllowedFromTheCopyButFromTheRecord", func(t *testing.T) {
		groupCommitWriteAsOtherNode(t, s, r.ID, wire.StatusDelivered) // the copy still says pending
		got, err := s.Transition(ctx, r.ID, wire.StatusRunning, nil, nil)
		if err != nil {
			t.Fatalf("pending (copy) / delivered (stored) -> running: %v", err)
		}
		if got.Status != wire.StatusRunning || got.Deliveries != 1 {
			t.Fatalf("got %s after %d deliveries, want running after 1", got.Status, got.Deliveries)
		}
	})
	t.Run("StaleRevisionIsReadAgain", func(t *testing.T) {
		groupCommitWriteAsOtherNode(t, s, r.ID, wire.StatusWaiting) // the copy says running at an older revision
		got, err := s.Transition(ctx, r.ID, wire.StatusCompleted, json.RawMessage(`7`), nil)
		if err != nil {
			t.Fatalf("running (copy) / waiting (stored) -> completed: %v", err)
		}
		if got.Status != wire.StatusCompleted || string(got.Output) != "7" {
			t.Fatalf("got %s %s, want completed 7", got.Status, got.Output)
		}
		stored, err := s.Get(ctx, r.ID)
		if err != nil || stored.Status != wire.StatusCompleted {
			t.Fatalf("stored: %+v, %v", stored, err)
		}
	})
}

// TestJetstoreLatestRedoKeepsNewer: a latest value written again after its
// first write failed does not replace a later record's value stored
// meanwhile, and does replace an older one.
func TestJetstoreLatestRedoKeepsNewer(t *testing.T) {
	ctx := context.Background()
	b, err := OpenOutbox(ctx, groupCommitOptions(t), OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(v string) outbox.Record {
		return outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:l", Name: "p", Value: []byte(v)}
	}
	first, err := b.Append(ctx, rec("1"), outbox.RetainDefault)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, rec("2"), outbox.RetainDefault); err != nil {
		t.Fatal(err)
	}
	key := latestKey("urn:t:l", wire.KindProperty, "p")
	old, _ := json.Marshal(histRecord{Kind: wire.KindProperty, Name: "p", Time: first.Time.UnixNano(), Value: []byte("1")})
	if err := b.putLatestIfNewer(ctx, key, first.Time.UnixNano(), old); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := b.Latest(ctx, "urn:t:l", wire.KindProperty, "p"); string(got.Value) != "2" {
		t.Fatalf("latest %s after the older record's redo, want 2", got.Value)
	}
	ts := b.stamp()
	newer, _ := json.Marshal(histRecord{Kind: wire.KindProperty, Name: "p", Time: ts, Value: []byte("3")})
	if err := b.putLatestIfNewer(ctx, key, ts, newer); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := b.Latest(ctx, "urn:t:l", wire.KindProperty, "p"); string(got.Value) != "3" {
		t.Fatalf("latest %s after a newer record's redo, want 3", got.Value)
	}
}
