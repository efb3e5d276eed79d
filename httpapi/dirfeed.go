package httpapi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"sync"

	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// Directory event kinds (WoT Discovery, "Notification").
const (
	eventThingCreated = "thing_created"
	eventThingUpdated = "thing_updated"
	eventThingDeleted = "thing_deleted"
	// eventThingPresence is wotmq's own: a Thing's presence changed. Only
	// streams that ask get it (/events/thing_presence, /events?presence=true);
	// it is not remembered for Last-Event-ID, as presence is a state that a
	// client reads again after a reconnect.
	eventThingPresence = "thing_presence"
)

// dirFeedSize is how many directory events the hub remembers for clients
// that reconnect with Last-Event-ID.
const dirFeedSize = 1024

// dirEvent is one change of the directory.
type dirEvent struct {
	ID      string // increasing; the SSE id
	Type    string // eventThingCreated, ...
	ThingID string
	TD      []byte // created: the twin TD
	Patch   []byte // updated: the merge patch from the previous twin TD, with its id
	State   []byte // presence: the presence record, with the Thing's id
}

// dirFeed follows the twin TDs the hub publishes (things/+/td): it keeps
// the current ones (the directory API serves them as published) and turns
// changes into directory events for the event streams.
type dirFeed struct {
	unlisten, unlistenPresence func()

	mu   sync.Mutex
	live bool // events only once serving (restore republishes every TD)
	tds  map[string][]byte
	ring []dirEvent // the newest dirFeedSize events, oldest first
	last uint64
	subs map[*feedSub]struct{}
	now  func() int64
}

// feedSub is one event stream's subscription; fin ends when the stream
// falls too far behind (the client then resumes with Last-Event-ID).
type feedSub struct {
	ch       chan dirEvent
	fin      *ending
	presence bool // the stream asked for presence changes
}

func newDirFeed(h *Server) *dirFeed {
	f := &dirFeed{tds: map[string][]byte{}, subs: map[*feedSub]struct{}{},
		now: func() int64 { return h.opts.Now().UnixNano() }}
	f.unlisten = h.core.Listen(wire.ThingsRoot+"/+/td", f.onTD)
	f.unlistenPresence = h.core.Listen(wire.ThingsRoot+"/+/presence", f.onPresence)
	return f
}

// start turns on events: what the hub publishes from now on are changes.
func (f *dirFeed) start() {
	f.mu.Lock()
	f.live = true
	f.mu.Unlock()
}

func (f *dirFeed) stop() {
	f.unlisten()
	f.unlistenPresence()
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.fin.end()
	}
}

// onTD runs on the publishing goroutine (bus): it must not block.
func (f *dirFeed) onTD(m twin.Message) {
	t, err := wire.ParseTopic(m.Topic)
	if err != nil || t.Kind != wire.TopicTD {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	prev, had := f.tds[t.ThingID]
	ev := dirEvent{ThingID: t.ThingID}
	switch {
	case len(m.Payload) == 0 && !had:
		return
	case len(m.Payload) == 0:
		delete(f.tds, t.ThingID)
		ev.Type = eventThingDeleted
	case had && bytes.Equal(prev, m.Payload):
		return
	default:
		doc := bytes.Clone(m.Payload)
		f.tds[t.ThingID] = doc
		ev.Type, ev.TD = eventThingCreated, doc
		if had {
			ev.Type, ev.TD, ev.Patch = eventThingUpdated, nil, updatePatch(t.ThingID, prev, doc)
		}
	}
	if !f.live {
		return
	}
	// Event IDs are increasing times, hex like outbox cursors: they sort
	// as strings and stay unique across restarts.
	n := uint64(f.now())
	if n <= f.last {
		n = f.last + 1
	}
	f.last = n
	ev.ID = hex.EncodeToString(binary.BigEndian.AppendUint64(nil, n))
	if len(f.ring) == dirFeedSize {
		copy(f.ring, f.ring[1:])
		f.ring = f.ring[:dirFeedSize-1]
	}
	f.ring = append(f.ring, ev)
	for s := range f.subs {
		select {
		case s.ch <- ev:
		default:
			s.fin.end()
		}
	}
}

// onPresence runs on the publishing goroutine (bus): it must not block.
// It passes a Thing's new presence (things/{id}/presence) to the streams
// that asked for it.
func (f *dirFeed) onPresence(m twin.Message) {
	t, err := wire.ParseTopic(m.Topic)
	if err != nil || t.Kind != wire.TopicPresence || len(m.Payload) == 0 {
		return
	}
	var rec map[string]json.RawMessage
	if json.Unmarshal(m.Payload, &rec) != nil {
		return
	}
	rec["id"], _ = json.Marshal(t.ThingID)
	state, _ := json.Marshal(rec)
	ev := dirEvent{Type: eventThingPresence, ThingID: t.ThingID, State: state}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.live {
		return
	}
	for s := range f.subs {
		if !s.presence {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.fin.end()
		}
	}
}

// updatePatch is the merge patch between two twin TDs, with the Thing's
// id (so the event names its Thing).
func updatePatch(thingID string, from, to []byte) []byte {
	p, err := createMergePatch(from, to)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		return p
	}
	m["id"], _ = json.Marshal(thingID)
	b, _ := json.Marshal(m)
	return b
}

// td returns the current twin TD of a Thing as published.
func (f *dirFeed) td(thingID string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.tds[thingID]
	return b, ok
}

// subscribe registers an event stream and returns the remembered events
// after lastID ("" or an unknown ID: none).
func (f *dirFeed) subscribe(lastID string, presence bool) (*feedSub, []dirEvent) {
	s := &feedSub{ch: make(chan dirEvent, sseBuffer), fin: newEnding(), presence: presence}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[s] = struct{}{}
	if len(lastID) != 16 {
		return s, nil
	}
	var missed []dirEvent
	for _, ev := range f.ring {
		if ev.ID > lastID {
			missed = append(missed, ev)
		}
	}
	return s, missed
}

func (f *dirFeed) unsubscribe(s *feedSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, s)
}
