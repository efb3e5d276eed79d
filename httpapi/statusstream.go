package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// streamStatus is queryaction as Server-Sent Events: GET on a request's
// status URL (/actions/{name}/{request}, /properties/{name}/writes/{request})
// with Accept: text/event-stream. Each event is unnamed and carries the
// status record, as the plain GET answers it: first the current one, then
// every change (delivered, each running report with its progress, waiting,
// the outcome) as the hub records it. The stream ends after a final status
// (completed, failed), so the client should close at a final status: an
// EventSource reconnects otherwise, and gets the final status again. It is
// decided as the GET of the same URL (queryaction on the Thing), and also
// ends when the client falls sseBuffer statuses behind (it reconnects and
// gets the current one), the account or access list changes (revoke.go),
// the Thing is deleted, or the hub stops.
func (h *Server) streamStatus(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) {
	fin := newEnding()
	unwatch, err := h.watchStream(&openStream{id: id, epoch: authEpoch(r), thing: rt.ThingID, op: authz.OpQueryAction, fin: fin})
	if err != nil {
		h.problem(w, r, err)
		return
	}
	defer unwatch()
	live := make(chan *inbox.Request, sseBuffer)
	// Watch before reading the store, so no status falls between the two.
	// The watcher runs under the agent's lock or on its line: it must not block.
	defer h.core.Watch(rt.Request, func(x *inbox.Request) {
		select {
		case live <- x:
		default:
			fin.end() // too slow: the client reconnects to the current status
		}
	})()
	defer h.core.Listen(wire.TDTopic(rt.ThingID), func(m twin.Message) {
		if len(m.Payload) == 0 {
			fin.end() // the Thing was deleted
		}
	})()
	if !h.enter() {
		h.problem(w, r, errShuttingDown)
		return
	}
	cur, err := h.lookupRequest(r.Context(), id, rt)
	h.leave()
	if err != nil {
		h.problem(w, r, err)
		return
	}
	s, err := openSSE(w)
	if err != nil {
		return
	}
	send := func(x *wire.ActionStatus) error {
		b, _ := json.Marshal(x)
		return s.send("", "", b)
	}
	if send(&cur.ActionStatus) != nil || cur.Status.Final() {
		return
	}
	last := cur.ActionStatus
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-fin.done():
			s.sayEnd(fin)
			return
		case <-tick.C:
			if s.keepAlive() != nil {
				return
			}
		case x := <-live:
			if sameOrOlderStatus(x.ActionStatus, last) {
				continue // the store's answer already had it
			}
			if send(&x.ActionStatus) != nil || x.Status.Final() {
				return
			}
			last = x.ActionStatus
		}
	}
}

// sameOrOlderStatus reports whether a watched status is one the stream
// already sent (or older): each change of a request moves its updated
// time on.
func sameOrOlderStatus(x, last wire.ActionStatus) bool {
	if x.Updated.Before(last.Updated) {
		return true
	}
	return x.Updated.Equal(last.Updated) && x.Status == last.Status && bytes.Equal(x.Output, last.Output)
}
