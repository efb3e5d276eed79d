// Package proxy makes the hub the agent of existing MQTT devices described
// by their TDs ("brownfield"): a Tasmota plug on stat/... and cmnd/..., a
// sensor behind Zigbee2MQTT, any MQTT 3.1.1 or 5 client that knows nothing
// of wotmq. docs/brownfield.md is the user's guide.
//
// # Registration
//
// An account that may register Things registers a TD with the top-level
// member "wotmq:proxy": true (twin.ProxyMember), over HTTP (PUT
// /things/{id}) or MQTT (AgentUpdateTD). Checker, the core's
// Options.CheckTD, refuses a TD whose forms the proxy cannot use or whose
// topics the account may not use under the access rules. The account then
// is the Thing's agent, and the proxy acts as it: an account serves its own
// Things or proxied devices, never both (the core refuses the mix).
//
// # Device to twin
//
// The proxy taps (twin.Core.Tap) the topic filters the forms name
// (mqv:filter, mqv:topic, or the path of an mqtt:// href) and turns each
// message into a property value or an event through the codec of its form
// (contentType, wotmq:pointer, wotmq:map): published on the agent's topic
// through twin.Core.Publish, it is checked, stored with history, stamped
// and fanned out exactly as an agent's. The availability topic
// (AvailabilityMember) sets the twin's presence. A device's filters are
// tapped as soon as its TD is stored, before the registration is answered,
// so a report the device sends right after that answer is taken; at the
// hub's start, the registered devices' filters are tapped before the
// listeners accept clients, so a device that says Online at once is heard
// (what it left retained before is not trusted then: it may be gone).
//
// # Twin to device
//
// The proxy receives its agents' requests like any agent (the core's
// connection events and its requests topic, heard with twin.Core.Listen),
// publishes each as the device's command through the Transport (the
// broker's inline client), and reports the outcome on the agent's replies
// topic: completed once the broker took the command, or when the device
// reports the property the TD names (ConfirmedByMember). While the device
// is offline a request is held and reported waiting; it goes out when the
// device says it is online again and subscribes to its command topic.
// Held and confirming requests are in the inbox, so they survive a
// restart.
//
// # Concurrency
//
// Everything the proxy decides happens on one worker goroutine, in the
// order it was heard: the taps and listeners only queue work (they run on
// a client's goroutine or inside the core's locks, where they must not
// block). Device messages beyond Options.MaxQueued are dropped and counted
// in the log; requests and TD changes are never dropped.
package proxy
