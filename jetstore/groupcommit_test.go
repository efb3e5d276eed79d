package jetstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// TestJetstoreAppendLaterInOrder: records appended one after the other,
// their writes in flight together and awaited in order, are in the
// history in that order, and the latest value is the last one's.
func TestJetstoreAppendLaterInOrder(t *testing.T) {
	ctx := context.Background()
	b, err := jetstore.OpenOutbox(ctx, jetstoreOptions(t), jetstore.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	waits := make([]func() (outbox.Record, error), n)
	for i := range n {
		waits[i] = b.AppendLater(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:o", Name: "p",
			Value: fmt.Appendf(nil, "%d", i)}, outbox.RetainDefault)
	}
	var last time.Time
	for i, w := range waits {
		r, err := w()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !r.Time.After(last) {
			t.Fatalf("record %d stamped %s, not after %s", i, r.Time, last)
		}
		last = r.Time
	}
	page, err := b.History(ctx, "urn:t:o", outbox.Filter{}, wire.HistoryQuery{Limit: outbox.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != n {
		t.Fatalf("%d history items, want %d", len(page.Items), n)
	}
	for i, it := range page.Items {
		if string(it.Value) != fmt.Sprint(i) {
			t.Fatalf("history item %d is %s", i, it.Value)
		}
	}
	if got, ok, err := b.Latest(ctx, "urn:t:o", wire.KindProperty, "p"); err != nil || !ok || string(got.Value) != fmt.Sprint(n-1) {
		t.Fatalf("latest %s (%v, %v), want %d", got.Value, ok, err, n-1)
	}
}

// TestJetstoreFinishedMovedInBackground: a finished request is final in
// REQ when Transition returns and moved into DONE and its outcome list
// after; this node's Outcomes include it at once, another node's soon,
// and once the inbox is closed nothing finished is left in REQ.
func TestJetstoreFinishedMovedInBackground(t *testing.T) {
	ctx := context.Background()
	o := jetstoreOptions(t)
	a, err := jetstore.OpenInbox(ctx, o, inbox.Options{OutcomeRecall: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := jetstore.OpenInbox(ctx, o, inbox.Options{OutcomeRecall: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ids []string
	for i := range 12 {
		r := &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: "urn:t:f", Name: "a", Op: wire.OpInvokeAction,
			Status: wire.StatusDelivered}, AgentID: "agent-f"}
		if err := a.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Transition(ctx, r.ID, wire.StatusCompleted, fmt.Appendf(nil, "%d", i), nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		got, err := a.Outcomes(ctx, "urn:t:f", wire.OpInvokeAction, "a")
		if err != nil || len(got) == 0 || got[0].ID != r.ID {
			t.Fatalf("outcomes right after request %d finished: %d, %v", i, len(got), err)
		}
		// The other node's watcher applies the final status (or the move
		// removes the record) a moment later: it then reads it finished.
		waitJetstore(t, fmt.Sprintf("the other node reads request %d completed", i), func() bool {
			r2, err := b.Get(ctx, r.ID)
			return err == nil && r2.Status == wire.StatusCompleted
		})
	}
	waitJetstore(t, "the other node's outcome list", func() bool {
		got, err := b.Outcomes(ctx, "urn:t:f", wire.OpInvokeAction, "a")
		return err == nil && len(got) == 5 && got[0].ID == ids[len(ids)-1]
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	kv, err := o.JS.KeyValue(ctx, o.Prefix+"_REQ")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		t.Errorf("request %s left in REQ after Close", k)
	}
	// Outcomes beyond the recall are gone from DONE.
	if _, err := b.Get(ctx, ids[0]); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("the oldest outcome beyond the recall: %v, want not found", err)
	}
}

// TestJetstoreKillLeaderDuringGroupCommit kills the history stream's
// leader with SIGKILL while batches of events are
// in flight together and requests finish in the background, and checks
// that every event acknowledged is in the history, in the order
// acknowledged, the latest value is the last one acknowledged, and every
// request whose final status was acknowledged reads as finished and is in
// its outcome list once another node opens the inbox.
func TestJetstoreKillLeaderDuringGroupCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	tr := clustertest.StartNATSTrio(t)
	nc, err := nats.Connect(tr.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var redone groupCommitLogCount
	o := jetstore.Options{JS: js, Replicas: 3, Prefix: "GK", Retry: 30 * time.Second, Log: zerolog.New(&redone)}
	var in *jetstore.Inbox
	clustertest.WaitFor(t, "open the inbox (R3)", func() (err error) {
		in, err = jetstore.OpenInbox(ctx, o, inbox.Options{OutcomeRecall: 1000})
		return err
	})
	var hist *jetstore.Outbox
	clustertest.WaitFor(t, "open the outbox (R3)", func() (err error) { hist, err = jetstore.OpenOutbox(ctx, o, jetstore.OutboxOptions{}); return err })
	leaderOf := func(stream string) (int, error) {
		s, err := js.Stream(ctx, stream)
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

	const batches, size = 40, 16
	var acked []string    // event values, in the order acknowledged
	var finished []string // request IDs whose completion was acknowledged
	next := 0
	killed, resent := -1, 0
	for bi := range batches {
		// A batch as a connection's pipeline makes it: every write issued,
		// then the waits in order; a failed one is not acknowledged, and
		// the client sends it (and what followed it) again.
		pending := make([]string, 0, size)
		for range size {
			pending = append(pending, fmt.Sprint(next))
			next++
		}
		for len(pending) > 0 {
			waits := make([]func() (outbox.Record, error), len(pending))
			for i, v := range pending {
				waits[i] = hist.AppendLater(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "urn:t:k", Name: "p", Value: []byte(v)}, outbox.RetainDefault)
			}
			if bi == batches/2 && killed < 0 {
				// With this batch's writes in flight.
				clustertest.WaitFor(t, "find the history's leader", func() (err error) { killed, err = leaderOf("GK_HIST"); return err })
				tr.Procs[killed].Kill()
				t.Logf("killed n%d, the history's leader, in batch %d", killed, bi)
			}
			done := 0
			for _, w := range waits {
				if _, err := w(); err != nil {
					break
				}
				done++
			}
			if done < len(pending) {
				resent++
			}
			acked = append(acked, pending[:done]...)
			pending = pending[done:]
		}
		r := &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: "urn:t:k", Name: "a", Op: wire.OpInvokeAction,
			Status: wire.StatusDelivered}, AgentID: "agent-k"}
		for in.Add(ctx, r) != nil {
		}
		for {
			_, err := in.Transition(ctx, r.ID, wire.StatusCompleted, nil, nil)
			if err == nil || errors.Is(err, inbox.ErrFinished) {
				break
			}
		}
		finished = append(finished, r.ID)
	}
	page, err := hist.History(ctx, "urn:t:k", outbox.Filter{}, wire.HistoryQuery{Limit: outbox.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	// In the order acknowledged: a record may be stored twice only if its
	// acknowledgement was lost and the client sent it again, which makes
	// a later copy; every acknowledged one appears, in order.
	pos := 0
	for _, it := range page.Items {
		if pos < len(acked) && string(it.Value) == acked[pos] {
			pos++
		}
	}
	if pos != len(acked) {
		t.Fatalf("history has %d of %d acknowledged events in order (%d items)", pos, len(acked), len(page.Items))
	}
	if got, _, err := hist.Latest(ctx, "urn:t:k", wire.KindProperty, "p"); err != nil || string(got.Value) != acked[len(acked)-1] {
		t.Fatalf("latest %s, %v; want %s", got.Value, err, acked[len(acked)-1])
	}
	in.Close() // lets the queued moves finish (or leaves them to the next open)
	var in2 *jetstore.Inbox
	clustertest.WaitFor(t, "open the inbox again", func() (err error) {
		in2, err = jetstore.OpenInbox(ctx, o, inbox.Options{OutcomeRecall: 1000})
		return err
	})
	defer in2.Close()
	outs, err := in2.Outcomes(ctx, "urn:t:k", wire.OpInvokeAction, "a")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range outs {
		have[r.ID] = true
	}
	for i, id := range finished {
		r, err := in2.Get(ctx, id)
		if err != nil || r.Status != wire.StatusCompleted {
			t.Fatalf("request %d (%s): %+v, %v", i, id, r, err)
		}
		if !have[id] {
			t.Fatalf("request %d (%s) is not in the outcome list (%d there)", i, id, len(outs))
		}
	}
	t.Logf("%d events and %d finished requests acknowledged across the kill; %d history items; %d batches sent again in part; %d events' writes made again",
		len(acked), len(finished), len(page.Items), resent, redone.count("making it again"))
}

// groupCommitLogCount counts log lines holding a text.
type groupCommitLogCount struct {
	mu    sync.Mutex
	lines [][]byte
}

func (c *groupCommitLogCount) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, bytes.Clone(p))
	return len(p), nil
}

func (c *groupCommitLogCount) count(text string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lines {
		if bytes.Contains(l, []byte(text)) {
			n++
		}
	}
	return n
}
