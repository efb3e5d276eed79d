// Package conformance checks a running wotmq hub, or any hub that claims
// the same wire contract, over the network.
//
// It is a test suite in the manner of testing/slogtest: Run connects to a
// hub, runs every check of the catalogue in order, and returns one Result
// per check; Err joins the failures into one error whose lines read
// "ID title: reason (cites ...)". Each check names what it enforces: a
// TD 1.1 assertion ID, an MQTT 5.0 normative statement or section, or a
// section of docs/topics.md.
//
// The package imports only td, wot, the paho MQTT client and the standard
// library. It knows nothing of the hub's internals.
//
// # What Run does
//
// Run connects two MQTT 5 clients: an agent, whose username is
// Config.AgentID, and a consumer. It reads the hub TD retained on
// wotmq/td and takes the agent's topics from the forms of its actions
// (AgentUpdateTD, AgentPublishEvent, AgentUpdateProperty, AgentReply) and
// event (AgentReceiveRequests), filling the URI template variables
// {agentID}, {thingID} and {name} with wot.EscapeLevel. It then registers
// a test Thing with a property, a read-only property, an event and an
// action with input and output schemas, reads the twin TD, and performs
// every operation through the twin TD's forms (mqv:topic or mqv:filter,
// mqv:controlPacket). The agent side is simulated: it subscribes to its
// requests and answers each on the request's ResponseTopic with the
// request's CorrelationData and a status user property.
//
// Where the TD has no form to follow (history queries, a write to a
// read-only property, an unknown action) the suite builds the topic with
// the topic scheme of package wot.
//
// Checks run one after the other, each within Config.Timeout. A check
// whose prerequisite failed fails too, with "skipped: prerequisite X
// failed", so the first failure in the list is the one to look at.
// Checks that prove something does not happen wait a short while (a tenth
// of the timeout, at most 300 ms) for it.
//
// When Run returns, it has deleted the test Thing (an empty AgentUpdateTD
// publish) and disconnected.
//
// # Running it against a hub
//
// From the command line:
//
//	wotmq conformance --broker hub.example.com:1883
//	wotmq conformance --broker 127.0.0.1:1883 --agent my-agent --timeout 10s --json
//
// From Go, for example in a test of another hub implementation:
//
//	results := conformance.Run(ctx, conformance.Config{Broker: "127.0.0.1:1883"})
//	if err := conformance.Err(results); err != nil {
//		t.Fatal(err)
//	}
//
// The hub must let the agent identity register Things and must accept
// the consumer. A hub that asks for credentials gets Config.AgentPassword
// for the agent and Config.Username and Config.Password for the consumer;
// a wotmq hub in Dev mode admits both from loopback without them. The suite publishes its replies on topics under
// "replies/", the free topic space of docs/topics.md. Its test Thing's ID
// is Config.ThingID, by default "urn:wotmq:conformance:" and a random
// suffix, so runs against a shared hub do not collide.
//
// # Adding a check
//
// Append an entry to the catalogue with a new, stable ID, a title that
// says what a passing hub does, what it cites, and the IDs of the checks
// it needs. A check must be able to fail: it compares what the hub sent
// with what the contract says and returns an error that explains the
// difference.
package conformance
