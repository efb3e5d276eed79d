package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/wire"
)

func testPresence(t *testing.T, o Opener) {
	ctx := context.Background()
	c := newClock()
	s := open(t, o, Config{Now: c.now})
	p := s.Presence
	if p == nil {
		t.Skip("no presence store")
	}
	if got, err := p.Get(ctx, "urn:t:a"); err != nil || got != (presence.Thing{}) {
		t.Fatalf("Get of an unknown Thing = %+v, %v; want the zero Thing", got, err)
	}
	th, changed, err := p.Set(ctx, "urn:t:a", wire.PresenceOnline, false)
	if err != nil || !changed || th.Seq != 1 || th.State != wire.PresenceOnline || !th.Since.Equal(c.now()) {
		t.Fatalf("first Set = %+v, %v, %v", th, changed, err)
	}
	c.advance(time.Second)
	// The same state changes nothing (its time stays), but byAgent sticks.
	th, changed, err = p.Set(ctx, "urn:t:a", wire.PresenceOnline, true)
	if err != nil || changed || th.Seq != 1 || !th.ByAgent || th.Since.Equal(c.now()) {
		t.Fatalf("Set of the same state = %+v, %v, %v", th, changed, err)
	}
	th, changed, err = p.Set(ctx, "urn:t:a", wire.PresenceOffline, false)
	if err != nil || !changed || th.Seq != 2 || th.ByAgent || !th.Since.Equal(c.now()) {
		t.Fatalf("Set of another state = %+v, %v, %v", th, changed, err)
	}
	a := presence.Agent{ID: "agent-0", Online: true, LastSeen: c.now(), Remote: "127.0.0.1:5"}
	if err := p.SetAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := p.SetAgent(ctx, presence.Agent{ID: "agent-a", LastSeen: c.now()}); err != nil {
		t.Fatal(err)
	}
	s.close()
	p = open(t, o, Config{Now: c.now}).Presence
	if got, err := p.Get(ctx, "urn:t:a"); err != nil || got.Seq != 2 || got.State != wire.PresenceOffline {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
	if got, ok, err := p.GetAgent(ctx, "agent-0"); err != nil || !ok || got.Remote != a.Remote || !got.Online || !got.LastSeen.Equal(a.LastSeen) {
		t.Fatalf("GetAgent = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := p.GetAgent(ctx, "agent-none"); ok || err != nil {
		t.Fatalf("GetAgent of an unknown agent: %v, %v", ok, err)
	}
	as, err := p.Agents(ctx)
	if err != nil || len(as) != 2 || as[0].ID != "agent-0" || as[1].ID != "agent-a" {
		t.Fatalf("Agents = %+v, %v", as, err)
	}
	if err := p.Delete(ctx, "urn:t:a"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Get(ctx, "urn:t:a"); err != nil || got != (presence.Thing{}) {
		t.Fatalf("after Delete: %+v, %v", got, err)
	}
	if err := p.Delete(ctx, "urn:t:never"); err != nil {
		t.Fatalf("Delete of an unknown Thing: %v", err)
	}
}
