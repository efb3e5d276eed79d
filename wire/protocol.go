package wire

// Agent operations: what an agent does towards the hub. They are the names
// of the actions in the hub's own Thing Description.
const (
	OpAgentUpdateTD       = "AgentUpdateTD"
	OpAgentPublishEvent   = "AgentPublishEvent"
	OpAgentUpdateProperty = "AgentUpdateProperty"
	OpAgentReceive        = "AgentReceiveRequests"
	OpAgentSetPresence    = "AgentSetPresence"
	OpAgentReply          = "AgentReply"
)

// Request operations: the value of [PropOp] on a request the hub hands to an
// agent.
const (
	OpInvokeAction  = "invokeaction"
	OpWriteProperty = "writeproperty"
	// OpCancelAction asks the agent to stop a request it was delivered;
	// the request's action-id user property names it.
	OpCancelAction = "cancelaction"
	// OpSignal relays real-time channel signalling (a Signal) from a
	// consumer to the agent; the session user property names the channel.
	OpSignal = "signal"
)

// User-property names used on the wire (MQTT 5).
const (
	// PropSender is the authenticated identity that caused a message,
	// stamped by the hub. Never taken from a client's payload.
	PropSender = "sender"
	// PropTime is when the hub accepted a message, RFC 3339 with nanoseconds.
	// On an agent's event or property value it may say when the value
	// happened (an edge hub forwarding its history, a device uploading
	// readings it kept); the hub then relays and keeps that time.
	PropTime = "time"
	// PropSeq, on an agent's event or property value, is a number that
	// grows with each of the agent's publishes for the Thing: the hub
	// acknowledges, and does not store again, one not above the newest it
	// stored (an edge hub's forwarding sends each record again until it
	// is acknowledged).
	PropSeq = "seq"
	// PropStatus is an action's status (a Status value).
	PropStatus = "status"
	// PropActionID is the hub-assigned ID of an action request.
	PropActionID = "action-id"
	// PropError is the stable error code (a Code) of a failed request.
	PropError = "error"
	// PropMessage is a human-readable explanation that goes with PropError.
	PropMessage = "message"
	// PropOp is the operation of a request delivered to an agent.
	PropOp = "op"
	// PropThing is the Thing ID a request delivered to an agent is for.
	PropThing = "thing"
	// PropName is the affordance name a request or history item is for.
	PropName = "name"
	// PropReplies lets a consumer choose which status updates it receives on
	// its ResponseTopic: RepliesAll (the default) or RepliesFinal.
	PropReplies = "replies"
	// PropRedelivered marks a request the hub sends again to an agent that
	// reconnected before answering it (at-least-once delivery).
	PropRedelivered = "redelivered"
	// PropSession names a real-time channel signalling session.
	PropSession = "session"
)

// Presence is the connectivity state of a Thing, published retained on
// things/{id}/presence.
type Presence string

// Presence states. online and offline follow the agent's connection; an
// agent fronting devices sets sleeping or lost (and online) per Thing.
const (
	PresenceOnline   Presence = "online"
	PresenceOffline  Presence = "offline"
	PresenceLost     Presence = "lost"
	PresenceSleeping Presence = "sleeping"
)

// Valid reports whether p is a known presence state.
func (p Presence) Valid() bool {
	switch p {
	case PresenceOnline, PresenceOffline, PresenceLost, PresenceSleeping:
		return true
	}
	return false
}

// Values of PropReplies.
const (
	RepliesAll   = "all"
	RepliesFinal = "final"
)

// Status is the lifecycle state of an action request or property write.
type Status string

// Action statuses. A request moves pending -> delivered -> (running)* ->
// completed | failed; pending may go straight to failed (expired,
// cancelled).
const (
	StatusPending   Status = "pending"
	StatusDelivered Status = "delivered"
	StatusRunning   Status = "running"
	// StatusWaiting is reported by an agent whose device is asleep or
	// unreachable behind it: the request is accepted and waits there.
	StatusWaiting   Status = "waiting"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// Final reports whether s is an end state.
func (s Status) Final() bool { return s == StatusCompleted || s == StatusFailed }

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusDelivered, StatusRunning, StatusWaiting, StatusCompleted, StatusFailed:
		return true
	}
	return false
}
