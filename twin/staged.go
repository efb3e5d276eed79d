package twin

import (
	"context"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// Staged publishing lets a transport take storing off its read path while
// keeping each connection's publishes in order (the MQTT adapter's
// per-connection pipeline, broker/pipeline.go): it begins the publishes it
// has read one after the other, then finishes them in the same order. The
// writes of the publishes begun before the first finish are committed in
// one transaction (outbox.AppendLater), where Publish would commit each
// alone while the transport waits.

// Begin starts handling a publish as Publish would; finish completes it
// and returns what Publish returns. begun reports whether the publish was
// begun: its checks are done and its store is queued, so later publishes
// of the same connection may be begun before finish is called (an agent's
// event or property value). When begun is false nothing was done yet:
// finish does all the work, and the caller must call it before beginning
// the connection's next publish. finish must be called exactly once.
// memo is the connection's TopicMemo (nil: none).
func (c *Core) Begin(ctx context.Context, from authz.Identity, conn ConnID, memo *TopicMemo, m *Message) (finish func() (after func(), err error), begun bool) {
	if conn != nil {
		ctx = context.WithValue(ctx, connKey{}, conn)
	}
	var t wire.Topic
	var relay string
	pt, err := memo.parse(m.Topic)
	if err == nil {
		t, relay = pt.t, pt.relay
		err = c.authz.CanPublish(from, m.Topic, t)
	}
	var kind wire.HistoryKind
	switch {
	case err != nil: // Publish decides (and refuses) it
	case t.Kind == wire.TopicAgentEvent:
		kind = wire.KindEvent
	case t.Kind == wire.TopicAgentProperty:
		kind = wire.KindProperty
	case t.Kind == wire.TopicAgentReplies:
		// An agent's answers: their status changes are staged in order
		// and share commits (line.go).
		done := c.beginAgentReply(ctx, from, t, m)
		return func() (func(), error) { return nil, done() }, true
	}
	if kind == "" {
		return func() (func(), error) { return c.Publish(ctx, from, conn, m) }, false
	}
	var later []func()
	ctx = withAfterAck(ctx, &later)
	done := c.beginAgentPublish(ctx, from, t, relay, kind, m)
	return func() (after func(), err error) {
		err = done()
		if len(later) > 0 {
			after = func() {
				for _, fn := range later {
					fn()
				}
			}
		}
		return after, err
	}, true
}
