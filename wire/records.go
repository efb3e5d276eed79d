package wire

import (
	"encoding/json"
	"time"
)

// Retained twin records (docs/topics.md). The hub writes them; the SDK
// reads them.

// PresenceState is the retained payload of things/{id}/presence.
type PresenceState struct {
	State Presence  `json:"state"`
	Since time.Time `json:"since"`
	// Seq increases by one with every change of the Thing's presence,
	// also across hub restarts.
	Seq uint64 `json:"seq"`
}

// UnmarshalJSON accepts the record and, from hubs or agents that send
// only the state, a bare JSON string.
func (p *PresenceState) UnmarshalJSON(b []byte) error {
	var s Presence
	if json.Unmarshal(b, &s) == nil {
		*p = PresenceState{State: s}
		return nil
	}
	type plain PresenceState
	return json.Unmarshal(b, (*plain)(p))
}

// DesiredState is the retained payload of
// things/{id}/properties/{name}/desired: the value of the newest write the
// agent has not reported yet.
type DesiredState struct {
	Value   json.RawMessage `json:"value"`
	Time    time.Time       `json:"time"`
	Version uint64          `json:"version"`
	// ActionID is the write request that set it.
	ActionID string `json:"actionID"`
}

// DeltaEntry is one property of a Thing's delta (things/{id}/delta,
// retained, by property name): where desired and reported differ.
type DeltaEntry struct {
	Desired      json.RawMessage `json:"desired"`
	Reported     json.RawMessage `json:"reported,omitempty"`
	Version      uint64          `json:"version"`
	DesiredTime  time.Time       `json:"desiredTime"`
	ReportedTime time.Time       `json:"reportedTime,omitzero"`
}

// ActionHistoryPage is the reply to an outcome history query
// (things/{id}/actions/{name}/history): the kept finished requests of an
// action, newest first.
type ActionHistoryPage struct {
	Items []ActionStatus `json:"items"`
}
