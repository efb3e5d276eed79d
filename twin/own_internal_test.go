package twin

import (
	"testing"

	"github.com/wotmq/wotmq/wire"
)

// recordPublisher keeps what the core publishes through it.
type recordPublisher struct{ topics []string }

func (p *recordPublisher) Publish(m Message) { p.topics = append(p.topics, m.Topic) }

// TestPublishOwn: the hub's own publishes on free topics go out through
// the Publisher and to the listeners; the hub's namespaces, $ topics and
// wildcards are refused, and nothing of them goes out.
func TestPublishOwn(t *testing.T) {
	pub := &recordPublisher{}
	c, _ := testCore(t, Options{Publisher: pub}, "")
	var heard []string
	stop := c.Listen("#", func(m Message) { heard = append(heard, m.Topic) })
	defer stop()
	if err := c.PublishOwn(Message{Topic: "homie/5/lamp/$state", Payload: []byte("ready"), Retain: true}); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"things/lamp/td", "agents/a/requests", "replies/x", "wotmq/admin", "$SYS/x", "$wotmq/td", "homie/+/x", "", "a/#"} {
		err := c.PublishOwn(Message{Topic: topic})
		if code := wire.CodeOf(err); code != wire.CodeDenied && code != wire.CodeInvalidTopic {
			t.Errorf("PublishOwn(%q) = %v, want denied or invalid_topic", topic, err)
		}
	}
	if len(pub.topics) != 1 || pub.topics[0] != "homie/5/lamp/$state" || len(heard) != 1 {
		t.Errorf("published %v, heard %v; want the Homie state once each", pub.topics, heard)
	}
}
