package wire

import (
	"strings"
	"unicode/utf8"
)

// Fixed topics and topic roots. See docs/topics.md.
const (
	// ThingsRoot is the first level of every consumer-facing twin topic.
	ThingsRoot = "things"
	// AgentsRoot is the first level of every agent topic.
	AgentsRoot = "agents"
	// HubTDTopic carries the hub's own Thing Description (retained). It
	// starts with "$", the server's topics, so that no subscription
	// starting with a wildcard ("#", "+/+") receives it [MQTT-4.7.2-1].
	HubTDTopic = "$wotmq/td"
	// LegacyHubTDTopic is where the hub TD was before HubTDTopic; it is
	// still retained there, for subscriptions that name it exactly (a
	// wildcard filter does not receive it; docs/topics.md).
	LegacyHubTDTopic = "wotmq/td"
	// MaxIDLength bounds Thing IDs, agent IDs and affordance names (bytes,
	// before escaping).
	MaxIDLength = 512
)

// TopicKind says what a topic is for.
type TopicKind int

// Topic kinds. Consumer-side kinds live under "things/", agent-side kinds
// under "agents/".
const (
	TopicUnknown         TopicKind = iota
	TopicTD                        // things/{id}/td                         retained twin TD
	TopicProperty                  // things/{id}/properties/{name}          retained value
	TopicPropertySet               // things/{id}/properties/{name}/set      writeproperty
	TopicPropertyHistory           // things/{id}/properties/{name}/history  history query
	TopicEvent                     // things/{id}/events/{name}              events
	TopicEventHistory              // things/{id}/events/{name}/history      history query
	TopicAction                    // things/{id}/actions/{name}             invokeaction
	TopicActionStatus              // things/{id}/actions/{name}/status      retained queryaction
	TopicThingHistory              // things/{id}/history                    history query, all affordances
	TopicActionCancel              // things/{id}/actions/{name}/cancel      cancelaction
	TopicActionHistory             // things/{id}/actions/{name}/history     past outcomes query
	TopicPropertyDesired           // things/{id}/properties/{name}/desired  retained desired state
	TopicDelta                     // things/{id}/delta                      retained desired/reported difference
	TopicPresence                  // things/{id}/presence                   retained presence
	TopicChannel                   // things/{id}/channel                    real-time channel signalling to the Thing
	TopicAgentTD                   // agents/{a}/things/{id}/td              AgentUpdateTD
	TopicAgentEvent                // agents/{a}/things/{id}/events/{name}   AgentPublishEvent
	TopicAgentProperty             // agents/{a}/things/{id}/properties/{n}  AgentUpdateProperty
	TopicAgentRequests             // agents/{a}/requests                    requests to the agent (3.1.1: .../requests/{id}/{op}/{name}/{actionID})
	TopicAgentReplies              // agents/{a}/replies                     the agent's replies (3.1.1: .../replies/{actionID}[/{status}])
	TopicAgentPresence             // agents/{a}/things/{id}/presence        a Thing's presence, set by its agent
	TopicAgentSignal               // agents/{a}/signals                     the agent's channel signalling
)

var kindNames = [...]string{"unknown", "td", "property", "property-set", "property-history",
	"event", "event-history", "action", "action-status", "thing-history",
	"action-cancel", "action-history", "property-desired", "delta", "presence", "channel",
	"agent-td", "agent-event", "agent-property", "agent-requests", "agent-replies", "agent-presence", "agent-signal"}

func (k TopicKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// AgentSide reports whether k is a topic an agent publishes or subscribes.
func (k TopicKind) AgentSide() bool { return k >= TopicAgentTD }

// Topic is a parsed wotmq topic. IDs and names are unescaped.
type Topic struct {
	Kind    TopicKind
	AgentID string // agent-side topics
	ThingID string
	Name    string // affordance name, where the kind has one

	// ActionID names the request on the topics of MQTT 3.1.1 agents, which
	// have no user properties or CorrelationData: a request to the agent
	// (TopicAgentRequests, with Op) and the agent's reply
	// (TopicAgentReplies, with Status when it is not completed). Empty on
	// the MQTT 5 topics.
	ActionID string
	// Op is the operation of a request on the 3.1.1 requests topic
	// (invokeaction, writeproperty, cancelaction).
	Op string
	// Status is the status level of a 3.1.1 reply (running, waiting,
	// completed, failed); "" means completed.
	Status string
}

// String builds the topic, escaping every ID and name with EscapeLevel.
// It returns "" for TopicUnknown.
func (t Topic) String() string {
	id, name, agent := EscapeLevel(t.ThingID), EscapeLevel(t.Name), EscapeLevel(t.AgentID)
	switch t.Kind {
	case TopicTD:
		return ThingsRoot + "/" + id + "/td"
	case TopicProperty:
		return ThingsRoot + "/" + id + "/properties/" + name
	case TopicPropertySet:
		return ThingsRoot + "/" + id + "/properties/" + name + "/set"
	case TopicPropertyHistory:
		return ThingsRoot + "/" + id + "/properties/" + name + "/history"
	case TopicEvent:
		return ThingsRoot + "/" + id + "/events/" + name
	case TopicEventHistory:
		return ThingsRoot + "/" + id + "/events/" + name + "/history"
	case TopicAction:
		return ThingsRoot + "/" + id + "/actions/" + name
	case TopicActionStatus:
		return ThingsRoot + "/" + id + "/actions/" + name + "/status"
	case TopicThingHistory:
		return ThingsRoot + "/" + id + "/history"
	case TopicActionCancel:
		return ThingsRoot + "/" + id + "/actions/" + name + "/cancel"
	case TopicActionHistory:
		return ThingsRoot + "/" + id + "/actions/" + name + "/history"
	case TopicPropertyDesired:
		return ThingsRoot + "/" + id + "/properties/" + name + "/desired"
	case TopicDelta:
		return ThingsRoot + "/" + id + "/delta"
	case TopicPresence:
		return ThingsRoot + "/" + id + "/presence"
	case TopicChannel:
		return ThingsRoot + "/" + id + "/channel"
	case TopicAgentSignal:
		return AgentsRoot + "/" + agent + "/signals"
	case TopicAgentPresence:
		return AgentsRoot + "/" + agent + "/things/" + id + "/presence"
	case TopicAgentTD:
		return AgentsRoot + "/" + agent + "/things/" + id + "/td"
	case TopicAgentEvent:
		return AgentsRoot + "/" + agent + "/things/" + id + "/events/" + name
	case TopicAgentProperty:
		return AgentsRoot + "/" + agent + "/things/" + id + "/properties/" + name
	case TopicAgentRequests:
		if t.ActionID != "" {
			return AgentsRoot + "/" + agent + "/requests/" + id + "/" + EscapeLevel(t.Op) + "/" + name + "/" + EscapeLevel(t.ActionID)
		}
		return AgentsRoot + "/" + agent + "/requests"
	case TopicAgentReplies:
		if t.ActionID != "" {
			s := AgentsRoot + "/" + agent + "/replies/" + EscapeLevel(t.ActionID)
			if t.Status != "" {
				s += "/" + EscapeLevel(t.Status)
			}
			return s
		}
		return AgentsRoot + "/" + agent + "/replies"
	}
	return ""
}

// Convenience builders for the topics people use most.

// TDTopic is the retained twin TD topic of a Thing.
func TDTopic(thingID string) string { return Topic{Kind: TopicTD, ThingID: thingID}.String() }

// PropertyTopic is the retained value topic of a property.
func PropertyTopic(thingID, name string) string {
	return Topic{Kind: TopicProperty, ThingID: thingID, Name: name}.String()
}

// EventTopic is the topic a twin's event is published on.
func EventTopic(thingID, name string) string {
	return Topic{Kind: TopicEvent, ThingID: thingID, Name: name}.String()
}

// ActionTopic is the invokeaction topic of an action.
func ActionTopic(thingID, name string) string {
	return Topic{Kind: TopicAction, ThingID: thingID, Name: name}.String()
}

// ActionStatusTopic is the retained queryaction topic of an action.
func ActionStatusTopic(thingID, name string) string {
	return Topic{Kind: TopicActionStatus, ThingID: thingID, Name: name}.String()
}

// RequestsTopic is the topic an agent subscribes to for its requests.
func RequestsTopic(agentID string) string {
	return Topic{Kind: TopicAgentRequests, AgentID: agentID}.String()
}

// RepliesTopic is the ResponseTopic the hub sets on requests to an agent.
func RepliesTopic(agentID string) string {
	return Topic{Kind: TopicAgentReplies, AgentID: agentID}.String()
}

// LegacyRequestsFilter is the filter an MQTT 3.1.1 agent subscribes to for
// its requests: each arrives on
// agents/{agentID}/requests/{thingID}/{op}/{name}/{actionID}, the action
// ID it answers with in a topic level (docs/topics.md, "MQTT 3.1.1
// agents").
func LegacyRequestsFilter(agentID string) string {
	return AgentsRoot + "/" + EscapeLevel(agentID) + "/requests/+/+/+/+"
}

// LegacyReplyTopic is the topic an MQTT 3.1.1 agent answers a request on:
// agents/{agentID}/replies/{actionID}, with /{status} for running, waiting
// and failed.
func LegacyReplyTopic(agentID, actionID string, status Status) string {
	if status == StatusCompleted {
		status = ""
	}
	return Topic{Kind: TopicAgentReplies, AgentID: agentID, ActionID: actionID, Status: string(status)}.String()
}

// AllPropertiesFilter matches every property value topic of a Thing.
func AllPropertiesFilter(thingID string) string {
	return ThingsRoot + "/" + EscapeLevel(thingID) + "/properties/+"
}

// AllEventsFilter matches every event topic of a Thing.
func AllEventsFilter(thingID string) string {
	return ThingsRoot + "/" + EscapeLevel(thingID) + "/events/+"
}

// AllActionStatusFilter matches every action status topic of a Thing.
func AllActionStatusFilter(thingID string) string {
	return ThingsRoot + "/" + EscapeLevel(thingID) + "/actions/+/status"
}

// ParseTopic parses a wotmq topic name (not a filter). It returns an
// *Error with CodeInvalidTopic when the topic is under "things/" or
// "agents/" but does not follow the scheme or holds a badly escaped level,
// and Topic{Kind: TopicUnknown} with a nil error for topics outside the
// scheme.
func ParseTopic(s string) (Topic, error) {
	levels := strings.Split(s, "/")
	switch levels[0] {
	case ThingsRoot:
		return parseThingTopic(s, levels[1:])
	case AgentsRoot:
		return parseAgentTopic(s, levels[1:])
	}
	return Topic{}, nil
}

func parseThingTopic(s string, lv []string) (Topic, error) {
	var t Topic
	if len(lv) < 2 {
		return t, badTopic(s)
	}
	var err error
	if t.ThingID, err = UnescapeLevel(lv[0]); err != nil {
		return Topic{}, err
	}
	rest := lv[1:]
	switch {
	case len(rest) == 1 && rest[0] == "td":
		t.Kind = TopicTD
	case len(rest) == 1 && rest[0] == "history":
		t.Kind = TopicThingHistory
	case len(rest) == 1 && rest[0] == "delta":
		t.Kind = TopicDelta
	case len(rest) == 1 && rest[0] == "presence":
		t.Kind = TopicPresence
	case len(rest) == 1 && rest[0] == "channel":
		t.Kind = TopicChannel
	case len(rest) == 2 || len(rest) == 3:
		var suffix string
		if len(rest) == 3 {
			suffix = rest[2]
			if suffix == "" {
				return Topic{}, badTopic(s)
			}
		}
		t.Kind = thingKinds[[2]string{rest[0], suffix}]
		if t.Kind == TopicUnknown {
			return Topic{}, badTopic(s)
		}
		if t.Name, err = UnescapeLevel(rest[1]); err != nil {
			return Topic{}, err
		}
	default:
		return Topic{}, badTopic(s)
	}
	return t, nil
}

var thingKinds = map[[2]string]TopicKind{
	{"properties", ""}:        TopicProperty,
	{"properties", "set"}:     TopicPropertySet,
	{"properties", "history"}: TopicPropertyHistory,
	{"events", ""}:            TopicEvent,
	{"events", "history"}:     TopicEventHistory,
	{"actions", ""}:           TopicAction,
	{"actions", "status"}:     TopicActionStatus,
	{"actions", "cancel"}:     TopicActionCancel,
	{"actions", "history"}:    TopicActionHistory,
	{"properties", "desired"}: TopicPropertyDesired,
}

func parseAgentTopic(s string, lv []string) (Topic, error) {
	var t Topic
	if len(lv) < 2 {
		return t, badTopic(s)
	}
	var err error
	if t.AgentID, err = UnescapeLevel(lv[0]); err != nil {
		return Topic{}, err
	}
	rest := lv[1:]
	switch {
	case len(rest) == 1 && rest[0] == "requests":
		t.Kind = TopicAgentRequests
	case len(rest) == 1 && rest[0] == "replies":
		t.Kind = TopicAgentReplies
	case len(rest) == 5 && rest[0] == "requests":
		return parseLegacyRequest(s, t, rest[1:])
	case (len(rest) == 2 || len(rest) == 3) && rest[0] == "replies":
		return parseLegacyReply(s, t, rest[1:])
	case len(rest) == 1 && rest[0] == "signals":
		t.Kind = TopicAgentSignal
	case len(rest) == 3 && rest[0] == "things" && rest[2] == "td":
		t.Kind = TopicAgentTD
	case len(rest) == 3 && rest[0] == "things" && rest[2] == "presence":
		t.Kind = TopicAgentPresence
	case len(rest) == 4 && rest[0] == "things" && rest[2] == "events":
		t.Kind = TopicAgentEvent
	case len(rest) == 4 && rest[0] == "things" && rest[2] == "properties":
		t.Kind = TopicAgentProperty
	default:
		return Topic{}, badTopic(s)
	}
	if len(rest) >= 3 {
		if t.ThingID, err = UnescapeLevel(rest[1]); err != nil {
			return Topic{}, err
		}
	}
	if len(rest) == 4 {
		if t.Name, err = UnescapeLevel(rest[3]); err != nil {
			return Topic{}, err
		}
	}
	return t, nil
}

// parseLegacyRequest parses the levels {thingID}/{op}/{name}/{actionID}
// of a request to an MQTT 3.1.1 agent.
func parseLegacyRequest(s string, t Topic, lv []string) (Topic, error) {
	t.Kind = TopicAgentRequests
	var err error
	for i, p := range []*string{&t.ThingID, &t.Op, &t.Name, &t.ActionID} {
		if *p, err = UnescapeLevel(lv[i]); err != nil {
			return Topic{}, err
		}
	}
	return t, nil
}

// parseLegacyReply parses the levels {actionID}[/{status}] of an MQTT 3.1.1
// agent's reply.
func parseLegacyReply(s string, t Topic, lv []string) (Topic, error) {
	t.Kind = TopicAgentReplies
	var err error
	if t.ActionID, err = UnescapeLevel(lv[0]); err != nil {
		return Topic{}, err
	}
	if len(lv) == 2 {
		if t.Status, err = UnescapeLevel(lv[1]); err != nil {
			return Topic{}, err
		}
		if t.Status == string(StatusCompleted) {
			return Topic{}, Errorf(CodeInvalidTopic, "topic %q: a completed reply has no status level (%s)", s, LegacyReplyTopic(t.AgentID, t.ActionID, StatusCompleted))
		}
	}
	return t, nil
}

func badTopic(s string) error {
	return Errorf(CodeInvalidTopic, "topic %q does not follow the wotmq topic scheme (see docs/topics.md)", s)
}

// EscapeLevel turns an ID or name into one topic level, reversibly:
// "%" becomes "%25", "/" "%2F", "+" "%2B" and "#" "%23". Every other
// character stands for itself. Use ValidateID first: EscapeLevel does not
// reject anything.
func EscapeLevel(s string) string {
	if !strings.ContainsAny(s, "%/+#") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case '/':
			b.WriteString("%2F")
		case '+':
			b.WriteString("%2B")
		case '#':
			b.WriteString("%23")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UnescapeLevel reverses EscapeLevel. It refuses a level that EscapeLevel
// could not have produced (a "%" not starting one of the four escapes, a
// raw "+" or "#") and an unescaped value that ValidateID refuses, so that
// every accepted level maps to exactly one ID.
func UnescapeLevel(level string) (string, error) {
	if strings.ContainsAny(level, "+#") {
		return "", Errorf(CodeInvalidTopic, "topic level %q holds a wildcard", level)
	}
	s := level
	if strings.IndexByte(level, '%') >= 0 {
		var b strings.Builder
		for i := 0; i < len(level); i++ {
			c := level[i]
			if c != '%' {
				b.WriteByte(c)
				continue
			}
			if i+2 >= len(level) {
				return "", Errorf(CodeInvalidTopic, "topic level %q has a bad escape", level)
			}
			switch level[i+1 : i+3] { // upper case only: one spelling per ID
			case "25":
				b.WriteByte('%')
			case "2F":
				b.WriteByte('/')
			case "2B":
				b.WriteByte('+')
			case "23":
				b.WriteByte('#')
			default:
				return "", Errorf(CodeInvalidTopic, "topic level %q has a bad escape", level)
			}
			i += 2
		}
		s = b.String()
	}
	if err := ValidateID(s); err != nil {
		return "", err
	}
	return s, nil
}

// ValidateID checks that s can be a Thing ID, agent ID or affordance name:
// non-empty, valid UTF-8, no NUL or other control character, at most
// MaxIDLength bytes.
func ValidateID(s string) error {
	switch {
	case s == "":
		return Errorf(CodeInvalidTopic, "empty ID or name")
	case len(s) > MaxIDLength:
		return Errorf(CodeInvalidTopic, "ID or name longer than %d bytes", MaxIDLength)
	case !utf8.ValidString(s):
		return Errorf(CodeInvalidTopic, "ID or name is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return Errorf(CodeInvalidTopic, "ID or name %q holds a control character", s)
		}
	}
	return nil
}
