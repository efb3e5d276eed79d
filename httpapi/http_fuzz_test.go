package httpapi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
)

func TestParseThingPath(t *testing.T) {
	tests := []struct {
		path string
		want thingRoute
	}{
		{"/things/urn:a", thingRoute{Kind: routeThing, ThingID: "urn:a"}},
		{"/things/urn:a/properties", thingRoute{Kind: routeProperties, ThingID: "urn:a"}},
		{"/things/urn:a/properties/p", thingRoute{Kind: routeProperty, ThingID: "urn:a", Name: "p"}},
		{"/things/urn:a/properties/p/history", thingRoute{Kind: routePropertyHistory, ThingID: "urn:a", Name: "p"}},
		{"/things/urn:a/properties/p/writes/r1", thingRoute{Kind: routePropertyWrite, ThingID: "urn:a", Name: "p", Request: "r1"}},
		{"/things/urn:a/events", thingRoute{Kind: routeEvents, ThingID: "urn:a"}},
		{"/things/urn:a/events/e", thingRoute{Kind: routeEvent, ThingID: "urn:a", Name: "e"}},
		{"/things/urn:a/actions", thingRoute{Kind: routeActions, ThingID: "urn:a"}},
		{"/things/urn:a/actions/x", thingRoute{Kind: routeAction, ThingID: "urn:a", Name: "x"}},
		{"/things/urn:a/actions/x/history", thingRoute{Kind: routeActionHistory, ThingID: "urn:a", Name: "x"}},
		{"/things/urn:a/actions/x/r1", thingRoute{Kind: routeActionRequest, ThingID: "urn:a", Name: "x", Request: "r1"}},
		{"/things/urn:a/history", thingRoute{Kind: routeHistory, ThingID: "urn:a"}},
		{"/things/a%2Fb%20c/properties/%25", thingRoute{Kind: routeProperty, ThingID: "a/b c", Name: "%"}},
		{"/things/%2E%2E/events/e", thingRoute{Kind: routeEvent, ThingID: "..", Name: "e"}},
	}
	for _, tt := range tests {
		got, err := parseThingPath(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("parseThingPath(%q) = %+v, %v; want %+v", tt.path, got, err, tt.want)
		}
		if p := got.path(); p != tt.path && tt.path != "/things/a%2Fb%20c/properties/%25" {
			t.Errorf("path of %+v = %q, want %q", got, p, tt.path)
		}
	}
	for _, bad := range []string{"/things/", "/things//x", "/things/a/", "/things/%zz", "/things/a/nope", "/things/a/properties/p/x",
		"/things/a/properties/p/writes", "/things/a/actions/x/y/z", "/things/a%00b", "/thingsx/a", "/things/a/events/e/history"} {
		if rt, err := parseThingPath(bad); err == nil {
			t.Errorf("parseThingPath(%q) = %+v, want not_found", bad, rt)
		}
	}
}

// FuzzThingPath checks that path parsing never panics and that every
// accepted path has one canonical spelling that parses back to the same
// route.
func FuzzThingPath(f *testing.F) {
	for _, s := range []string{"/things/urn:a/properties/p", "/things/a%2Fb/actions/x/18ea17be8a066596", "/things/%2E/events",
		"/things/x/properties/p/writes/1", "/things/x/actions/a/histor%79", "/things/%F0%9F%92%A1/history"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rt, err := parseThingPath(s)
		if err != nil {
			return
		}
		p := rt.path()
		again, err := parseThingPath(p)
		if err != nil || again != rt {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, rt, p, again, err)
		}
		if again.path() != p {
			t.Fatalf("%q is not canonical", p)
		}
	})
}

// FuzzQuery checks the query parameter parsers: never a panic, and what
// they accept is within bounds.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"limit=10&cursor=18ea17bd5f7df752", "from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00.5%2B01:00",
		"offset=5&limit=1000&format=array", "timeout=1.5s", "timeout=30", "diff=true", "limit=-1&offset=9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		if hq, err := parseHistoryQuery(q); err == nil {
			if hq.Limit < 0 || hq.Limit > outbox.MaxPageSize || len(hq.Cursor) > 64 {
				t.Fatalf("history query %+v", hq)
			}
		}
		if off, lim, err := parsePage(q); err == nil && (off < 0 || lim < 1 || lim > MaxPageSize) {
			t.Fatalf("page %d %d", off, lim)
		}
		if d, err := parseWait(q, 10*time.Second, MaxHTTPWait); err == nil && (d < 0 || d > MaxHTTPWait) {
			t.Fatalf("wait %s", d)
		}
		_, _ = parseDiff(q)
	})
}

// FuzzMergePatch checks JSON Merge Patch (RFC 7396): the result is JSON,
// applying a patch twice changes nothing more, and the patch computed
// between two objects turns the first into the second.
func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":2,"d":[1,2]}}`), []byte(`{"a":null,"b":{"c":3,"e":{"f":null}},"g":[null]}`))
	f.Add([]byte(`{"title":"x","properties":{"p":{"type":"integer"}}}`), []byte(`{"properties":{"p":null,"q":{"type":"string"}}}`))
	f.Add([]byte(`[1,2]`), []byte(`{"a":1}`))
	f.Add([]byte(`{"a":1}`), []byte(`"replaced"`))
	f.Add([]byte(`{"n":1.50}`), []byte(`{"m":1e400}`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		out, err := applyMergePatch(doc, patch)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("result is not JSON: %s", out)
		}
		twice, err := applyMergePatch(out, patch)
		if err != nil || !bytes.Equal(twice, out) {
			t.Fatalf("not idempotent: %s then %s (%v)", out, twice, err)
		}
		from, _ := decodeOne(doc)
		to, _ := decodeOne(out)
		if _, ok := from.(map[string]any); !ok {
			return
		}
		if _, ok := to.(map[string]any); !ok {
			return
		}
		diff, err := createMergePatch(doc, out)
		if err != nil {
			t.Fatal(err)
		}
		back, err := applyMergePatch(doc, diff)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := decodeOne(out)
		got, _ := decodeOne(back)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("diff %s of %s -> %s gives %s", diff, doc, out, back)
		}
	})
}
