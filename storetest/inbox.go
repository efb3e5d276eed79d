package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

func request(thing, agent, name string) *inbox.Request {
	return &inbox.Request{ActionStatus: wire.ActionStatus{ThingID: thing, Name: name, Op: wire.OpInvokeAction,
		Input: json.RawMessage(`1`), Sender: "consumer"}, AgentID: agent, ReplyTo: "r/x", Correlation: []byte{1, 2}}
}

func ids(rs []*inbox.Request) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+":"+string(r.Status))
	}
	return fmt.Sprint(out)
}

func testInbox(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	s := open(t, o, Config{Now: c.now, OutcomeRecall: 3})
	in := s.Inbox
	if in == nil {
		t.Skip("no inbox")
	}
	var added []*inbox.Request
	for i := range 6 {
		c.advance(time.Millisecond)
		r := request("urn:t:a", "agent-0", fmt.Sprintf("a%d", i%2))
		if err := in.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if len(r.ID) != 16 || r.Status != wire.StatusPending || !r.Requested.Equal(c.now()) || !r.Expires.Equal(c.now().Add(in.DefaultExpiry())) {
			t.Fatalf("Add set %+v", r)
		}
		if len(added) > 0 && r.ID <= added[len(added)-1].ID {
			t.Fatalf("ID %s not after %s", r.ID, added[len(added)-1].ID)
		}
		added = append(added, r)
	}
	other := request("urn:t:b", "agent-1", "a0")
	if err := in.Add(ctx, other); err != nil {
		t.Fatal(err)
	}
	if in.Len() != 7 || in.Counts()[wire.StatusPending] != 7 {
		t.Fatalf("Len %d, Counts %v", in.Len(), in.Counts())
	}
	g, err := in.Get(ctx, added[0].ID)
	if err != nil || g.AgentID != "agent-0" || g.ReplyTo != "r/x" || string(g.Correlation) != "\x01\x02" || string(g.Input) != "1" {
		t.Fatalf("Get = %+v, %v", g, err)
	}
	if _, err := in.Get(ctx, "00000000000000ff"); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("Get of an unknown ID: %v", err)
	}
	if _, err := in.Transition(ctx, "00000000000000ff", wire.StatusDelivered, nil, nil); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("Transition of an unknown ID: %v", err)
	}
	if r, err := in.Transition(ctx, added[0].ID, wire.StatusRunning, nil, nil); !errors.Is(err, inbox.ErrTransition) || r == nil || r.Status != wire.StatusPending {
		t.Fatalf("pending to running: %v, %v", r, err)
	}
	c.advance(time.Millisecond)
	for _, step := range []struct {
		to   wire.Status
		out  string
		want int // deliveries
	}{{wire.StatusDelivered, "", 1}, {wire.StatusDelivered, "", 2}, {wire.StatusRunning, `{"p":1}`, 2}, {wire.StatusCompleted, `42`, 2}} {
		var out json.RawMessage
		if step.out != "" {
			out = json.RawMessage(step.out)
		}
		r, err := in.Transition(ctx, added[0].ID, step.to, out, nil)
		if err != nil || r.Status != step.to || r.Deliveries != step.want || string(r.Output) != step.out || !r.Updated.Equal(c.now()) {
			t.Fatalf("to %s: %+v, %v", step.to, r, err)
		}
	}
	if r, err := in.Transition(ctx, added[0].ID, wire.StatusFailed, nil, nil); !errors.Is(err, inbox.ErrFinished) || r == nil || r.Status != wire.StatusCompleted {
		t.Fatalf("a finished request again: %v, %v", r, err)
	}
	if _, err := in.Transition(ctx, added[1].ID, wire.StatusDelivered, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d, p := in.Outstanding("agent-0"); d != 1 || !p {
		t.Fatalf("Outstanding = %d, %v; want 1, true", d, p)
	}
	q, _ := in.Queue(ctx, "agent-0")
	if len(q) != 5 || q[0].ID != added[1].ID || q[0].Status != wire.StatusDelivered || q[0].ThingID != "urn:t:a" || q[0].Name != "a1" {
		t.Fatalf("Queue = %+v", q)
	}
	if p, _ := in.Pending(ctx, "agent-0"); len(p) != 4 || p[0].ID != added[2].ID {
		t.Fatalf("Pending = %s", ids(p))
	}
	// Finish all of a0 (added 2, 4): with a recall of 3, a0 keeps three outcomes.
	for _, r := range []*inbox.Request{added[2], added[4]} {
		c.advance(time.Millisecond)
		if _, err := in.Transition(ctx, r.ID, wire.StatusFailed, nil, &wire.Error{Code: "x", Message: "no"}); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(time.Millisecond)
	extra := request("urn:t:a", "agent-0", "a0")
	if err := in.Add(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Transition(ctx, extra.ID, wire.StatusFailed, nil, nil); err != nil {
		t.Fatal(err)
	}
	checkAfter := func(in Inbox) {
		t.Helper()
		outs, err := in.Outcomes(ctx, "urn:t:a", wire.OpInvokeAction, "a0")
		if err != nil || len(outs) != 3 || outs[0].ID != extra.ID || outs[1].ID != added[4].ID || outs[2].ID != added[2].ID {
			t.Fatalf("Outcomes = %s, %v", ids(outs), err)
		}
		if outs[1].Error == nil || outs[1].Error.Code != "x" {
			t.Fatalf("outcome lost its error: %+v", outs[1])
		}
		if _, err := in.Get(ctx, added[0].ID); !errors.Is(err, inbox.ErrNotFound) {
			t.Fatalf("an outcome beyond the recall is still there: %v", err)
		}
		l, err := in.Latest(ctx, "urn:t:a", wire.OpInvokeAction, "a1")
		if err != nil || l.ID != added[5].ID {
			t.Fatalf("Latest a1 = %v, %v", l, err)
		}
		all, err := in.LatestAll(ctx, "urn:t:a")
		if err != nil || len(all) != 2 || all[0].ID != extra.ID || all[1].ID != added[5].ID {
			t.Fatalf("LatestAll = %s, %v", ids(all), err)
		}
		un, _ := in.Unfinished(ctx, "agent-0")
		if ids(un) != "[a1:delivered a1:pending a1:pending]" || in.Len() != 4 {
			t.Fatalf("Unfinished = %s, Len %d", ids(un), in.Len())
		}
	}
	checkAfter(in)
	s.close()
	c.advance(-time.Hour) // a clock set back: IDs still run on after the stored ones
	in = open(t, o, Config{Now: c.now, OutcomeRecall: 3}).Inbox
	checkAfter(in)
	later := request("urn:t:a", "agent-0", "a1")
	if err := in.Add(ctx, later); err != nil || later.ID <= extra.ID {
		t.Fatalf("an ID after reopening with the clock set back: %s, not after %s (%v)", later.ID, extra.ID, err)
	}
	// Expiry: due requests, oldest expiry first.
	due, err := in.ExpiredBefore(ctx, c.now().Add(2*in.DefaultExpiry()), 2)
	if err != nil || len(due) != 2 || due[0] != later.ID || due[1] != added[1].ID { // later's clock was set back
		t.Fatalf("ExpiredBefore = %v, %v", due, err)
	}
	if due, _ := in.ExpiredBefore(ctx, c.now().Add(-48*time.Hour), 10); len(due) != 0 {
		t.Fatalf("ExpiredBefore long ago = %v", due)
	}
	if err := in.DeleteThing(ctx, "urn:t:a"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Latest(ctx, "urn:t:a", wire.OpInvokeAction, "a1"); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("Latest after DeleteThing: %v", err)
	}
	if outs, _ := in.Outcomes(ctx, "urn:t:a", wire.OpInvokeAction, "a0"); len(outs) != 0 {
		t.Fatalf("Outcomes after DeleteThing: %s", ids(outs))
	}
	if l, err := in.Latest(ctx, "urn:t:b", wire.OpInvokeAction, "a0"); err != nil || l.ID != other.ID {
		t.Fatalf("another Thing's latest after DeleteThing: %v, %v", l, err)
	}
}

func testInboxReplace(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	in := open(t, o, Config{Now: c.now}).Inbox
	if in == nil {
		t.Skip("no inbox")
	}
	a, b := request("urn:t:a", "agent-0", "a0"), request("urn:t:a", "agent-0", "a0")
	for _, r := range []*inbox.Request{a, b} {
		c.advance(time.Millisecond)
		if err := in.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Transition(ctx, b.ID, wire.StatusFailed, nil, nil); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Millisecond)
	n := request("urn:t:a", "agent-0", "a0")
	n.Status = wire.StatusDelivered // handed over right after the commit
	sup := &wire.Error{Code: "superseded", Message: "a newer request"}
	failed, err := in.Replace(ctx, n, []string{a.ID, b.ID, "00000000000000ff"}, sup)
	if err != nil || len(failed) != 1 || failed[0].ID != a.ID || failed[0].Status != wire.StatusFailed || failed[0].Error.Code != "superseded" {
		t.Fatalf("Replace failed %s, %v; want only the unfinished one", ids(failed), err)
	}
	if n.Status != wire.StatusDelivered || n.Deliveries != 1 {
		t.Fatalf("a request stored as delivered: %+v", n)
	}
	if g, _ := in.Get(ctx, a.ID); g.Status != wire.StatusFailed {
		t.Fatalf("the superseded request is %s", g.Status)
	}
	if q, _ := in.Queue(ctx, "agent-0"); len(q) != 1 || q[0].ID != n.ID || q[0].Status != wire.StatusDelivered {
		t.Fatalf("Queue after Replace = %+v", q)
	}
	if l, err := in.Latest(ctx, "urn:t:a", wire.OpInvokeAction, "a0"); err != nil || l.ID != n.ID {
		t.Fatalf("Latest after Replace = %v, %v", l, err)
	}
}

// testInboxStaged: a staged change (ReplaceLater, TransitionLater) is seen
// by the store's readers when the call returns, before its Commit (nil
// where the backend commits as it goes) is awaited, and the next staged
// change builds on it.
func testInboxStaged(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	in := open(t, o, Config{Now: c.now}).Inbox
	if in == nil {
		t.Skip("no inbox")
	}
	await := func(commit inbox.Commit) {
		t.Helper()
		if commit == nil {
			return
		}
		if err := commit(); err != nil {
			t.Fatal(err)
		}
	}
	r := request("urn:t:s", "agent-s", "a0")
	r.Status = wire.StatusDelivered
	_, added, err := in.ReplaceLater(ctx, r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, waiting := in.Outstanding("agent-s"); n != 1 || waiting {
		t.Fatalf("outstanding %d, waiting %v after ReplaceLater; want the request delivered", n, waiting)
	}
	c.advance(time.Millisecond)
	done, finished, err := in.TransitionLater(ctx, r.ID, wire.StatusCompleted, json.RawMessage(`2`), nil)
	if err != nil || done.Status != wire.StatusCompleted {
		t.Fatalf("TransitionLater: %+v, %v", done, err)
	}
	if g, err := in.Get(ctx, r.ID); err != nil || g.Status != wire.StatusCompleted {
		t.Fatalf("Get after TransitionLater: %+v, %v", g, err)
	}
	if q, _ := in.Queue(ctx, "agent-s"); len(q) != 0 {
		t.Fatalf("Queue after the staged outcome = %+v", q)
	}
	await(added)
	await(finished)
	if outs, err := in.Outcomes(ctx, "urn:t:s", wire.OpInvokeAction, "a0"); err != nil || len(outs) != 1 || outs[0].ID != r.ID {
		t.Fatalf("Outcomes after the commits: %s, %v", ids(outs), err)
	}
}

func testInboxDesired(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	in := open(t, o, Config{Now: c.now}).Inbox
	if in == nil {
		t.Skip("no inbox")
	}
	if _, ok, err := in.GetDesired(ctx, "urn:t:a", "p"); ok || err != nil {
		t.Fatalf("GetDesired of nothing: %v, %v", ok, err)
	}
	if ok, err := in.ClearDesired(ctx, "urn:t:a", "p", ""); ok || err != nil {
		t.Fatalf("ClearDesired of nothing: %v, %v", ok, err)
	}
	d, err := in.SetDesired(ctx, "urn:t:a", "p", json.RawMessage(`1`), "w1")
	if err != nil || d.Version != 1 || !d.Time.Equal(c.now()) {
		t.Fatalf("SetDesired = %+v, %v", d, err)
	}
	if d, err = in.SetDesired(ctx, "urn:t:a", "p", json.RawMessage(`2`), "w2"); err != nil || d.Version != 2 {
		t.Fatalf("SetDesired again = %+v, %v", d, err)
	}
	if _, err = in.SetDesired(ctx, "urn:t:a", "o", json.RawMessage(`"x"`), "w3"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := in.ClearDesired(ctx, "urn:t:a", "p", "w1"); ok {
		t.Fatal("ClearDesired by an older write cleared")
	}
	all, err := in.DesiredAll(ctx, "urn:t:a")
	if err != nil || len(all) != 2 || all[0].Name != "o" || all[1].Name != "p" || string(all[1].Value) != "2" {
		t.Fatalf("DesiredAll = %+v, %v", all, err)
	}
	if ok, _ := in.ClearDesired(ctx, "urn:t:a", "p", "w2"); !ok {
		t.Fatal("ClearDesired by its write did not clear")
	}
	if _, ok, _ := in.GetDesired(ctx, "urn:t:a", "p"); ok {
		t.Fatal("a cleared desired state is still there")
	}
	// Versions never repeat, across a clear.
	if d, _ = in.SetDesired(ctx, "urn:t:a", "p", json.RawMessage(`3`), "w4"); d.Version != 3 {
		t.Fatalf("version after a clear = %d, want 3", d.Version)
	}
	if g, ok, _ := in.GetDesired(ctx, "urn:t:a", "p"); !ok || g.Version != 3 || g.ActionID != "w4" {
		t.Fatalf("GetDesired = %+v, %v", g, ok)
	}
	if err := in.DeleteThing(ctx, "urn:t:a"); err != nil {
		t.Fatal(err)
	}
	if all, _ := in.DesiredAll(ctx, "urn:t:a"); len(all) != 0 {
		t.Fatalf("DesiredAll after DeleteThing = %+v", all)
	}
}
