package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// sseBuffer is how many live messages an event stream may fall behind; a
// slower client's stream ends, and it resumes with Last-Event-ID from the
// outbox.
const sseBuffer = 256

// sseStream writes Server-Sent Events.
type sseStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// openSSE answers a request with an event stream and flushes the headers,
// so that the client knows the stream is open before the first event.
func openSSE(w http.ResponseWriter) (*sseStream, error) {
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseStream{w: w, rc: http.NewResponseController(w)}
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return nil, err
	}
	return s, s.rc.Flush()
}

// send writes one event. An empty event name sends an unnamed event (what
// EventSource.onmessage and node-wot receive); id is what the client sends
// back as Last-Event-ID. Data spanning lines goes in several data lines,
// which clients join with newlines.
func (s *sseStream) send(id, event string, data []byte) error {
	var b bytes.Buffer
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
	for _, line := range strings.Split(text, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteByte('\n')
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}

// keepAlive writes a comment, so that proxies keep an idle stream open.
func (s *sseStream) keepAlive() error {
	if _, err := s.w.Write([]byte(": keep-alive\n\n")); err != nil {
		return err
	}
	return s.rc.Flush()
}

// ending is a channel closed once, by whichever reason ends a stream
// first.
type ending struct {
	c    chan struct{}
	once sync.Once
}

func newEnding() *ending                { return &ending{c: make(chan struct{})} }
func (e *ending) end()                  { e.once.Do(func() { close(e.c) }) }
func (e *ending) done() <-chan struct{} { return e.c }

// valueItem is one event or property value of a stream.
type valueItem struct {
	name  string
	value []byte
	time  time.Time
}

// streamValues serves observeproperty and subscribeevent (one affordance,
// unnamed events) and observeallproperties and subscribeallevents (name
// "": every affordance of the kind, events named after it). Every event's
// id is its outbox cursor: a client that reconnects with Last-Event-ID
// gets what it missed from the history, then the live values. A property
// stream without Last-Event-ID starts with the current value(s). The
// stream ends when the Thing is deleted, the client falls sseBuffer
// messages behind, the account or the Thing's access list changes so that
// id may no longer op (revoke.go), or the hub stops.
func (h *Server) streamValues(w http.ResponseWriter, r *http.Request, id authz.Identity, op authz.Op, thingID string, kind wire.HistoryKind, name string) {
	filter := wire.PropertyTopic(thingID, name)
	switch {
	case kind == wire.KindEvent && name == "":
		filter = wire.AllEventsFilter(thingID)
	case kind == wire.KindEvent:
		filter = wire.EventTopic(thingID, name)
	case name == "":
		filter = wire.AllPropertiesFilter(thingID)
	}
	fin := newEnding()
	// An account or access list change ends the stream (revoke.go).
	unwatch, err := h.watchStream(&openStream{id: id, thing: thingID, op: op, fin: fin})
	if err != nil {
		h.problem(w, r, err)
		return
	}
	defer unwatch()
	live := make(chan twin.Message, sseBuffer)
	// Listen before reading the store, so nothing falls between the two;
	// what both return is sent once (by time).
	defer h.core.Listen(filter, func(m twin.Message) {
		select {
		case live <- m:
		default:
			fin.end() // too slow: the client resumes from the outbox
		}
	})()
	defer h.core.Listen(wire.TDTopic(thingID), func(m twin.Message) {
		if len(m.Payload) == 0 {
			fin.end() // the Thing was deleted
		}
	})()

	first, err := h.firstValues(r, thingID, kind, name)
	if err != nil {
		h.problem(w, r, err)
		return
	}
	s, err := openSSE(w)
	if err != nil {
		return
	}
	event := func(it valueItem) error {
		ev := ""
		if name == "" {
			ev = it.name
		}
		return s.send(outbox.Record{Time: it.time}.Cursor(), ev, it.value)
	}
	// Live messages the store already gave are skipped by time; later ones
	// go out as they come (publishes of two writers may cross).
	var floor time.Time
	for _, it := range first {
		if event(it) != nil {
			return
		}
		floor = it.time
	}
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-fin.done():
			return
		case <-tick.C:
			if s.keepAlive() != nil {
				return
			}
		case m := <-live:
			t := messageTime(m, h.opts.Now)
			tp, err := wire.ParseTopic(m.Topic)
			if err != nil || !t.After(floor) || (kind == wire.KindProperty && len(m.Payload) == 0) {
				continue // already sent, or a cleared retained value
			}
			if event(valueItem{name: tp.Name, value: m.Payload, time: t}) != nil {
				return
			}
		}
	}
}

// firstValues is what a stream starts with: with Last-Event-ID, the
// history after it; else, for properties, the current values.
func (h *Server) firstValues(r *http.Request, thingID string, kind wire.HistoryKind, name string) ([]valueItem, error) {
	if !h.enter() {
		return nil, errShuttingDown
	}
	defer h.leave()
	ctx := r.Context()
	var out []valueItem
	if after := r.Header.Get("Last-Event-ID"); after != "" {
		q := wire.HistoryQuery{Cursor: after, Limit: outbox.MaxPageSize}
		for {
			page, err := h.outbox.History(ctx, thingID, outbox.Filter{Kind: kind, Name: name}, q)
			if errors.Is(err, outbox.ErrBadCursor) {
				return nil, wire.Errorf(wire.CodeInvalidPayload, "Last-Event-ID %q is not an event ID of this stream", after)
			}
			if err != nil {
				return nil, err
			}
			for _, it := range page.Items {
				out = append(out, valueItem{name: it.Name, value: it.Value, time: it.Time})
			}
			if page.Next == "" {
				return out, nil
			}
			q.Cursor = page.Next
		}
	}
	if kind != wire.KindProperty {
		return nil, nil
	}
	recs, err := h.latestProperties(ctx, thingID, name)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		out = append(out, valueItem{name: rec.Name, value: rec.Value, time: rec.When()})
	}
	// Oldest first, so that the newest is what the client keeps and the
	// last id resumes after all of them.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].time.Before(out[j-1].time); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// latestProperties returns the current value of one property (name) or of
// every property that has one.
func (h *Server) latestProperties(ctx context.Context, thingID, name string) ([]outbox.Record, error) {
	if name != "" {
		rec, ok, err := h.outbox.Latest(ctx, thingID, wire.KindProperty, name)
		if err != nil || !ok {
			return nil, err
		}
		return []outbox.Record{rec}, nil
	}
	return h.outbox.LatestAll(ctx, thingID, wire.KindProperty)
}

// messageTime is when the hub accepted a message it published (its time
// user property, which is the outbox record's time).
func messageTime(m twin.Message, now func() time.Time) time.Time {
	for _, u := range m.User {
		if u.Key == wire.PropTime {
			if t, err := time.Parse(time.RFC3339Nano, u.Value); err == nil {
				return t
			}
		}
	}
	return now()
}
