package loadtest

import (
	"encoding/json"

	"github.com/wotmq/wotmq/wot"
)

// Names of the bench Thing's affordances.
const (
	EventName  = "tick"
	ActionName = "echo"
	rawRoot    = "bench"
)

// shape maps the traffic of a scenario onto topics. TargetWotmq uses the
// hub's topic scheme (docs/topics.md); TargetRaw uses plain topics any
// broker relays, with the same number of messages and hops.
type shape struct {
	target Target
}

// eventTopic is where agent publishes an event of thing.
func (s shape) eventTopic(agent, thing string) string {
	if s.target == TargetWotmq {
		return wot.Topic{Kind: wot.TopicAgentEvent, AgentID: agent, ThingID: thing, Name: EventName}.String()
	}
	return rawRoot + "/" + wot.EscapeLevel(thing) + "/events/" + EventName
}

// eventFilter is what consumers subscribe to for the events of thing, or
// of every Thing when thing is "+".
func (s shape) eventFilter(thing string) string {
	if thing != "+" {
		thing = wot.EscapeLevel(thing)
	}
	if s.target == TargetWotmq {
		return wot.ThingsRoot + "/" + thing + "/events/" + EventName
	}
	return rawRoot + "/" + thing + "/events/" + EventName
}

// actionTopic is where consumers invoke the action of thing.
func (s shape) actionTopic(thing string) string {
	if s.target == TargetWotmq {
		return wot.ActionTopic(thing, ActionName)
	}
	return rawRoot + "/" + wot.EscapeLevel(thing) + "/actions/" + ActionName
}

// requestsFilter is what the responder (the agent) subscribes to.
func (s shape) requestsFilter(agent string) string {
	if s.target == TargetWotmq {
		return wot.RequestsTopic(agent)
	}
	return rawRoot + "/+/actions/" + ActionName
}

// replyTopic is a consumer's ResponseTopic: below replies/{its name}, which
// the hub requires and any broker relays, then its client ID (clients that
// share an account do not share replies).
func (s shape) replyTopic(name, clientID string) string {
	return "replies/" + wot.EscapeLevel(name) + "/" + wot.EscapeLevel(clientID)
}

// tdTopic is where agent registers thing (TargetWotmq only).
func (s shape) tdTopic(agent, thing string) string {
	return wot.Topic{Kind: wot.TopicAgentTD, AgentID: agent, ThingID: thing}.String()
}

// benchTD is the Thing every agent registers: an event whose data is the
// load tool's payload and an action that echoes an integer.
func benchTD(id string) []byte {
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":` + quote(id) + `,"title":"wotmq bench",` +
		`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc",` +
		`"events":{"` + EventName + `":{"data":{"type":"object","properties":{` +
		`"seq":{"type":"integer"},"ts":{"type":"integer"},"m":{"type":"integer"},"pad":{"type":"string"}}}}},` +
		`"actions":{"` + ActionName + `":{"input":{"type":"integer"},"output":{"type":"integer"}}}}`)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
