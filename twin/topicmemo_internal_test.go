package twin

import (
	"sync"
	"testing"

	"github.com/wotmq/wotmq/wire"
)

func TestTopicMemoParsesWhatParseTopicParses(t *testing.T) {
	var m TopicMemo
	event := wire.Topic{Kind: wire.TopicAgentEvent, AgentID: "a/1", ThingID: "t+1", Name: "temp"}.String()
	prop := wire.Topic{Kind: wire.TopicAgentProperty, AgentID: "a/1", ThingID: "t+1", Name: "on"}.String()
	replies := wire.Topic{Kind: wire.TopicAgentReplies, AgentID: "a/1"}.String()
	for _, tc := range []struct {
		topic, relay string
	}{
		{event, wire.EventTopic("t+1", "temp")},
		{event, wire.EventTopic("t+1", "temp")}, // the memo
		{prop, wire.PropertyTopic("t+1", "on")},
		{replies, ""},
		{event, wire.EventTopic("t+1", "temp")},
	} {
		want, err := wire.ParseTopic(tc.topic)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.parse(tc.topic)
		if err != nil || p.t != want || p.relay != tc.relay {
			t.Fatalf("parse(%q) = %+v, %v; want %+v relayed on %q", tc.topic, p, err, want, tc.relay)
		}
	}
	// A refused topic is refused every time, and not remembered.
	for range 2 {
		if _, err := m.parse("agents/a/things/%zz/events/e"); err == nil {
			t.Fatal("a bad escape parsed")
		}
	}
	if p := m.last.Load(); p == nil || p.raw != event {
		t.Fatalf("memo after refusals = %+v, want %q", p, event)
	}
	var none *TopicMemo // no memo: parses each time
	if p, err := none.parse(event); err != nil || p.relay != wire.EventTopic("t+1", "temp") {
		t.Fatalf("nil memo: %+v, %v", p, err)
	}
}

// TestTopicMemoConcurrent has two goroutines parse different topics
// through one memo (the race detector watches): each always gets its own.
func TestTopicMemoConcurrent(t *testing.T) {
	var m TopicMemo
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		topic := wire.Topic{Kind: wire.TopicAgentEvent, AgentID: "ag", ThingID: "t", Name: name}.String()
		wg.Go(func() {
			for range 2000 {
				p, err := m.parse(topic)
				if err != nil || p.t.Name != name {
					t.Errorf("parse(%q) = %+v, %v", topic, p, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
