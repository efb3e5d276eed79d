package twin

import (
	"slices"
	"sync"
)

// clientSet tracks connections per identity. The hub keeps two: the
// connections of each identity, and those subscribed to the identity's
// requests topic (the agent can receive requests while it has one).
// Connections are keyed by their ConnID (the MQTT adapter's client
// pointer), each with whether it speaks MQTT 3.1.1, so a session takeover (the same
// client ID connecting again) never counts the agent gone by the old
// connection's late disconnect.
//
// An identity's connections are a slice, not a map: it has one or two
// (a takeover), and a map with one entry cost 360 bytes per idle
// connection (issue 15), a slice of one 32.
type clientSet struct {
	mu     sync.Mutex
	online map[string][]member
}

// member is a connection in a clientSet.
type member struct {
	conn   ConnID
	legacy bool   // it speaks MQTT 3.1.1
	since  uint64 // the core's sequence when it was added (see receivedSince)
}

func (p *clientSet) init() { p.online = make(map[string][]member) }

// find is the index of conn in set, or -1.
func find(set []member, conn ConnID) int {
	for i := range set {
		if set[i].conn == conn {
			return i
		}
	}
	return -1
}

// add marks conn as a receiving connection of agent (legacy: an MQTT 3.1.1
// one) as of sequence since, and reports whether the agent was offline
// before. A connection added again keeps its first sequence: it has
// received all along.
func (p *clientSet) add(agent string, conn ConnID, legacy bool, since uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	if i := find(set, conn); i >= 0 {
		set[i].legacy = legacy
		return false
	}
	p.online[agent] = append(set, member{conn: conn, legacy: legacy, since: since})
	return len(set) == 0
}

// remove drops conn and reports whether it was in the set and whether the
// agent is now offline.
func (p *clientSet) remove(agent string, conn ConnID) (was, offline bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	i := find(set, conn)
	if i < 0 {
		return false, false
	}
	if len(set) == 1 {
		delete(p.online, agent)
		return true, true
	}
	p.online[agent] = slices.Delete(set, i, i+1)
	return true, false
}

// isOnline reports whether agent has a connection in the set.
func (p *clientSet) isOnline(agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.online[agent]) > 0
}

// connected is isOnline, for the set of connections.
func (p *clientSet) connected(agent string) bool { return p.isOnline(agent) }

// oldest is the earliest sequence at which one of agent's connections in
// the set was added; false when it has none. Each connection in the set
// has received what was sent after it was added, so a request sent before
// oldest reached none of them.
func (p *clientSet) oldest(agent string) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	first, any := uint64(0), false
	for _, m := range set {
		if !any || m.since < first {
			first, any = m.since, true
		}
	}
	return first, any
}

// legacy reports whether agent has an MQTT 3.1.1 connection in the set:
// requests then also go out on the 3.1.1 requests topics, which carry the
// action ID as a topic level (3.1.1 has no user properties).
func (p *clientSet) legacy(agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.online[agent] {
		if m.legacy {
			return true
		}
	}
	return false
}

// count is the number of identities with a connection in the set.
func (p *clientSet) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.online)
}
