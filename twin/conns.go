package twin

// Connection events: the transport tells the core when a connection of an
// identity starts, when it subscribes to or drops the identity's requests
// (an agent then receives requests, its waiting ones are delivered), and
// when it ends. Presence follows: an agent's Things are online while it
// has a connection, offline after a clean end of the last one, lost after
// a broken one.

// Conn is one connection as the core knows it.
type Conn struct {
	// ID names the connection (the MQTT adapter's client pointer).
	ID ConnID
	// Client is the client ID the connection gave, for the log.
	Client string
	// Remote is the client's network address.
	Remote string
	// Legacy is set for an MQTT 3.1.1 connection: requests then also go
	// out on the 3.1.1 requests topics, which carry the action ID as a
	// topic level (3.1.1 has no user properties).
	Legacy bool
}

// AgentConnected notes a connection of identity agent that began (or
// resumed its session); the agent's Things go online with its first one.
func (c *Core) AgentConnected(agent string, conn Conn) {
	c.agentConnected(agent, conn.Remote, c.conns.add(agent, conn.ID, conn.Legacy))
}

// ReceivesRequests reports whether a subscription filter of conn makes
// agent a receiver of its requests (see receivesRequests); with announce
// set a 3.1.1 connection that subscribed to the MQTT 5 requests topic is
// told off in the log.
func (c *Core) ReceivesRequests(agent string, conn Conn, filter string, announce bool) bool {
	return c.receivesRequests(conn.Legacy, conn.Client, agent, filter, announce)
}

// AgentSubscribed notes that conn of agent receives requests now: the
// agent's waiting requests are delivered (on a goroutine of the core, so
// that the transport acknowledges the subscription first).
func (c *Core) AgentSubscribed(agent string, conn Conn) {
	c.agentOnline(agent, conn.ID, conn.Legacy, conn.Client, conn.Remote)
}

// AgentUnsubscribed notes that conn of agent receives no requests any more.
// When it was the last one, the agent's unfinished safe actions fail.
func (c *Core) AgentUnsubscribed(agent string, conn Conn) {
	c.agentOffline(agent, conn.ID, conn.Client)
}

// ConnectionEnded notes the end of conn of agent: cleanly (a normal
// DISCONNECT) or not. replaced reports whether a newer connection took
// the session over (it is asked only when conn was the agent's last):
// that one is about to count itself in, so the Things stay online.
func (c *Core) ConnectionEnded(agent string, conn Conn, clean bool, replaced func() bool) {
	c.agentOffline(agent, conn.ID, conn.Client)
	if c.conns.remove(agent, conn.ID) && (replaced == nil || !replaced()) {
		c.agentDisconnected(agent, conn.Remote, clean)
	}
}

// AgentsOnline is the number of agents that receive requests now.
func (c *Core) AgentsOnline() int { return c.agents.count() }

// AgentLost notes that conn of agent, which took over the session of an
// earlier connection, ended before AgentConnected counted it in: the
// earlier connection left the agent's Things online for it, so when the
// agent has no connection now they are lost.
func (c *Core) AgentLost(agent string, conn Conn) {
	if !c.conns.connected(agent) {
		c.agentDisconnected(agent, conn.Remote, false)
	}
}

// Window is the most requests the hub delivers to one agent before it
// answers one; more wait as pending (Options.Window).
func (c *Core) Window() int { return c.window }
