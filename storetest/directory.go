package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/td"
)

// thingTD is a small valid TD of a Thing with one event, one property and
// one unsafe action.
func thingTD(id string) []byte {
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"` + id + `","title":"T",` +
		`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc",` +
		`"properties":{"p":{"type":"integer"}},"events":{"e":{"data":{"type":"integer"}}},` +
		`"actions":{"a":{"input":{"type":"integer"}}}}`)
}

func entry(t *testing.T, thing, agent string) (*directory.Entry, []byte) {
	t.Helper()
	raw := thingTD(thing)
	parsed, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &directory.Entry{ThingID: thing, AgentID: agent, TD: parsed, Updated: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}, raw
}

func testDirectory(t *testing.T, o Opener) {
	ctx := context.Background()
	s := open(t, o, Config{})
	d := s.Directory
	if d == nil {
		t.Skip("no directory")
	}
	for i, thing := range []string{"urn:t:b", "urn:t:a", "https://x.example/t?c=1"} {
		e, raw := entry(t, thing, fmt.Sprintf("agent-%d", i%2))
		prev, err := d.Put(ctx, e, raw)
		if err != nil || prev != nil {
			t.Fatalf("Put %s: prev %v, %v", thing, prev, err)
		}
	}
	e, raw := entry(t, "urn:t:a", "agent-1")
	prev, err := d.Put(ctx, e, raw)
	if err != nil || prev == nil || prev.AgentID != "agent-1" {
		t.Fatalf("Put again by its owner: prev %v, %v", prev, err)
	}
	e, raw = entry(t, "urn:t:a", "agent-0")
	if prev, err := d.Put(ctx, e, raw); !errors.Is(err, directory.ErrNotOwner) || prev == nil || prev.AgentID != "agent-1" {
		t.Fatalf("Put by another agent: prev %v, err %v; want ErrNotOwner and the owner's entry", prev, err)
	}
	checkDir := func(d Directory) {
		t.Helper()
		if d.Len() != 3 {
			t.Fatalf("Len = %d, want 3", d.Len())
		}
		var ids []string
		for _, e := range d.List() {
			ids = append(ids, e.ThingID)
		}
		if fmt.Sprint(ids) != "[https://x.example/t?c=1 urn:t:a urn:t:b]" {
			t.Fatalf("List = %v", ids)
		}
		var mine []string
		for _, e := range d.ByAgent("agent-0") {
			mine = append(mine, e.ThingID)
		}
		if fmt.Sprint(mine) != "[https://x.example/t?c=1 urn:t:b]" {
			t.Fatalf("ByAgent(agent-0) = %v", mine)
		}
		g, ok := d.Get("urn:t:a")
		if !ok || g.AgentID != "agent-1" || g.TD == nil || g.TD.ID != "urn:t:a" || !g.Updated.Equal(e.Updated) {
			t.Fatalf("Get = %+v, %v", g, ok)
		}
	}
	checkDir(d)
	s.close()
	d = open(t, o, Config{}).Directory
	checkDir(d)

	if _, err := d.Delete(ctx, "urn:t:a", "agent-0"); !errors.Is(err, directory.ErrNotOwner) {
		t.Fatalf("Delete by another agent: %v", err)
	}
	if _, err := d.Delete(ctx, "urn:t:none", "agent-0"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Delete of an unknown Thing: %v", err)
	}
	if _, err := d.Reassign(ctx, "urn:t:none", "agent-0"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Reassign of an unknown Thing: %v", err)
	}
	prev, err = d.Reassign(ctx, "urn:t:a", "agent-0")
	if err != nil || prev.AgentID != "agent-1" {
		t.Fatalf("Reassign: prev %v, %v", prev, err)
	}
	if g, _ := d.Get("urn:t:a"); g.AgentID != "agent-0" || g.TD.ID != "urn:t:a" {
		t.Fatalf("after Reassign: %+v", g)
	}
	if len(d.ByAgent("agent-1")) != 0 || len(d.ByAgent("agent-0")) != 3 {
		t.Fatalf("ByAgent after Reassign: %d, %d", len(d.ByAgent("agent-1")), len(d.ByAgent("agent-0")))
	}
	del, err := d.Delete(ctx, "urn:t:a", "agent-0")
	if err != nil || del.ThingID != "urn:t:a" {
		t.Fatalf("Delete: %v, %v", del, err)
	}
	if _, ok := d.Get("urn:t:a"); ok || d.Len() != 2 {
		t.Fatalf("after Delete: still there or Len %d", d.Len())
	}
	// A deleted Thing can be registered again, by anyone.
	e, raw = entry(t, "urn:t:a", "agent-1")
	if prev, err := d.Put(ctx, e, raw); err != nil || prev != nil {
		t.Fatalf("Put after Delete: prev %v, %v", prev, err)
	}
}
