package twin

import (
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// twinPacketOverhead is what a twin TD's PUBLISH carries beside the TD:
// fixed header (at most 5 bytes), packet ID, an empty property length, and
// the topic's length prefix; the topic itself is added per Thing.
const twinPacketOverhead = 5 + 2 + 1 + 2

// affordances counts the properties, actions and events of a TD.
func affordances(t *td.Thing) int {
	return len(t.Properties) + len(t.Actions) + len(t.Events)
}

// checkAffordances refuses a TD with more affordances than
// Limits.MaxAffordances: each one becomes several forms in the twin TD,
// which the hub holds, retains and serves (issue 12: 10,000 empty
// properties made a 10.7 MB twin).
func (c *Core) checkAffordances(t *td.Thing) error {
	max := c.opts.MaxAffordances
	if n := affordances(t); max > 0 && n > max {
		return wire.Errorf(wire.CodeQuota, "the TD has %d affordances (properties, actions, events), more than the hub's limit of %d per Thing", n, max)
	}
	return nil
}

// checkTwinSize refuses a twin TD that a client could not receive: the
// retained PUBLISH of things/{id}/td must fit in MaxPayload, so that every
// client whose Maximum Packet Size admits the hub's largest payload gets
// it. (Mochi skips a message larger than a client's Maximum Packet Size
// without a word [MQTT-3.1.2-25], so a larger twin would be lost silently.)
func (c *Core) checkTwinSize(thingID string, twin []byte) error {
	max := c.opts.MaxPayload
	if max <= 0 {
		return nil
	}
	if n := len(twin) + len(wire.TDTopic(thingID)) + twinPacketOverhead; n > max {
		return wire.Errorf(wire.CodeTooLarge, "the twin TD would be %d bytes with its forms, over the hub's limit of %d (max-payload); describe fewer or smaller affordances", n, max)
	}
	return nil
}

// checkThingQuota refuses a new Thing for an agent that has registered
// MaxThingsPerAgent already.
func (c *Core) checkThingQuota(agentID, thingID string) error {
	max := c.opts.MaxThingsPerAgent
	if max <= 0 {
		return nil
	}
	if _, ok := c.dir.Get(thingID); ok {
		return nil // an update
	}
	if n := len(c.dir.ByAgent(agentID)); n >= max {
		return wire.Errorf(wire.CodeQuota, "agent %q has registered %d Things, the most the hub allows", agentID, n)
	}
	return nil
}
