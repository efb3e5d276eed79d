package hub_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// smallTD is a valid TD without forms, with id when given.
func smallTD(id, title string) []byte {
	idm := ""
	if id != "" {
		idm = `"id":"` + id + `",`
	}
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1",` + idm + `"title":"` + title + `",
	"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",
	"properties":{"level":{"type":"integer"}},"actions":{"go":{}},"events":{"tick":{"data":{"type":"integer"}}}}`)
}

func TestWellKnownHubTD(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	web := newWeb(t, h)
	r := web.do("GET", "/.well-known/wot", nil).want(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/td+json" {
		t.Errorf("Content-Type %q", ct)
	}
	hubTD, err := td.Parse(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if err := td.Validate(hubTD, td.ValidateOptions{}); err != nil {
		t.Errorf("hub TD invalid: %v", err)
	}
	if !hubTD.Type.Contains("ThingDirectory") || !hubTD.Context.Has(httpapi.ContextDiscovery) {
		t.Errorf("@type %v, @context %v", hubTD.Type, hubTD.Context.IRIs())
	}
	base := regexp.MustCompile(`^http://hub\.test:\d+/`)
	for name, method := range map[string]string{"createThing": "PUT", "createAnonymousThing": "POST", "retrieveThing": "GET",
		"updateThing": "PUT", "partiallyUpdateThing": "PATCH", "deleteThing": "DELETE"} {
		a, ok := hubTD.Actions[name]
		if !ok || len(a.Forms) != 1 || a.Forms[0].HTTPMethod != method || !base.MatchString(a.Forms[0].Href) {
			t.Errorf("%s: %+v", name, a)
		}
	}
	if p, ok := hubTD.Properties["things"]; !ok || !strings.HasSuffix(p.Forms[0].Href, "/things{?offset,limit,format}") {
		t.Errorf("things property %+v", p)
	}
	for _, name := range []string{"thingCreated", "thingUpdated", "thingDeleted"} {
		if e, ok := hubTD.Events[name]; !ok || e.Forms[0].Subprotocol != "sse" {
			t.Errorf("event %s: %+v", name, e)
		}
	}
	if _, ok := hubTD.Actions[wot.OpAgentUpdateTD]; !ok {
		t.Error("the agent operations are gone")
	}
	web.do("POST", "/.well-known/wot", nil).problem(t, 405, wot.CodeMethodNotAllowed)
}

func TestDirectoryAPI(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	web := newWeb(t, h)
	events := web.stream("/events")
	created := web.stream("/events/thing_created?diff=true")
	t.Run("PutCreatesThenReplaces", func(t *testing.T) {
		r := web.do("PUT", "/things/urn:t:a", smallTD("", "A"), "Content-Type", "application/td+json").want(t, 201)
		if r.header.Get("Location") != "/things/urn:t:a" {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		web.do("PUT", "/things/urn:t:a", smallTD("urn:t:a", "A2"), "Content-Type", "application/td+json").want(t, 204)
		twin, err := td.Parse(web.do("GET", "/things/urn:t:a", nil).want(t, 200).body)
		if err != nil || twin.Title != "A2" || !strings.HasPrefix(twin.Href(twin.Properties["level"].Forms[0]), "http://hub.test:") {
			t.Fatalf("twin %+v %v", twin, err)
		}
		// What HTTP registered is a twin like any other: over MQTT too.
		c := dial(t, h, "mqtt-reader")
		c.subscribe(wot.TDTopic("urn:t:a"))
		if m := c.next(wot.TDTopic("urn:t:a")); !strings.Contains(string(m.Payload), `"A2"`) {
			t.Errorf("MQTT twin %s", m.Payload)
		}
	})
	t.Run("PostAssignsAnID", func(t *testing.T) {
		r := web.do("POST", "/things", smallTD("", "Anon")).want(t, 201)
		loc := r.header.Get("Location")
		if !regexp.MustCompile(`^/things/urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(loc) {
			t.Fatalf("Location %q", loc)
		}
		web.do("GET", loc, nil).want(t, 200)
		p := web.do("POST", "/things", smallTD("urn:t:has-id", "X")).problem(t, 400, wot.CodeInvalidTD)
		if len(p.ValidationErrors) != 1 || p.ValidationErrors[0].Field != "$.id" {
			t.Errorf("validation errors %+v", p.ValidationErrors)
		}
	})
	t.Run("ValidationErrors", func(t *testing.T) {
		p := web.do("PUT", "/things/urn:t:bad", []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","properties":{"x":{"type":"integer","forms":[{"op":"invokeaction","href":"x"}]}}}`)).problem(t, 400, wot.CodeInvalidTD)
		fields := map[string]bool{}
		for _, v := range p.ValidationErrors {
			fields[v.Field] = true
			if v.Description == "" {
				t.Errorf("no description for %s", v.Field)
			}
		}
		for _, f := range []string{"$.title", "$.security", "$.securityDefinitions"} {
			if !fields[f] {
				t.Errorf("no validation error for %s in %+v", f, p.ValidationErrors)
			}
		}
		if p := web.do("PUT", "/things/urn:t:bad", []byte(`{"title":`)).problem(t, 400, wot.CodeInvalidTD); len(p.ValidationErrors) == 0 {
			t.Error("no validation error for broken JSON")
		}
		web.do("PUT", "/things/urn:t:bad", nil).problem(t, 400, wot.CodeInvalidTD)
		if p := web.do("PUT", "/things/urn:t:a", smallTD("urn:t:other", "A")).problem(t, 400, wot.CodeInvalidTD); p.ValidationErrors[0].Field != "$.id" {
			t.Errorf("id mismatch: %+v", p.ValidationErrors)
		}
		web.do("PUT", "/things/urn:t:a", smallTD("", "A"), "Content-Type", "text/plain").problem(t, 415, wot.CodeUnsupportedMedia)
		web.do("GET", "/things/urn:t:bad", nil).problem(t, 404, wot.CodeUnknownThing)
	})
	t.Run("PatchMergesIntoTheRegisteredTD", func(t *testing.T) {
		mp := "application/merge-patch+json"
		web.do("PATCH", "/things/urn:t:a", []byte(`{"title":"A3","description":"patched","events":null}`), "Content-Type", mp).want(t, 204)
		twin, err := td.Parse(web.do("GET", "/things/urn:t:a", nil).want(t, 200).body)
		if err != nil || twin.Title != "A3" || twin.Description != "patched" || twin.Events["tick"] != nil || twin.Properties["level"] == nil {
			t.Errorf("patched twin %+v %v", twin, err)
		}
		web.do("PATCH", "/things/urn:t:a", []byte(`{"title":null}`), "Content-Type", mp).problem(t, 400, wot.CodeInvalidTD)
		web.do("PATCH", "/things/urn:t:a", []byte(`{"title":`), "Content-Type", mp).problem(t, 400, wot.CodeInvalidPayload)
		web.do("PATCH", "/things/urn:t:a", []byte(`{"title":"x"}`), "Content-Type", "application/json").problem(t, 415, wot.CodeUnsupportedMedia)
		web.do("PATCH", "/things/urn:t:nope", []byte(`{}`), "Content-Type", mp).problem(t, 404, wot.CodeUnknownThing)
	})
	t.Run("ListsWithPaging", func(t *testing.T) {
		web.do("PUT", "/things/urn:t:b", smallTD("", "B")).want(t, 201)
		r := web.do("GET", "/things?limit=2", nil).want(t, 200)
		var page []map[string]any
		r.json(t, &page)
		link := r.header.Get("Link")
		if len(page) != 2 || r.header.Get("Content-Type") != "application/ld+json" || link != `</things?limit=2&offset=2>; rel="next"` {
			t.Fatalf("%d TDs, Link %q, %s", len(page), link, r.header.Get("Content-Type"))
		}
		r = web.do("GET", "/things?limit=2&offset=2", nil).want(t, 200)
		r.json(t, &page)
		if len(page) != 1 || r.header.Get("Link") != "" {
			t.Errorf("last page: %d TDs, Link %q", len(page), r.header.Get("Link"))
		}
		for _, q := range []string{"limit=0", "limit=x", "offset=-1", "format=collection"} {
			web.do("GET", "/things?"+q, nil).problem(t, 400, wot.CodeInvalidPayload)
		}
		web.do("DELETE", "/things", nil).problem(t, 405, wot.CodeMethodNotAllowed)
	})
	t.Run("DeleteRemovesTheTwin", func(t *testing.T) {
		web.do("DELETE", "/things/urn:t:b", nil).want(t, 204)
		web.do("GET", "/things/urn:t:b", nil).problem(t, 404, wot.CodeUnknownThing)
		web.do("DELETE", "/things/urn:t:b", nil).problem(t, 404, wot.CodeUnknownThing)
	})
	t.Run("OnlyTheOwnerChangesAThing", func(t *testing.T) {
		agent := registerLamp(t, h) // owned by lamp-agent
		_ = agent
		web.do("PUT", lampPath, lampTD(t)).problem(t, 403, wot.CodeDenied)
		web.do("DELETE", lampPath, nil).problem(t, 403, wot.CodeDenied)
		// A development client names itself with a user name and no password.
		asAgent := newWeb(t, h, "Authorization", "Basic bGFtcC1hZ2VudDo=") // lamp-agent:
		asAgent.do("PATCH", lampPath, []byte(`{"title":"Lamp"}`), "Content-Type", "application/merge-patch+json").want(t, 204)
	})
	t.Run("Events", func(t *testing.T) {
		var kinds []string
		var firstID string
		for len(kinds) < 7 {
			ev := events.next()
			if firstID == "" {
				firstID = ev.id
			}
			var data map[string]any
			if err := json.Unmarshal([]byte(ev.data), &data); err != nil || data["id"] == nil || len(data) != 1 {
				t.Errorf("event data %s", ev.data)
			}
			kinds = append(kinds, ev.event+" "+data["id"].(string))
		}
		want := []string{"thing_created urn:t:a", "thing_updated urn:t:a", "thing_created ", "thing_updated urn:t:a", "thing_created urn:t:b", "thing_deleted urn:t:b", "thing_created urn:dev:ops:32473-WoTLamp-1234"}
		for i := range want {
			if !strings.HasPrefix(kinds[i], want[i]) {
				t.Errorf("event %d: %s, want %s", i, kinds[i], want[i])
			}
		}
		if ev := created.next(); ev.event != "thing_created" || !strings.Contains(ev.data, `"title":"A"`) {
			t.Errorf("thing_created with diff: %+v", ev)
		}
		// Updates with diff carry the merge patch and the id.
		updated := web.stream("/events/thing_updated?diff=true")
		web.do("PATCH", "/things/urn:t:a", []byte(`{"title":"A4"}`), "Content-Type", "application/merge-patch+json").want(t, 204)
		ev := updated.next()
		var patch map[string]any
		if err := json.Unmarshal([]byte(ev.data), &patch); err != nil || patch["id"] != "urn:t:a" || patch["title"] != "A4" || patch["properties"] != nil {
			t.Errorf("update patch %s", ev.data)
		}
		// Reconnecting with Last-Event-ID replays what came after.
		again := web.stream("/events", "Last-Event-ID", firstID)
		if ev := again.next(); ev.event != "thing_updated" {
			t.Errorf("first replayed %+v", ev)
		}
		_, r := web.tryStream("/events?diff=maybe")
		r.problem(t, 400, wot.CodeInvalidPayload)
	})
}
