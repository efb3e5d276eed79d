package twin

import (
	"context"
	"sync"

	"github.com/wotmq/wotmq/wire"
)

// Requests handed over between an agent's connections. Every receiving
// connection of an agent subscribes to the same requests topic, so it gets
// exactly the requests sent after it subscribed. When one ends (or stops
// receiving) while others stay, the agent's delivered requests that were
// sent before each remaining one subscribed reached none of them: they are
// delivered again. This covers an agent that reconnects, with a clean
// session, before the hub handled the end of its old connection (a
// session takeover, or a reconnect faster than the transport's cleanup),
// and an agent with two connections of which the one that got a request
// drops. The order is a sequence in memory, not a clock: a connection's
// place when it subscribed (clientSet) and a request's when it was last
// sent (sentSeq), kept until the request finishes. A request sent before
// the hub started has no place and counts as sent before every connection
// (the first connection to subscribe delivers it again anyway).
type sentSeq struct {
	mu   sync.Mutex
	next uint64
	sent map[string]uint64 // request ID → sequence of its last send
}

// tick returns the next sequence.
func (s *sentSeq) tick() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return s.next
}

// record notes that request id is sent now.
func (s *sentSeq) record(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = make(map[string]uint64)
	}
	s.next++
	s.sent[id] = s.next
}

// forget drops a finished request.
func (s *sentSeq) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sent, id)
}

// before reports whether request id was last sent before sequence seq.
func (s *sentSeq) before(id string, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[id] < seq
}

// handOverLocked delivers again the agent's delivered requests that none
// of its remaining receiving connections got, after one of them ended or
// stopped receiving. The caller holds the agent's lock.
func (c *Core) handOverLocked(ctx context.Context, agent string) {
	oldest, online := c.agents.oldest(agent)
	if !online {
		return
	}
	q, err := c.inbox.Queue(ctx, agent)
	if err != nil {
		c.log.Error().Err(err).Str("agent", agent).Msg("cannot read requests")
		return
	}
	again := map[string]bool{}
	for _, e := range q {
		if e.Status == wire.StatusDelivered && c.sentSeq.before(e.ID, oldest) {
			again[e.ID] = true
		}
	}
	if len(again) == 0 {
		return
	}
	c.log.Debug().Str("agent", agent).Int("requests", len(again)).Msg("requests handed over to the agent's other connections")
	c.redeliverLocked(ctx, agent, again)
}
