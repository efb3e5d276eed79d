package authz

import (
	"strings"

	"github.com/wotmq/wotmq/wot"
)

// Identity is who a client is.
type Identity struct {
	// ID is the account (agent) ID the hub stamps as sender.
	ID string
}

// IdentityOf derives an identity from MQTT CONNECT fields: the username if
// set, else the client ID.
func IdentityOf(username, clientID string) Identity {
	if username != "" {
		return Identity{ID: username}
	}
	return Identity{ID: clientID}
}

func denied(format string, args ...any) error {
	return wot.Errorf(wot.CodeDenied, format, args...)
}

// CanPublish decides whether id may publish on topic, parsed as t. A nil
// error allows it; otherwise the error is a *wot.Error with CodeDenied or
// CodeInvalidTopic.
func CanPublish(id Identity, topic string, t wot.Topic) error {
	if strings.HasPrefix(topic, "$") {
		return denied("topics starting with $ are reserved for the broker")
	}
	switch t.Kind {
	case wot.TopicUnknown:
		if topic == wot.HubTDTopic || strings.HasPrefix(topic, "wotmq/") {
			return denied("only the hub publishes on wotmq/ topics")
		}
		if strings.HasPrefix(topic, wot.ThingsRoot+"/") || strings.HasPrefix(topic, wot.AgentsRoot+"/") {
			return wot.Errorf(wot.CodeInvalidTopic, "topic %q does not follow the wotmq topic scheme", topic)
		}
		return nil // free pub/sub space, e.g. consumers' reply topics
	case wot.TopicAction, wot.TopicPropertySet, wot.TopicThingHistory,
		wot.TopicEventHistory, wot.TopicPropertyHistory, wot.TopicActionCancel, wot.TopicActionHistory:
		return nil // consumer requests
	case wot.TopicTD, wot.TopicProperty, wot.TopicEvent, wot.TopicActionStatus,
		wot.TopicPropertyDesired, wot.TopicDelta, wot.TopicPresence:
		return denied("only the hub publishes on twin topics; agents publish under agents/{agentID}/")
	case wot.TopicAgentRequests:
		return denied("only the hub publishes requests to agents")
	}
	if t.AgentID != id.ID {
		return denied("%q cannot publish as agent %q", id.ID, t.AgentID)
	}
	return nil
}

// CanReceive decides whether id may subscribe to filter or receive a
// message on the topic filter names. It is called for every delivery, so
// it only compares strings.
func CanReceive(id Identity, filter string) bool {
	rest, ok := strings.CutPrefix(filter, wot.AgentsRoot+"/")
	if !ok {
		return true // deliveries on agents/ topics are checked per topic
	}
	agent, _, _ := strings.Cut(rest, "/")
	return agent == wot.EscapeLevel(id.ID)
}
