// Package twin is the hub's core: the digital twins of the Things its
// agents expose, and the rules between agents and consumers, with no
// transport in it. It imports no MQTT library, no net/http and not
// zerolog's global logger (TestDependencies keeps it so).
//
// # The core
//
// New builds a Core over the stores (directory, inbox, outbox, presence,
// accounts) that the caller opened; Options' zero value is safe apart from
// the stores. Start publishes the retained state the hub owns and starts
// the expiry sweep; Close stops it. The core publishes only through the
// Publisher it is given and logs only to the Logger it is given.
//
// # Messages
//
// A transport converts what a client publishes into a Message once, at
// its edge, and hands it to Core.Publish with the sender's identity and a
// ConnID; the core answers with a wire.Error (a code each transport maps)
// and publishes through the Publisher, which bypasses authorization. The
// work Publish returns as after (the fan-out of an agent's event) waits
// for the client's acknowledgement.
//
// # Connections
//
// The transport reports connection events: AgentConnected,
// AgentSubscribed (the connection receives the agent's requests),
// AgentUnsubscribed, ConnectionEnded and AgentLost. Presence and the
// delivery of waiting requests follow from them.
//
// # Bindings
//
// A transport that serves the twins beside MQTT uses the exported API:
// Submit, Watch and Cancel for requests, Listen for the hub's publishes,
// RegisterTD, DeleteThing, TwinTD and HubTD for TDs. It adds its forms to
// the TDs the core builds through a Binding, given to Start in Forms.
//
// # Locks
//
// Requests of one agent are decided under an agent lock (one of 64, by a
// hash of the agent ID), and committed after it (line.go): the inbox's
// staged writes show each change to the next decision at once, and what
// depends on a change (a status, the request to the agent) runs on the
// lock's line, in order, once the change is committed. Inside the lock,
// and on the line, the core takes the short locks of its sets
// (connections, watchers, listeners, signalling sessions), never the other
// way round; Watch and Listen callbacks run inside the agent lock or on its
// line and must not block or call back into the core. docs/architecture.md
// has the whole lock order.
package twin
