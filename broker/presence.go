package broker

import (
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// presence tracks which agents can receive requests right now: an agent is
// online while at least one of its connections is subscribed to its
// requests topic. Connections are keyed by client pointer, so a session
// takeover (the same client ID connecting again) never marks the agent
// offline by the old connection's late disconnect.
type presence struct {
	mu     sync.Mutex
	online map[string]map[*mqtt.Client]struct{}
}

func (p *presence) init() { p.online = make(map[string]map[*mqtt.Client]struct{}) }

// add marks cl as a receiving connection of agent and reports whether the
// agent was offline before.
func (p *presence) add(agent string, cl *mqtt.Client) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	if set == nil {
		set = make(map[*mqtt.Client]struct{})
		p.online[agent] = set
	}
	_, had := set[cl]
	set[cl] = struct{}{}
	return len(set) == 1 && !had
}

// remove drops cl and reports whether the agent is now offline.
func (p *presence) remove(agent string, cl *mqtt.Client) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.online[agent]
	if set == nil {
		return false
	}
	if _, ok := set[cl]; !ok {
		return false
	}
	delete(set, cl)
	if len(set) == 0 {
		delete(p.online, agent)
		return true
	}
	return false
}

// isOnline reports whether agent has a receiving connection.
func (p *presence) isOnline(agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.online[agent]) > 0
}
