package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// Media types of the Discovery API.
const (
	contentJSON       = "application/json"
	contentTD         = "application/td+json"
	contentLD         = "application/ld+json"
	contentMergePatch = "application/merge-patch+json"
)

// wellKnown serves the hub's own TD, a Thing Description Directory (WoT
// Discovery, "Exploration"). It needs no credentials: it describes how to
// authenticate and nothing about the twins.
func (h *Server) wellKnown(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.methods(w, r, http.MethodGet)
		return
	}
	b, err := h.core.HubTD()
	if err != nil {
		h.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, contentTD, b)
}

// directory serves /things: GET lists the twin TDs the client may read,
// POST registers a TD without an ID (the hub names it urn:uuid:...).
func (h *Server) directory(w http.ResponseWriter, r *http.Request, id authz.Identity) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.gated(w, r, func() error { return h.listThings(w, r, id) })
	case http.MethodPost:
		h.gated(w, r, func() error { return h.createAnonymous(w, r, id) })
	default:
		h.methods(w, r, http.MethodGet, http.MethodPost)
	}
}

// listThings answers a page of twin TDs, ordered by ID, as a JSON array
// (application/ld+json); Link rel="next" names the following page.
func (h *Server) listThings(w http.ResponseWriter, r *http.Request, id authz.Identity) error {
	if !authz.Allowed(id.Role, authz.OpReadTD) {
		return wire.Errorf(wire.CodeDenied, "role %s may not %s", id.Role, authz.OpReadTD)
	}
	q := r.URL.Query()
	offset, limit, err := parsePage(q)
	if err != nil {
		return err
	}
	var visible []*directory.Entry
	for _, e := range h.dir.List() {
		if h.authz.Decide(id, authz.OpReadTD, e.ThingID) == nil {
			visible = append(visible, e)
		}
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := offset; i < len(visible) && i < offset+limit; i++ {
		doc, err := h.twinBytes(visible[i])
		if err != nil {
			return err
		}
		if i > offset {
			b.WriteByte(',')
		}
		b.Write(doc)
	}
	b.WriteByte(']')
	if offset+limit < len(visible) {
		w.Header().Set("Link", pageLink(thingsPath, q, offset+limit, limit))
	}
	writeJSON(w, http.StatusOK, contentLD, []byte(b.String()))
	return nil
}

// pageLink is the Link header of the next page of a listing.
func pageLink(path string, q url.Values, offset, limit int) string {
	q.Set("offset", strconv.Itoa(offset))
	q.Set("limit", strconv.Itoa(limit))
	return "<" + path + "?" + q.Encode() + `>; rel="next"`
}

// twinBytes is the current twin TD of a directory entry.
func (h *Server) twinBytes(e *directory.Entry) ([]byte, error) {
	if b, ok := h.web.feed.td(e.ThingID); ok {
		return b, nil
	}
	return h.core.TwinTD(e.TD)
}

// thingDescription serves /things/{id}: GET the twin TD (retrieveThing),
// PUT a TD (createThing, updateThing), PATCH a merge patch
// (partiallyUpdateThing), DELETE (deleteThing).
func (h *Server) thingDescription(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.gated(w, r, func() error {
			e, err := h.twinFor(id, authz.OpReadTD, thingID)
			if err != nil {
				return err
			}
			b, err := h.twinBytes(e)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, contentTD, b)
			return nil
		})
	case http.MethodPut:
		h.gated(w, r, func() error { return h.putThing(w, r, id, thingID) })
	case http.MethodPatch:
		h.gated(w, r, func() error { return h.patchThing(w, r, id, thingID) })
	case http.MethodDelete:
		h.gated(w, r, func() error {
			e, ok := h.dir.Get(thingID)
			if !ok && (authz.Allowed(id.Role, authz.OpExpose) || authz.Allowed(id.Role, authz.OpManageThings)) {
				return wire.Errorf(wire.CodeUnknownThing, "no Thing %q to delete", thingID)
			}
			owner, err := h.tdWriter(id, e, ok, thingID)
			if err != nil {
				return err
			}
			if err := h.reserveFor(0); err != nil {
				return err // a delete writes too (tombstones, the TD's removal)
			}
			if err := h.core.DeleteThing(context.WithoutCancel(r.Context()), owner, thingID); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
	default:
		h.methods(w, r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
	}
}

// tdWriter decides who may register, change or delete a Thing's TD over
// HTTP and returns the identity to do it as: an account that may expose
// Things registers new ones (and then owns them, as with AgentUpdateTD)
// and changes its own; an account that may manage Things (admin) changes
// and deletes any existing one on behalf of its owner.
func (h *Server) tdWriter(id authz.Identity, e *directory.Entry, exists bool, thingID string) (authz.Identity, error) {
	switch {
	case exists && authz.Allowed(id.Role, authz.OpManageThings):
		return authz.Identity{ID: e.AgentID, Role: authz.RoleAgent}, nil
	case !authz.Allowed(id.Role, authz.OpExpose) && authz.Allowed(id.Role, authz.OpManageThings):
		return id, wire.Errorf(wire.CodeDenied, "role %s changes and deletes registered Things; agent and service accounts register them", id.Role)
	case !authz.Allowed(id.Role, authz.OpExpose):
		return id, wire.Errorf(wire.CodeDenied, "role %s may not register or change Things", id.Role)
	case exists && e.AgentID != id.ID:
		return id, wire.Errorf(wire.CodeDenied, "Thing %q is registered by another agent", thingID)
	}
	return id, nil
}

// putThing is createThing and updateThing: PUT /things/{id} with a TD
// (application/td+json). 201 Created for a new Thing, 204 for a replaced
// one; an invalid TD is refused with its validationErrors.
func (h *Server) putThing(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID string) error {
	e, exists := h.dir.Get(thingID)
	owner, err := h.tdWriter(id, e, exists, thingID)
	if err != nil {
		return err
	}
	body, err := h.readInput(r, mediaTD...)
	if err != nil {
		return err
	}
	if err := h.registerTD(r.Context(), owner, thingID, body); err != nil {
		return err
	}
	if exists {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Location", thingPath(thingID))
	w.WriteHeader(http.StatusCreated)
	return nil
}

// createAnonymous is createAnonymousThing: POST /things with a TD without
// an id; the hub names the Thing urn:uuid:... and answers 201 with its
// URL in Location.
func (h *Server) createAnonymous(w http.ResponseWriter, r *http.Request, id authz.Identity) error {
	if !authz.Allowed(id.Role, authz.OpExpose) {
		return wire.Errorf(wire.CodeDenied, "role %s may not register Things", id.Role)
	}
	body, err := h.readInput(r, mediaTD...)
	if err != nil {
		return err
	}
	t, err := parseTD(body)
	if err != nil {
		return err
	}
	if t.ID != "" {
		return invalidTD(wire.Errorf(wire.CodeInvalidTD, "$.id: a TD posted to /things must not have an id (PUT it to /things/{id} instead)"))
	}
	t.ID = newThingID()
	if body, err = td.Marshal(t); err != nil {
		return err
	}
	if err := h.registerTD(r.Context(), id, t.ID, body); err != nil {
		return err
	}
	w.Header().Set("Location", thingPath(t.ID))
	w.WriteHeader(http.StatusCreated)
	return nil
}

// patchThing is partiallyUpdateThing: PATCH /things/{id} with a JSON Merge
// Patch (application/merge-patch+json) applied to the registered TD.
func (h *Server) patchThing(w http.ResponseWriter, r *http.Request, id authz.Identity, thingID string) error {
	e, exists := h.dir.Get(thingID)
	if !exists && (authz.Allowed(id.Role, authz.OpExpose) || authz.Allowed(id.Role, authz.OpManageThings)) {
		return wire.Errorf(wire.CodeUnknownThing, "no Thing %q to patch; PUT its TD to create it", thingID)
	}
	owner, err := h.tdWriter(id, e, exists, thingID)
	if err != nil {
		return err
	}
	patch, err := h.readInput(r, mediaMergePatch...)
	if err != nil {
		return err
	}
	cur, err := td.Marshal(e.TD)
	if err != nil {
		return err
	}
	doc, err := applyMergePatch(cur, patch)
	if err != nil {
		return wire.Errorf(wire.CodeInvalidPayload, "the merge patch is not one JSON value")
	}
	if err := h.registerTD(r.Context(), owner, thingID, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// registerTD validates a TD for thingID, answering every problem as a
// validation error, and registers it like AgentUpdateTD as owner.
func (h *Server) registerTD(ctx context.Context, owner authz.Identity, thingID string, doc []byte) error {
	t, err := parseTD(doc)
	if err != nil {
		return err
	}
	if t.ID != "" && t.ID != thingID {
		return invalidTD(wire.Errorf(wire.CodeInvalidTD, "$.id: %q differs from the Thing ID in the URL (%q)", t.ID, thingID))
	}
	t.ID = thingID
	if err := td.Validate(t, td.ValidateOptions{FormsOptional: true}); err != nil {
		return invalidTD(err)
	}
	err = h.core.RegisterTD(context.WithoutCancel(ctx), owner, thingID, doc)
	if err != nil {
		return invalidTD(err)
	}
	return nil
}

// parseTD decodes a TD, answering a decoding failure as a validation
// error.
func parseTD(doc []byte) (*td.Thing, error) {
	if len(doc) == 0 {
		return nil, invalidTD(wire.Errorf(wire.CodeInvalidTD, "$: the body is empty; send a Thing Description"))
	}
	t, err := td.Parse(doc)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "td: invalid JSON: ")
		if !strings.HasPrefix(msg, "$") {
			msg = "$: " + msg
		}
		return nil, invalidTD(wire.Errorf(wire.CodeInvalidTD, "%s", msg))
	}
	return t, nil
}

// newThingID names a Thing registered without an ID: a random (version
// 4) UUID URN.
func newThingID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", x[0:8], x[8:12], x[12:16], x[16:20], x[20:])
}

// directoryEvents serves the notification API of the directory as
// Server-Sent Events: /events (every kind) or /events/{kind} with kind
// thing_created, thing_updated, thing_deleted or thing_presence. Events
// are named after their kind; their data is {"id": ...}, or with
// diff=true the created TD or the merge patch of an update (with its id).
// Last-Event-ID resumes from the events the hub still remembers
// (dirFeedSize). Presence changes (thing_presence: the presence record
// with the Thing's id) come only when asked, on /events/thing_presence or
// with presence=true; they have no event ID and are not replayed.
func (h *Server) directoryEvents(w http.ResponseWriter, r *http.Request, id authz.Identity, kind string) {
	if r.Method != http.MethodGet {
		h.methods(w, r, http.MethodGet)
		return
	}
	switch kind {
	case "", eventThingCreated, eventThingUpdated, eventThingDeleted, eventThingPresence:
	default:
		h.problem(w, r, wire.Errorf(wire.CodeNotFound, "no event stream %q: use %s, %s, %s or %s", kind, eventThingCreated, eventThingUpdated, eventThingDeleted, eventThingPresence))
		return
	}
	if !authz.Allowed(id.Role, authz.OpReadTD) {
		h.problem(w, r, wire.Errorf(wire.CodeDenied, "role %s may not %s", id.Role, authz.OpReadTD))
		return
	}
	diff, err := parseDiff(r.URL.Query())
	if err != nil {
		h.problem(w, r, err)
		return
	}
	presence, err := parsePresenceFlag(r.URL.Query())
	if err != nil {
		h.problem(w, r, err)
		return
	}
	presence = presence || kind == eventThingPresence
	sub, missed := h.web.feed.subscribe(r.Header.Get("Last-Event-ID"), presence)
	defer h.web.feed.unsubscribe(sub)
	// An account change ends the stream (revoke.go); access lists are
	// decided per event below.
	unwatch, err := h.watchStream(&openStream{id: id, epoch: authEpoch(r), op: authz.OpReadTD, fin: sub.fin})
	if err != nil {
		h.problem(w, r, err)
		return
	}
	defer unwatch()
	s, err := openSSE(w)
	if err != nil {
		return
	}
	send := func(ev dirEvent) error {
		if (kind != "" && ev.Type != kind) || h.authz.Decide(id, authz.OpReadTD, ev.ThingID) != nil {
			return nil
		}
		return s.send(ev.ID, ev.Type, ev.data(diff))
	}
	for _, ev := range missed {
		if send(ev) != nil {
			return
		}
	}
	tick := time.NewTicker(sseKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.fin.done():
			s.sayEnd(sub.fin)
			return
		case <-tick.C:
			if s.keepAlive() != nil {
				return
			}
		case ev := <-sub.ch:
			if send(ev) != nil {
				return
			}
		}
	}
}

// data is the event data: {"id": ...}, or with diff the created TD or the
// update's merge patch.
func (ev dirEvent) data(diff bool) []byte {
	switch {
	case ev.Type == eventThingPresence:
		return ev.State
	case diff && ev.Type == eventThingCreated:
		return ev.TD
	case diff && ev.Type == eventThingUpdated:
		return ev.Patch
	}
	b, _ := json.Marshal(map[string]string{"id": ev.ThingID})
	return b
}
