package authz

import (
	"strings"
	"time"

	"github.com/wotmq/wotmq/wire"
)

// Identity is who a connected client is.
type Identity struct {
	// ID is the account ID the hub stamps as sender; for an anonymous
	// client of a hub in development mode, its username or client ID.
	ID string
	// Role decides what the client may do.
	Role Role
	// Anonymous marks a client admitted without credentials (development
	// mode, loopback only).
	Anonymous bool
	// Expires is when the token the client logged in with expires; zero
	// for a password, a certificate or an anonymous client. A token it
	// asks for cannot outlive it.
	Expires time.Time
	// Remote is the client's address (host), for the login throttle when
	// it proves its password again (a password change).
	Remote string
	// Client is the client ID an MQTT connection gave (%c in the access
	// rules of free topics); empty over HTTP.
	Client string
}

// AdminTopic is where clients send account and Thing management requests
// (request/response with a ResponseTopic under replies/{ID}/).
const AdminTopic = "wotmq/admin"

// RepliesRoot is the first level of reply topics: a client receives
// replies on replies/{its ID}/... and nobody else can read or write there.
const RepliesRoot = "replies"

func denied(format string, args ...any) error {
	return wire.Errorf(wire.CodeDenied, format, args...)
}

// publishOps maps consumer request topics to the operation they perform.
var publishOps = map[wire.TopicKind]Op{
	wire.TopicAction:          OpInvokeAction,
	wire.TopicPropertySet:     OpWriteProperty,
	wire.TopicThingHistory:    OpReadHistory,
	wire.TopicEventHistory:    OpReadHistory,
	wire.TopicPropertyHistory: OpReadHistory,
	wire.TopicActionCancel:    OpCancelAction,
	wire.TopicActionHistory:   OpQueryAction,
	wire.TopicChannel:         OpOpenChannel,
}

// receiveOps maps the hub's twin topics to the operation receiving them is.
var receiveOps = map[wire.TopicKind]Op{
	wire.TopicTD:              OpReadTD,
	wire.TopicProperty:        OpReadProperty,
	wire.TopicPropertyDesired: OpReadProperty,
	wire.TopicDelta:           OpReadProperty,
	wire.TopicPresence:        OpReadProperty,
	wire.TopicEvent:           OpSubscribeEvent,
	wire.TopicActionStatus:    OpQueryAction,
}

// CanPublish decides whether id may publish on topic, parsed as t. A nil
// error allows it; otherwise the error is a *wire.Error with CodeDenied or
// CodeInvalidTopic. Whether an agent owns the Thing it publishes for is
// directory state, checked by the hub.
func (s *Store) CanPublish(id Identity, topic string, t wire.Topic) error {
	if strings.HasPrefix(topic, "$") {
		return denied("topics starting with $ are reserved for the broker")
	}
	if wire.IsFreeTopic(topic) {
		return s.CanPublishFree(id, topic)
	}
	if op, ok := publishOps[t.Kind]; ok {
		return s.Decide(id, op, t.ThingID)
	}
	switch t.Kind {
	case wire.TopicUnknown:
		switch {
		case topic == AdminTopic:
			return nil // each admin request is decided by its operation
		case strings.HasPrefix(topic, "wotmq/"):
			return denied("only the hub publishes on wotmq/ topics")
		case strings.HasPrefix(topic, wire.ThingsRoot+"/"), strings.HasPrefix(topic, wire.AgentsRoot+"/"):
			return wire.Errorf(wire.CodeInvalidTopic, "topic %q does not follow the wotmq topic scheme", topic)
		}
		return denied("topic %q is not a topic of the wotmq topic scheme; see docs/topics.md", topic)
	case wire.TopicAgentRequests:
		return denied("only the hub publishes requests to agents")
	case wire.TopicAgentTD, wire.TopicAgentEvent, wire.TopicAgentProperty, wire.TopicAgentReplies, wire.TopicAgentPresence, wire.TopicAgentSignal:
		if t.AgentID != id.ID {
			return denied("%q cannot publish as agent %q", id.ID, t.AgentID)
		}
		if !Allowed(id.Role, OpExpose) {
			return denied("role %s cannot expose Things", id.Role)
		}
		return nil
	}
	return denied("only the hub publishes on twin topics; agents publish under agents/{agentID}/")
}

// Decide decides whether id may perform op on a Thing: the permission
// table first, then the Thing's access list (admins are not bound by it).
func (s *Store) Decide(id Identity, op Op, thingID string) error {
	if !Allowed(id.Role, op) {
		return denied("role %s may not %s", id.Role, op)
	}
	if thingID == "" || id.Role == RoleAdmin {
		return nil
	}
	acl, ok := s.ThingACL(thingID)
	if !ok {
		return nil
	}
	role := "role:" + string(id.Role)
	for _, d := range acl.Deny {
		if d == id.ID || d == role {
			return denied("%q may not use Thing %q (its access list)", id.ID, thingID)
		}
	}
	if len(acl.Allow) == 0 {
		return nil
	}
	for _, a := range acl.Allow {
		if a == id.ID || a == role {
			return nil
		}
	}
	return denied("%q may not use Thing %q (its access list)", id.ID, thingID)
}

// CanSubscribe decides a subscription filter. Filters that may match twin
// topics are admitted for consumer roles; every delivery is then checked
// by CanReceive, so a wide filter never shows more than the client may see.
// Filters over free topics are decided by the access rules
// (CanSubscribeFree); a filter starting with a wildcard reaches both.
func (s *Store) CanSubscribe(id Identity, filter string) bool {
	first, rest, _ := strings.Cut(filter, "/")
	switch first {
	case "$SYS", "$share":
		return id.Role == RoleAdmin && first == "$SYS"
	case wire.AgentsRoot:
		agent, _, _ := strings.Cut(rest, "/")
		return agent == wire.EscapeLevel(id.ID) && Allowed(id.Role, OpExpose)
	case RepliesRoot:
		who, _, _ := strings.Cut(rest, "/")
		return who == wire.EscapeLevel(id.ID)
	case "wotmq", "$wotmq":
		return filter == wire.HubTDTopic || filter == wire.LegacyHubTDTopic
	case wire.ThingsRoot:
		return Allowed(id.Role, OpReadTD) || Allowed(id.Role, OpExpose)
	case "+", "#":
		return Allowed(id.Role, OpReadTD) || Allowed(id.Role, OpExpose) || s.CanSubscribeFree(id, filter)
	}
	return wire.IsFreeTopic(filter) && s.CanSubscribeFree(id, filter)
}

// CanReceive decides one delivery of a message on topic to id. It runs for
// every message to every subscriber, so it only compares strings unless a
// Thing has an access list.
func (s *Store) CanReceive(id Identity, topic string) bool {
	first, rest, _ := strings.Cut(topic, "/")
	switch first {
	case wire.ThingsRoot:
	case wire.AgentsRoot:
		agent, _, _ := strings.Cut(rest, "/")
		return agent == wire.EscapeLevel(id.ID) && Allowed(id.Role, OpExpose)
	case RepliesRoot:
		who, _, _ := strings.Cut(rest, "/")
		return who == wire.EscapeLevel(id.ID)
	case "wotmq", "$wotmq":
		return topic == wire.HubTDTopic || topic == wire.LegacyHubTDTopic
	case "$SYS":
		return id.Role == RoleAdmin
	default:
		return wire.IsFreeTopic(topic) && s.CanReceiveFree(id, topic)
	}
	switch id.Role {
	case RoleOperator, RoleManager, RoleAdmin, RoleService:
		if id.Role == RoleAdmin || !s.HasACLs() {
			return true // these roles receive every twin topic
		}
	case RoleAgent:
		return false
	}
	t, err := wire.ParseTopic(topic)
	if err != nil {
		return false
	}
	op, ok := receiveOps[t.Kind]
	return ok && s.Decide(id, op, t.ThingID) == nil
}

// ReplyTopicFor checks that a ResponseTopic belongs to id: replies/{ID} or
// below it. Nobody else can subscribe there, so replies cannot be read by
// or forged into another client's topics.
func ReplyTopicFor(id Identity, topic string) error {
	prefix := RepliesRoot + "/" + wire.EscapeLevel(id.ID)
	if topic != prefix && !strings.HasPrefix(topic, prefix+"/") {
		return wire.Errorf(wire.CodeInvalidTopic, "ResponseTopic %q: replies go to %s or below it", topic, prefix)
	}
	if strings.ContainsAny(topic, "+#") {
		return wire.Errorf(wire.CodeInvalidTopic, "ResponseTopic %q holds a wildcard", topic)
	}
	return nil
}
