package wot

// PendingCalls is the number of calls the client's correlator holds: zero
// once every call has ended, whichever way.
func (c *Client) PendingCalls() int { return c.calls.len() }

// LateReplies counts replies that came for calls no longer waiting.
func (c *Client) LateReplies() uint64 { return c.calls.late.Load() }

// RepeatedRequests counts requests the hub delivered again that the agent
// did not run again.
func (c *Client) RepeatedRequests() uint64 { return c.agent.repeats.Load() }
