package twin

import (
	"context"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// TestPublishFreeTopicTapsWhatRulesAllow: a publish on a free topic is
// decided by the access rules; the taps hear the allowed ones only, and
// the transport is left to deliver them (no after work, no error).
func TestPublishFreeTopicTapsWhatRulesAllow(t *testing.T) {
	c, db := testCore(t, Options{}, "")
	defer db.Close()
	ctx := context.Background()
	if _, err := c.authz.AddTopicRule(ctx, authz.TopicRule{Who: "plug1", Filter: "stat/%u/#", Publish: true}); err != nil {
		t.Fatal(err)
	}
	var heard []string
	defer c.Tap("#", func(from authz.Identity, m Message) { heard = append(heard, from.ID+" "+m.Topic) })()
	plug := authz.Identity{ID: "plug1", Role: authz.RoleAgent, Client: "p"}
	after, err := c.Publish(ctx, plug, nil, &Message{Topic: "stat/plug1/POWER", Payload: []byte("ON")})
	if err != nil || after != nil {
		t.Fatalf("allowed publish: after %v, err %v", after != nil, err)
	}
	if _, err := c.Publish(ctx, plug, nil, &Message{Topic: "stat/plug2/POWER", Payload: []byte("ON")}); wire.CodeOf(err) != wire.CodeDenied {
		t.Fatalf("a publish no rule allows: %v", err)
	}
	if len(heard) != 1 || heard[0] != "plug1 stat/plug1/POWER" {
		t.Fatalf("taps heard %q", heard)
	}
	if !Free("stat/x") || Free("things/x/td") || Free("$wotmq/td") || Free("wotmq/admin") || Free("replies/a") || Free("agents/a/requests") {
		t.Fatal("Free disagrees with the hub's namespaces")
	}
}
