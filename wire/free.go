package wire

import "strings"

// Free topics: every topic outside the hub's namespaces works as on a plain
// MQTT 5 broker, under the access rules (docs/security.md, "Free topics").
// The hub's namespaces are things/, agents/, replies/, wotmq/ and every
// topic starting with "$" (the server's, [MQTT-4.7.2-1]).

// HubRoot is the first level of the hub's own topics (wotmq/admin); its
// retained hub TD lives under "$"+HubRoot, out of reach of "#".
const HubRoot = "wotmq"

// reservedRoots are the first levels of the hub's namespaces.
var reservedRoots = map[string]bool{ThingsRoot: true, AgentsRoot: true, RepliesRoot: true, HubRoot: true}

// IsFreeTopic reports whether a topic name (or filter) lies outside the
// hub's namespaces: its first level is none of things, agents, replies,
// wotmq, and it does not start with "$". A filter whose first level is a
// wildcard is not free: it reaches into the hub's namespaces too.
func IsFreeTopic(topic string) bool {
	if topic == "" || topic[0] == '$' {
		return false
	}
	first, _, _ := strings.Cut(topic, "/")
	if first == "+" || first == "#" {
		return false
	}
	return !reservedRoots[first]
}

// ReachesFreeTopics reports whether a subscription filter can match a free
// topic: it is free, or its first level is a wildcard.
func ReachesFreeTopics(filter string) bool {
	if IsFreeTopic(filter) {
		return true
	}
	first, _, _ := strings.Cut(filter, "/")
	return first == "+" || first == "#"
}
