package twin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// holdInbox is the Badger inbox with the commit of its first new request
// held until release is closed; entered receives a value each time a new
// request reaches it.
type holdInbox struct {
	*inbox.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *holdInbox) ReplaceLater(ctx context.Context, r *inbox.Request, old []string, e *wire.Error) ([]*inbox.Request, inbox.Commit, error) {
	failed, commit, err := h.Store.ReplaceLater(ctx, r, old, e)
	first := false
	h.once.Do(func() { first = true })
	if first && err == nil {
		held := commit
		commit = func() error { <-h.release; return held() }
	}
	h.entered <- struct{}{}
	return failed, commit, err
}

// waitLong bounds a wait for what must happen; it fails a test only when
// the machine is far slower than any CI machine.
const waitLong = 30 * time.Second

// TestRequestsDecidedWhileACommitRuns: the core holds an agent's lock while
// it decides on a request, not while the request commits (line.go). While
// the first request's commit is held, a second request to the same agent is
// decided; neither goes out before the first commit; then both go out, in
// order.
func TestRequestsDecidedWhileACommitRuns(t *testing.T) {
	ctx := context.Background()
	agent := authz.Identity{ID: "ho-agent", Role: authz.RoleService, Anonymous: true}
	consumer := authz.Identity{ID: "ho-consumer", Role: authz.RoleService, Anonymous: true}
	conn := Conn{ID: 1, Client: "ho-agent"}
	sink := &handoverSink{}
	c, db := testCore(t, Options{Dev: true, Publisher: sink, Window: 8}, "")
	hold := &holdInbox{Store: c.inbox.(*inbox.Store), entered: make(chan struct{}, 2), release: make(chan struct{})}
	c.inbox = hold
	if err := c.Start(ctx, Forms{MQTT: "mqtt://localhost:1883"}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer c.Close()
	c.AgentConnected(agent.ID, conn)
	if _, err := c.Publish(ctx, agent, conn.ID, &Message{Topic: wire.Topic{Kind: wire.TopicAgentTD, AgentID: agent.ID, ThingID: "urn:ho"}.String(), Payload: []byte(handoverThing), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	c.AgentSubscribed(agent.ID, conn)

	ids := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	invoke := func(i int, action string) {
		wg.Go(func() {
			r, err := c.Submit(ctx, consumer, wire.Topic{Kind: wire.TopicAction, ThingID: "urn:ho", Name: action}, wire.OpInvokeAction, nil, Submission{ReplyTo: "replies/ho-consumer"})
			ids[i], errs[i] = r.ID, err
		})
	}
	entered := func(what string) {
		t.Helper()
		select {
		case <-hold.entered:
		case <-time.After(waitLong):
			close(hold.release)
			t.Fatalf("%s was not decided within %s", what, waitLong)
		}
	}
	invoke(0, "go")
	entered("the first request")
	invoke(1, "stop")
	entered("the second request, while the first one's commit is held,")
	if sent := sink.sent(); len(sent) != 0 {
		close(hold.release)
		t.Fatalf("%d requests went out before the first commit", len(sent))
	}
	close(hold.release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	sent := sink.sent()
	if len(sent) != 2 || string(sent[0].CorrelationData) != ids[0] || string(sent[1].CorrelationData) != ids[1] {
		var got []string
		for _, m := range sent {
			got = append(got, string(m.CorrelationData))
		}
		t.Fatalf("sent %v, want %v in that order", got, ids)
	}
}

// TestLineRunsLeftStepsAtClose: a step nobody awaits (a reply begun while
// the hub closed, never finished) still runs, by Close at the latest; after
// Close a step runs on the caller that stages it.
func TestLineRunsLeftStepsAtClose(t *testing.T) {
	c, db := testCore(t, Options{Dev: true}, "")
	defer db.Close()
	if err := c.Start(context.Background(), Forms{MQTT: "mqtt://localhost:1883"}); err != nil {
		t.Fatal(err)
	}
	var ran []string
	committed := func() error { return nil }
	mu := c.agentLock("left-agent")
	mu.Lock()
	c.stage("left-agent", committed, func() { ran = append(ran, "first") })
	c.stage("left-agent", committed, func() { ran = append(ran, "second") })
	mu.Unlock()
	c.Close()
	if len(ran) != 2 || ran[0] != "first" || ran[1] != "second" {
		t.Fatalf("ran %v by Close, want [first second]", ran)
	}
	st := c.stage("left-agent", committed, func() { ran = append(ran, "after") })
	if err := c.await(st); err != nil || len(ran) != 3 {
		t.Fatalf("after Close: ran %v, err %v", ran, err)
	}
}
