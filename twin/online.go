package twin

import (
	"sync"
)

// clientSet tracks connections per identity. The hub keeps two: the
// connections of each identity, and those subscribed to the identity's
// requests topic (the agent can receive requests while it has one).
// Connections are keyed by their ConnID (the MQTT adapter's client
// pointer), each with whether it speaks MQTT 3.1.1, so a session takeover (the same
// client ID connecting again) never counts the agent gone by the old
// connection's late disconnect.
type clientSet struct {
	mu     sync.Mutex
	online map[string]map[ConnID]bool
}

func (p *clientSet) init() { p.online = make(map[string]map[ConnID]bool) }

// add marks conn as a receiving connection of agent (legacy: an MQTT 3.1.1
// one) and reports whether the agent was offline before.
func (p *clientSet) add(agent string, conn ConnID, legacy bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	if set == nil {
		set = make(map[ConnID]bool)
		p.online[agent] = set
	}
	_, had := set[conn]
	set[conn] = legacy
	return len(set) == 1 && !had
}

// remove drops conn and reports whether the agent is now offline.
func (p *clientSet) remove(agent string, conn ConnID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	if set == nil {
		return false
	}
	if _, ok := set[conn]; !ok {
		return false
	}
	delete(set, conn)
	if len(set) == 0 {
		delete(p.online, agent)
		return true
	}
	return false
}

// isOnline reports whether agent has a connection in the set.
func (p *clientSet) isOnline(agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.online[agent]) > 0
}

// connected is isOnline, for the set of connections.
func (p *clientSet) connected(agent string) bool { return p.isOnline(agent) }

// legacy reports whether agent has an MQTT 3.1.1 connection in the set:
// requests then also go out on the 3.1.1 requests topics, which carry the
// action ID as a topic level (3.1.1 has no user properties).
func (p *clientSet) legacy(agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, legacy := range p.online[agent] {
		if legacy {
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
