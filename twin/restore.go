package twin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wotmq/wotmq/wire"
)

// restore publishes the retained state the hub owns (Mochi keeps retained
// messages in memory only): the hub TD, every twin TD, the latest property
// values and the latest action statuses. It runs before clients connect.
func (c *Core) restore(ctx context.Context) error {
	hub, err := c.HubTD()
	if err != nil {
		return fmt.Errorf("twin: hub TD: %w", err)
	}
	c.publish(wire.HubTDTopic, hub, true, nil)
	// The old name, for clients that subscribe to it by name; the
	// transport keeps it from wildcard subscriptions (docs/topics.md).
	c.publish(wire.LegacyHubTDTopic, hub, true, nil)
	for _, e := range c.dir.List() {
		twin, err := c.TwinTD(e.TD)
		if err != nil {
			c.log.Error().Err(err).Str("thing", e.ThingID).Msg("cannot rebuild twin TD")
			continue
		}
		c.publish(wire.TDTopic(e.ThingID), twin, true, nil)
		props, err := c.outbox.LatestAll(ctx, e.ThingID, wire.KindProperty)
		if err != nil {
			return err
		}
		for _, p := range props {
			c.publish(wire.PropertyTopic(e.ThingID, p.Name), p.Value, true, stamp(p.Sender, p.When()))
		}
		reqs, err := c.inbox.LatestAll(ctx, e.ThingID)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			if r.Op == wire.OpInvokeAction {
				st, _ := json.Marshal(r.ActionStatus)
				c.publish(wire.ActionStatusTopic(r.ThingID, r.Name), st, true, nil)
			}
		}
		desired, err := c.inbox.DesiredAll(ctx, e.ThingID)
		if err != nil {
			return err
		}
		for _, d := range desired {
			c.publishDesired(ctx, e.ThingID, d.Name)
		}
		c.publishDelta(ctx, e.ThingID)
		// No agent is connected yet: every Thing starts offline, in a new
		// transition so that its sequence number moves on.
		c.setPresence(ctx, e.ThingID, e.AgentID, wire.PresenceOffline, false)
		if p, err := c.presence.Get(ctx, e.ThingID); err == nil {
			b, _ := json.Marshal(presenceRecord{State: p.State, Since: p.Since, Seq: p.Seq})
			c.publish(wire.Topic{Kind: wire.TopicPresence, ThingID: e.ThingID}.String(), b, true, stamp(e.AgentID, p.Since))
		}
	}
	c.sweep(ctx)
	return nil
}
