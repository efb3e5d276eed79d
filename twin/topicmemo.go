package twin

import (
	"sync/atomic"

	"github.com/wotmq/wotmq/wire"
)

// TopicMemo keeps the last topic a connection published on, parsed, with
// the topic the hub relays it on. An agent streaming an event or a
// property publishes on the same topic again and again, and parsing it (a
// split, an unescape and a check per level) and building the consumers'
// topic were about 5% of the hub's CPU per event (docs/benchmarks.md). A
// miss costs a string comparison. The caller keeps one per connection; it
// is safe for concurrent use, and its zero value is ready.
type TopicMemo struct{ last atomic.Pointer[parsedTopic] }

// parsedTopic is a topic as Begin reads it.
type parsedTopic struct {
	raw string
	t   wire.Topic
	// relay is the consumers' topic of an agent's event or property
	// value; "" for other topics.
	relay string
}

// parse parses s, or returns the memo of it; m may be nil.
func (m *TopicMemo) parse(s string) (*parsedTopic, error) {
	if m != nil {
		if p := m.last.Load(); p != nil && p.raw == s {
			return p, nil
		}
	}
	t, err := wire.ParseTopic(s)
	if err != nil {
		return nil, err
	}
	p := &parsedTopic{raw: s, t: t, relay: relayTopic(t)}
	if m != nil {
		m.last.Store(p)
	}
	return p, nil
}

// relayTopic is the consumers' topic of an agent's event or property
// value topic; "" for other topics.
func relayTopic(t wire.Topic) string {
	switch t.Kind {
	case wire.TopicAgentEvent:
		return wire.EventTopic(t.ThingID, t.Name)
	case wire.TopicAgentProperty:
		return wire.PropertyTopic(t.ThingID, t.Name)
	}
	return ""
}
