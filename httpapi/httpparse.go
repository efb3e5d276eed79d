package httpapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// Paths of the HTTP API outside /things/{id} (docs/http.md).
const (
	wellKnownPath = "/.well-known/wot"
	thingsPath    = "/things"
	eventsPath    = "/events"
)

// Path segments under /things/{id}.
const (
	segProperties = "properties"
	segEvents     = "events"
	segActions    = "actions"
	segHistory    = "history"
	segWrites     = "writes"
)

// routeKind is what a path under /things/{id} names.
type routeKind int

const (
	routeThing           routeKind = iota // /things/{id}: the twin TD
	routeProperties                       // /things/{id}/properties
	routeProperty                         // /things/{id}/properties/{name}
	routePropertyHistory                  // /things/{id}/properties/{name}/history
	routePropertyWrite                    // /things/{id}/properties/{name}/writes/{request}
	routeEvents                           // /things/{id}/events
	routeEvent                            // /things/{id}/events/{name}
	routeActions                          // /things/{id}/actions
	routeAction                           // /things/{id}/actions/{name}
	routeActionHistory                    // /things/{id}/actions/{name}/history
	routeActionRequest                    // /things/{id}/actions/{name}/{request}
	routeHistory                          // /things/{id}/history
)

// thingRoute is a parsed path under /things/: the Thing, the affordance
// name and the request ID, each unescaped.
type thingRoute struct {
	Kind    routeKind
	ThingID string
	Name    string
	Request string
}

// parseThingPath parses an escaped request path under /things/. Each ID
// fills one path segment, percent-escaped where needed (a "/" in an ID is
// %2F), and must be a valid wotmq ID (wire.ValidateID). A path the API does
// not know fails with not_found.
func parseThingPath(escaped string) (thingRoute, error) {
	rest, ok := strings.CutPrefix(escaped, thingsPath+"/")
	if !ok {
		return thingRoute{}, wire.Errorf(wire.CodeNotFound, "not a Thing path: %q", escaped)
	}
	raw := strings.Split(rest, "/")
	seg := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return thingRoute{}, wire.Errorf(wire.CodeNotFound, "path segment %q is not percent-encoded correctly", s)
		}
		if err := wire.ValidateID(u); err != nil {
			return thingRoute{}, wire.Errorf(wire.CodeNotFound, "path segment %d of %q: %v", i+2, escaped, wire.CodeOf(err))
		}
		seg[i] = u
	}
	rt := thingRoute{ThingID: seg[0]}
	seg = seg[1:] // keywords compare unescaped, so each route has one spelling
	var known bool
	switch {
	case len(seg) == 0:
		rt.Kind, known = routeThing, true
	case len(seg) == 1 && seg[0] == segProperties:
		rt.Kind, known = routeProperties, true
	case len(seg) == 1 && seg[0] == segEvents:
		rt.Kind, known = routeEvents, true
	case len(seg) == 1 && seg[0] == segActions:
		rt.Kind, known = routeActions, true
	case len(seg) == 1 && seg[0] == segHistory:
		rt.Kind, known = routeHistory, true
	case len(seg) == 2 && seg[0] == segProperties:
		rt.Kind, rt.Name, known = routeProperty, seg[1], true
	case len(seg) == 2 && seg[0] == segEvents:
		rt.Kind, rt.Name, known = routeEvent, seg[1], true
	case len(seg) == 2 && seg[0] == segActions:
		rt.Kind, rt.Name, known = routeAction, seg[1], true
	case len(seg) == 3 && seg[0] == segProperties && seg[2] == segHistory:
		rt.Kind, rt.Name, known = routePropertyHistory, seg[1], true
	case len(seg) == 4 && seg[0] == segProperties && seg[2] == segWrites:
		rt.Kind, rt.Name, rt.Request, known = routePropertyWrite, seg[1], seg[3], true
	case len(seg) == 3 && seg[0] == segActions && seg[2] == segHistory:
		rt.Kind, rt.Name, known = routeActionHistory, seg[1], true
	case len(seg) == 3 && seg[0] == segActions:
		rt.Kind, rt.Name, rt.Request, known = routeActionRequest, seg[1], seg[2], true
	}
	if !known {
		return thingRoute{}, wire.Errorf(wire.CodeNotFound, "no resource at %s; see docs/http.md", escaped)
	}
	return rt, nil
}

// path is the escaped path of r, the one parseThingPath reads back.
func (r thingRoute) path() string {
	p := thingPath(r.ThingID)
	switch r.Kind {
	case routeProperties:
		p += "/" + segProperties
	case routeProperty:
		p += "/" + segProperties + "/" + escapeSegment(r.Name)
	case routePropertyHistory:
		p += "/" + segProperties + "/" + escapeSegment(r.Name) + "/" + segHistory
	case routePropertyWrite:
		p += "/" + segProperties + "/" + escapeSegment(r.Name) + "/" + segWrites + "/" + escapeSegment(r.Request)
	case routeEvents:
		p += "/" + segEvents
	case routeEvent:
		p += "/" + segEvents + "/" + escapeSegment(r.Name)
	case routeActions:
		p += "/" + segActions
	case routeAction:
		p += "/" + segActions + "/" + escapeSegment(r.Name)
	case routeActionHistory:
		p += "/" + segActions + "/" + escapeSegment(r.Name) + "/" + segHistory
	case routeActionRequest:
		p += "/" + segActions + "/" + escapeSegment(r.Name) + "/" + escapeSegment(r.Request)
	case routeHistory:
		p += "/" + segHistory
	}
	return p
}

// thingPath is the escaped path of a twin: /things/{id}.
func thingPath(thingID string) string { return thingsPath + "/" + escapeSegment(thingID) }

// escapeSegment escapes an ID for one path segment. "." and ".." are
// escaped too, so that no client or proxy resolves them as dot-segments.
func escapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// parseHistoryQuery reads a history query from URL parameters: from and
// to (RFC 3339), limit (1 to outbox.MaxPageSize) and cursor (the next of
// an earlier page). Every parameter is optional.
func parseHistoryQuery(q url.Values) (wire.HistoryQuery, error) {
	var hq wire.HistoryQuery
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &hq.From}, {"to", &hq.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return hq, wire.Errorf(wire.CodeInvalidPayload, "%s=%q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", p.name, v)
			}
			*p.t = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 { // 0 would read as absent below
			return hq, wire.Errorf(wire.CodeInvalidPayload, "limit=%q: want 1 to %d", v, outbox.MaxPageSize)
		}
		hq.Limit = n
	}
	hq.Cursor = q.Get("cursor")
	// The bounds MQTT history queries are held to as well.
	return hq, historyQueryError(outbox.CheckQuery(hq))
}

// historyQueryError turns a history query refused by the outbox's shared
// checks (outbox.ErrBadQuery) into invalid_payload.
func historyQueryError(err error) error {
	if err == nil {
		return nil
	}
	return wire.Errorf(wire.CodeInvalidPayload, "%s", strings.TrimPrefix(err.Error(), "outbox: "))
}

// Paging of the directory listing.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// parsePage reads offset and limit of the directory listing.
func parsePage(q url.Values) (offset, limit int, err error) {
	limit = DefaultPageSize
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, wire.Errorf(wire.CodeInvalidPayload, "offset=%q: want 0 or more", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxPageSize {
			return 0, 0, wire.Errorf(wire.CodeInvalidPayload, "limit=%q: want 1 to %d", v, MaxPageSize)
		}
	}
	if q.Get("format") != "" && q.Get("format") != "array" {
		return 0, 0, wire.Errorf(wire.CodeInvalidPayload, "format=%q: only array is supported", q.Get("format"))
	}
	return offset, limit, nil
}

// parseWait reads how long a request waits for its outcome: the timeout
// parameter as a Go duration ("2s", "500ms") or whole seconds, at most
// max; def when absent. Zero answers at once.
func parseWait(q url.Values, def, max time.Duration) (time.Duration, error) {
	v := q.Get("timeout")
	if v == "" {
		return min(def, max), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, aerr := strconv.Atoi(v)
		if aerr != nil || n > int(max/time.Second) {
			return 0, wire.Errorf(wire.CodeInvalidPayload, "timeout=%q: want a duration such as 5s, or seconds", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > max {
		return 0, wire.Errorf(wire.CodeInvalidPayload, "timeout=%q: want 0 to %s", v, max)
	}
	return d, nil
}

// parseDiff reads the diff parameter of the directory event streams.
func parseDiff(q url.Values) (bool, error) { return parseFlag(q, "diff") }

// parsePresenceFlag reads presence=true of the directory's event stream.
func parsePresenceFlag(q url.Values) (bool, error) { return parseFlag(q, "presence") }

// parseFlag reads a boolean query parameter; absent is false.
func parseFlag(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, wire.Errorf(wire.CodeInvalidPayload, "%s=%q: want true or false", name, v)
	}
	return b, nil
}
