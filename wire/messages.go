package wire

import (
	"encoding/json"
	"time"
)

// ActionStatus is the record the hub keeps for every action request and
// property write. It is the retained payload of the action status topic
// (queryaction).
type ActionStatus struct {
	ID        string          `json:"id"`
	ThingID   string          `json:"thingID"`
	Name      string          `json:"name"`
	Op        string          `json:"op"` // OpInvokeAction or OpWriteProperty
	Status    Status          `json:"status"`
	Input     json.RawMessage `json:"input,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     *Error          `json:"error,omitempty"`
	Sender    string          `json:"sender,omitempty"`
	Requested time.Time       `json:"requested"`
	Updated   time.Time       `json:"updated"`
	Expires   time.Time       `json:"expires,omitzero"`
}

// HistoryQuery is the payload of a history request. Every field is
// optional; an empty payload asks for the oldest items kept.
type HistoryQuery struct {
	// From and To bound the time range (inclusive, exclusive).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Limit caps the items in one page (hub default and maximum apply).
	Limit int `json:"limit,omitempty"`
	// Cursor continues after the last item of an earlier page: pass that
	// page's Next.
	Cursor string `json:"cursor,omitempty"`
	// Latest asks for the latest value of each matching event and
	// property instead of the history (kept even after history expired).
	Latest bool `json:"latest,omitempty"`
}

// HistoryKind says whether a history item is an event or a property value.
type HistoryKind string

// History item kinds.
const (
	KindEvent    HistoryKind = "event"
	KindProperty HistoryKind = "property"
)

// HistoryItem is one stored event or property value.
type HistoryItem struct {
	Kind   HistoryKind     `json:"kind"`
	Name   string          `json:"name"`
	Value  json.RawMessage `json:"value"`
	Time   time.Time       `json:"time"`
	Sender string          `json:"sender,omitempty"`
	Cursor string          `json:"cursor"`
}

// HistoryPage is the reply to a HistoryQuery: items in time order, oldest
// first, and Next, the cursor of the following page ("" when there is none).
type HistoryPage struct {
	Items []HistoryItem `json:"items"`
	Next  string        `json:"next,omitempty"`
}

// SignalType is the kind of a real-time channel signalling message.
type SignalType string

// Signal types. A consumer sends an offer, the agent an answer; both trickle
// candidates; either ends the session with bye; the hub or the agent reports
// a refusal with error.
const (
	SignalOffer     SignalType = "offer"
	SignalAnswer    SignalType = "answer"
	SignalCandidate SignalType = "candidate"
	SignalBye       SignalType = "bye"
	SignalError     SignalType = "error"
)

// Signal is the payload of real-time channel signalling: a WebRTC session
// description (offer, answer), an ICE candidate, or the end of a session.
// The hub relays it between the consumer (on things/{id}/channel, answers
// on its ResponseTopic) and the agent that owns the Thing (on
// agents/{a}/requests with op "signal", answering on agents/{a}/signals).
type Signal struct {
	Session   string          `json:"session"`
	Type      SignalType      `json:"type"`
	Label     string          `json:"label,omitempty"`     // data channel label (offer)
	SDP       string          `json:"sdp,omitempty"`       // offer, answer
	Candidate json.RawMessage `json:"candidate,omitempty"` // an ICE candidate init (candidate)
	Error     *Error          `json:"error,omitempty"`     // error
}
