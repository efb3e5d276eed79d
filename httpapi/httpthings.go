package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// thing serves the WoT HTTP binding of a twin: everything under
// /things/{id} (docs/http.md).
func (h *Server) thing(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) {
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch rt.Kind {
	case routeThing:
		h.thingDescription(w, r, id, rt.ThingID)
	case routeProperties:
		switch {
		case isEventStream(r):
			h.observe(w, r, id, rt.ThingID, "")
		case get:
			h.gated(w, r, func() error { return h.readAllProperties(w, r, id, rt.ThingID) })
		default:
			h.methods(w, r, http.MethodGet)
		}
	case routeProperty:
		switch {
		case isEventStream(r):
			h.observe(w, r, id, rt.ThingID, rt.Name)
		case get:
			h.gated(w, r, func() error { return h.readProperty(w, r, id, rt) })
		case r.Method == http.MethodPut:
			h.request(w, r, id, rt, wire.OpWriteProperty)
		default:
			h.methods(w, r, http.MethodGet, http.MethodPut)
		}
	case routePropertyHistory, routeEvents, routeEvent, routeHistory:
		switch {
		case isEventStream(r) && (rt.Kind == routeEvents || rt.Kind == routeEvent):
			h.subscribe(w, r, id, rt.ThingID, rt.Name)
		case get:
			h.gated(w, r, func() error { return h.history(w, r, id, rt) })
		default:
			h.methods(w, r, http.MethodGet)
		}
	case routeActions:
		if !get {
			h.methods(w, r, http.MethodGet)
			return
		}
		h.gated(w, r, func() error { return h.queryAllActions(w, r, id, rt.ThingID) })
	case routeAction, routeActionRequest:
		switch {
		case r.Method == http.MethodPost && rt.Kind == routeAction:
			h.request(w, r, id, rt, wire.OpInvokeAction)
		case get:
			h.gated(w, r, func() error { return h.queryAction(w, r, id, rt) })
		case r.Method == http.MethodDelete:
			h.gated(w, r, func() error { return h.cancelRequest(w, r, id, rt) })
		case rt.Kind == routeAction:
			h.methods(w, r, http.MethodPost, http.MethodGet, http.MethodDelete)
		default:
			h.methods(w, r, http.MethodGet, http.MethodDelete)
		}
	case routeActionHistory:
		if !get {
			h.methods(w, r, http.MethodGet)
			return
		}
		h.gated(w, r, func() error { return h.outcomes(w, r, id, rt) })
	case routePropertyWrite:
		if !get {
			h.methods(w, r, http.MethodGet)
			return
		}
		h.gated(w, r, func() error { return h.queryAction(w, r, id, rt) })
	}
}

// gated runs a handler that uses the store while the hub is open, and
// answers its error.
func (h *Server) gated(w http.ResponseWriter, r *http.Request, fn func() error) {
	if !h.enter() {
		h.problem(w, r, errShuttingDown)
		return
	}
	defer h.leave()
	if err := fn(); err != nil {
		h.problem(w, r, err)
	}
}

// twinFor authorizes op on a Thing and returns its directory entry.
func (h *Server) twinFor(id authz.Identity, op authz.Op, thingID string) (*directory.Entry, error) {
	if err := h.authz.Decide(id, op, thingID); err != nil {
		return nil, err
	}
	e, ok := h.dir.Get(thingID)
	if !ok {
		return nil, wire.Errorf(wire.CodeUnknownThing, "no Thing %q", thingID)
	}
	return e, nil
}

func noProperty(thingID, name string) error {
	return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no property %q", thingID, name)
}

func noAction(thingID, name string) error {
	return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no action %q", thingID, name)
}

func noEvent(thingID, name string) error {
	return wire.Errorf(wire.CodeUnknownAffordance, "Thing %q has no event %q", thingID, name)
}

// hasEvent reports whether a twin has an event: the agent's, or the
// presence event the hub adds.
func hasEvent(e *directory.Entry, name string) bool {
	_, ok := e.TD.Events[name]
	return ok || name == twin.PresenceEvent
}

// readProperty is readproperty: the latest value the agent reported.
func (h *Server) readProperty(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) error {
	e, err := h.twinFor(id, authz.OpReadProperty, rt.ThingID)
	if err != nil {
		return err
	}
	p, ok := e.TD.Properties[rt.Name]
	if !ok {
		return noProperty(rt.ThingID, rt.Name)
	}
	if p.WriteOnly {
		w.Header().Set("Allow", http.MethodPut)
		return wire.Errorf(wire.CodeMethodNotAllowed, "property %q is write-only", rt.Name)
	}
	rec, ok, err := h.outbox.Latest(r.Context(), rt.ThingID, wire.KindProperty, rt.Name)
	if err != nil {
		return err
	}
	if !ok {
		return wire.Errorf(wire.CodeNoValue, "property %q of Thing %q has no value yet", rt.Name, rt.ThingID)
	}
	w.Header().Set("Last-Modified", rec.When().UTC().Format(http.TimeFormat))
	writeJSON(w, http.StatusOK, contentJSON, []byte(rec.Value))
	return nil
}

// readAllProperties is readallproperties: every property that has a
// value, by name.
func (h *Server) readAllProperties(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID string) error {
	e, err := h.twinFor(id, authz.OpReadProperty, thingID)
	if err != nil {
		return err
	}
	recs, err := h.outbox.LatestAll(r.Context(), thingID, wire.KindProperty)
	if err != nil {
		return err
	}
	out := map[string]json.RawMessage{}
	for _, rec := range recs {
		if p, ok := e.TD.Properties[rec.Name]; ok && !p.WriteOnly {
			out[rec.Name] = rec.Value
		}
	}
	writeJSON(w, http.StatusOK, contentJSON, out)
	return nil
}

// observe is observeproperty (one property) and observeallproperties
// (name ""), as Server-Sent Events.
func (h *Server) observe(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID, name string) {
	e, err := h.twinFor(id, authz.OpReadProperty, thingID)
	if err == nil && name != "" {
		if p, ok := e.TD.Properties[name]; !ok {
			err = noProperty(thingID, name)
		} else if p.WriteOnly {
			err = wire.Errorf(wire.CodeMethodNotAllowed, "property %q is write-only", name)
		}
	}
	if err != nil {
		h.problem(w, r, err)
		return
	}
	h.streamValues(w, r, id, authz.OpReadProperty, thingID, wire.KindProperty, name)
}

// subscribe is subscribeevent (one event) and subscribeallevents (name
// ""), as Server-Sent Events.
func (h *Server) subscribe(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID, name string) {
	e, err := h.twinFor(id, authz.OpSubscribeEvent, thingID)
	if err == nil && name != "" && !hasEvent(e, name) {
		err = noEvent(thingID, name)
	}
	if err != nil {
		h.problem(w, r, err)
		return
	}
	h.streamValues(w, r, id, authz.OpSubscribeEvent, thingID, wire.KindEvent, name)
}

// history answers a history query: of one event (/events/{name}), of
// every event (/events), of one property (/properties/{name}/history), or
// of everything (/history). The next page is in the Link header and in
// next.
func (h *Server) history(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) error {
	e, err := h.twinFor(id, authz.OpReadHistory, rt.ThingID)
	if err != nil {
		return err
	}
	var f outbox.Filter
	switch rt.Kind {
	case routeEvent:
		if !hasEvent(e, rt.Name) {
			return noEvent(rt.ThingID, rt.Name)
		}
		f = outbox.Filter{Kind: wire.KindEvent, Name: rt.Name}
	case routeEvents:
		f = outbox.Filter{Kind: wire.KindEvent}
	case routePropertyHistory:
		if _, ok := e.TD.Properties[rt.Name]; !ok {
			return noProperty(rt.ThingID, rt.Name)
		}
		f = outbox.Filter{Kind: wire.KindProperty, Name: rt.Name}
	}
	q, err := parseHistoryQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := h.outbox.History(r.Context(), rt.ThingID, f, q)
	if errors.Is(err, outbox.ErrBadCursor) {
		return wire.Errorf(wire.CodeInvalidPayload, "cursor %q is not the next of an earlier page", q.Cursor)
	}
	if err != nil {
		return err
	}
	if page.Next != "" {
		next := r.URL.Query()
		next.Set("cursor", page.Next)
		w.Header().Set("Link", "<"+rt.path()+"?"+next.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, contentJSON, page)
	return nil
}

// request is invokeaction (POST) and writeproperty (PUT): it submits the
// request like an MQTT consumer's and waits for the outcome, at most the
// timeout parameter (default Options.HTTPWait). Outcome in time: 200 with
// the output (204 without one, or for a write); failure: a problem with the
// request's code; still running, or the agent offline (answered at once):
// 201 Created (invoke) or 202 Accepted (write) with the status record and
// its URL in Location.
func (h *Server) request(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute, op string) {
	wait, err := parseWait(r.URL.Query(), h.opts.HTTPWait, MaxHTTPWait)
	if err != nil {
		h.problem(w, r, err)
		return
	}
	t := wire.Topic{Kind: wire.TopicAction, ThingID: rt.ThingID, Name: rt.Name}
	perm := authz.OpInvokeAction
	if op == wire.OpWriteProperty {
		t.Kind, perm = wire.TopicPropertySet, authz.OpWriteProperty
	}
	if err := h.authz.Decide(id, perm, rt.ThingID); err != nil {
		h.problem(w, r, err)
		return
	}
	body, err := h.readInput(r)
	if err != nil {
		h.problem(w, r, err)
		return
	}
	if !h.enter() {
		h.problem(w, r, errShuttingDown)
		return
	}
	// Once accepted the request runs to its end whatever the client does.
	ctx := context.WithoutCancel(r.Context())
	req, err := h.core.Submit(ctx, id, t, op, body, twin.Submission{})
	if err != nil {
		h.leave()
		h.problemAt(w, r, err, statusPath(req))
		return
	}
	final := make(chan *inbox.Request, 1)
	defer h.core.Watch(req.ID, func(x *inbox.Request) {
		if x.Status.Final() {
			select {
			case final <- x:
			default:
			}
		}
	})()
	cur, err := h.inbox.Get(ctx, req.ID) // after watch: no status falls between
	h.leave()
	if err != nil {
		h.problem(w, r, err)
		return
	}
	// A pending request waits for its agent to come online: answer now.
	if !cur.Status.Final() && cur.Status != wire.StatusPending && wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case cur = <-final:
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
	}
	h.answerRequest(w, r, cur)
}

// answerRequest answers an invokeaction or writeproperty by the request's
// status.
func (h *Server) answerRequest(w http.ResponseWriter, r *http.Request, req *inbox.Request) {
	loc := statusPath(req)
	switch req.Status {
	case wire.StatusCompleted:
		if req.Op == wire.OpWriteProperty || len(req.Output) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, contentJSON, []byte(req.Output))
	case wire.StatusFailed:
		var err error = wire.Errorf(wire.CodeInternal, "request %s failed without an error", req.ID)
		if req.Error != nil {
			err = req.Error
		}
		h.problemAt(w, r, err, loc)
	default:
		w.Header().Set("Location", loc)
		status := http.StatusCreated
		if req.Op == wire.OpWriteProperty {
			status = http.StatusAccepted
		}
		writeJSON(w, status, contentJSON, req.ActionStatus)
	}
}

// statusPath is the URL path of a request's status record ("" for a
// request refused before it got an ID).
func statusPath(req *inbox.Request) string {
	if req == nil || req.ID == "" {
		return ""
	}
	rt := thingRoute{Kind: routeActionRequest, ThingID: req.ThingID, Name: req.Name, Request: req.ID}
	if req.Op == wire.OpWriteProperty {
		rt.Kind = routePropertyWrite
	}
	return rt.path()
}

// queryAction is queryaction: the status record of one request
// (/actions/{name}/{request}, /properties/{name}/writes/{request}) or of
// the newest request of an action (/actions/{name}).
func (h *Server) queryAction(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) error {
	e, err := h.twinFor(id, authz.OpQueryAction, rt.ThingID)
	if err != nil {
		return err
	}
	op := wire.OpInvokeAction
	if rt.Kind == routePropertyWrite {
		op = wire.OpWriteProperty
		if _, ok := e.TD.Properties[rt.Name]; !ok {
			return noProperty(rt.ThingID, rt.Name)
		}
	} else if _, ok := e.TD.Actions[rt.Name]; !ok {
		return noAction(rt.ThingID, rt.Name)
	}
	var req *inbox.Request
	if rt.Kind == routeAction {
		req, err = h.inbox.Latest(r.Context(), rt.ThingID, op, rt.Name)
		if errors.Is(err, inbox.ErrNotFound) {
			return wire.Errorf(wire.CodeNoValue, "action %q of Thing %q has no request yet", rt.Name, rt.ThingID)
		}
	} else {
		req, err = h.inbox.Get(r.Context(), rt.Request)
		if errors.Is(err, inbox.ErrNotFound) || (err == nil && (req.ThingID != rt.ThingID || req.Name != rt.Name || req.Op != op)) {
			return wire.Errorf(wire.CodeUnknownAffordance, "no request %q of %q", rt.Request, rt.Name)
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contentJSON, req.ActionStatus)
	return nil
}

// queryAllActions is queryallactions: the newest request of every action
// that has one, by action name.
func (h *Server) queryAllActions(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID string) error {
	e, err := h.twinFor(id, authz.OpQueryAction, thingID)
	if err != nil {
		return err
	}
	reqs, err := h.inbox.LatestAll(r.Context(), thingID)
	if err != nil {
		return err
	}
	out := map[string]wire.ActionStatus{}
	for _, req := range reqs {
		if _, ok := e.TD.Actions[req.Name]; ok && req.Op == wire.OpInvokeAction {
			out[req.Name] = req.ActionStatus
		}
	}
	writeJSON(w, http.StatusOK, contentJSON, out)
	return nil
}

// cancelRequest is cancelaction: DELETE on a request's status URL, or on
// the action (its newest unfinished request). Only the consumer that made
// a request may cancel it. The answer is the status record after the
// cancel.
func (h *Server) cancelRequest(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) error {
	if err := h.authz.Decide(id, authz.OpCancelAction, rt.ThingID); err != nil {
		return err
	}
	if err := h.reserveFor(0); err != nil {
		return err
	}
	var payload []byte
	if rt.Request != "" {
		payload, _ = json.Marshal(rt.Request)
	}
	st, err := h.core.Cancel(context.WithoutCancel(r.Context()), id, wire.Topic{Kind: wire.TopicActionCancel, ThingID: rt.ThingID, Name: rt.Name}, payload)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contentJSON, st)
	return nil
}

// outcomes is the outcome history of an action: its kept finished
// requests, newest first.
func (h *Server) outcomes(w http.ResponseWriter, r *http.Request, id authz.Identity, rt thingRoute) error {
	e, err := h.twinFor(id, authz.OpQueryAction, rt.ThingID)
	if err != nil {
		return err
	}
	if _, ok := e.TD.Actions[rt.Name]; !ok {
		return noAction(rt.ThingID, rt.Name)
	}
	reqs, err := h.inbox.Outcomes(r.Context(), rt.ThingID, wire.OpInvokeAction, rt.Name)
	if err != nil {
		return err
	}
	out := twin.ActionHistory{Items: make([]wire.ActionStatus, 0, len(reqs))}
	for _, req := range reqs {
		out.Items = append(out.Items, req.ActionStatus)
	}
	writeJSON(w, http.StatusOK, contentJSON, out)
	return nil
}
