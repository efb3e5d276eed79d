package twin

import (
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// MQTT 3.1.1 agents (docs/topics.md, "MQTT 3.1.1 agents") have no user
// properties, ResponseTopic or CorrelationData, so a request on
// agents/{agent}/requests would reach them without the action ID they
// must answer with. They subscribe to wire.LegacyRequestsFilter instead,
// where every request carries its Thing, op, name and action ID as topic
// levels, and answer on wire.LegacyReplyTopic.

// receivesRequests reports whether a subscription filter of a connection
// (legacy: MQTT 3.1.1; client: its ID, for the log) makes the
// agent a receiver of its requests: for an MQTT 5 connection a filter that
// matches agents/{agent}/requests, for a 3.1.1 connection one that
// matches the 3.1.1 requests topics. A 3.1.1 connection that subscribed to
// the MQTT 5 topic alone could never answer, so it does not count: its
// agent stays offline (requests wait, safe actions are refused offline)
// instead of leaving delivered requests unanswerable, and the hub says why
// (when announce is set: once, at the subscription).
func (c *Core) receivesRequests(legacy bool, client, agent, filter string, announce bool) bool {
	v5 := matchFilter(filter, wire.RequestsTopic(agent))
	if !legacy {
		return v5
	}
	sample := wire.Topic{Kind: wire.TopicAgentRequests, AgentID: agent, ThingID: "t", Op: wire.OpInvokeAction, Name: "n", ActionID: "a"}.String()
	if matchFilter(filter, sample) {
		return true
	}
	if v5 && announce {
		c.log.Warn().Str("agent", agent).Str("client", client).Str("filter", filter).
			Str("use", wire.LegacyRequestsFilter(agent)).
			Msg("MQTT 3.1.1 agent subscribed to requests it cannot answer (no action ID without user properties); it stays offline until it subscribes to the 3.1.1 requests filter")
	}
	return false
}

// sendLegacy publishes a request (or a cancel) to an agent's 3.1.1
// connections, if it has any, on the topic that carries the action ID.
// MQTT 5 connections never match it (they subscribe to the bare requests
// topic).
func (c *Core) sendLegacy(r *inbox.Request, op string, payload []byte) {
	if !c.agents.legacy(r.AgentID) {
		return
	}
	c.send(Message{
		QoS:     1,
		Topic:   wire.Topic{Kind: wire.TopicAgentRequests, AgentID: r.AgentID, ThingID: r.ThingID, Op: op, Name: r.Name, ActionID: r.ID}.String(),
		Payload: payload,
	})
}
