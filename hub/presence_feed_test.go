package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

const (
	presenceFeedShown  = "urn:t:presence-shown"
	presenceFeedHidden = "urn:t:presence-hidden"
)

// exposePresenceFeedThings connects r-agent with the wot SDK and exposes
// the two Things of TestHTTPPresenceFeed.
func exposePresenceFeedThings(t *testing.T, h *hub.Hub) *wot.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	cl := hubtest.Connect(t, hubtest.URL(h), "r-agent", func(o *wot.Options) { o.Username, o.Password = "r-agent", testPassword })
	for _, id := range []string{presenceFeedShown, presenceFeedHidden} {
		thing, err := cl.Produce(wot.NewThing(id, "P").Property("p", td.DataSchema{Type: td.TypeInteger}).TD())
		if err != nil {
			t.Fatal(err)
		}
		if err := thing.Expose(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return cl
}

// presenceFeedEvent is the data of a thing_presence event.
type presenceFeedEvent struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// TestHTTPPresenceFeed: the directory's event stream carries presence
// changes to those who ask (/events?presence=true, /events/thing_presence),
// decided per Thing by readtd like the other directory events; a plain
// /events stream carries none.
func TestHTTPPresenceFeed(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	ctx := context.Background()
	if err := h.Accounts().SetThingACL(ctx, presenceFeedHidden, authz.ThingACL{Deny: []string{"r-viewer"}}); err != nil {
		t.Fatal(err)
	}
	agent := exposePresenceFeedThings(t, h)
	viewer := newWeb(t, h, "Authorization", basic("r-viewer", testPassword))
	admin := newWeb(t, h, "Authorization", basic("admin", testPassword))
	withPresence := viewer.stream("/events?presence=true")
	onlyPresence := admin.stream("/events/thing_presence")
	plain := admin.stream("/events")
	if _, r := viewer.tryStream("/events?presence=maybe"); r.status != http.StatusBadRequest {
		t.Errorf("presence=maybe: status %d, want 400", r.status)
	}

	if err := agent.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The admin sees both Things go offline, on a stream of presence alone.
	offline := map[string]bool{}
	for len(offline) < 2 {
		ev := onlyPresence.next()
		var p presenceFeedEvent
		if ev.event != "thing_presence" || ev.id != "" || json.Unmarshal([]byte(ev.data), &p) != nil {
			t.Fatalf("on /events/thing_presence: %+v", ev)
		}
		if p.State == "offline" {
			offline[p.ID] = true
		}
	}

	// Back online: the viewer sees the shown Thing go offline, then online
	// again, and nothing of the Thing it may not read (its offline came
	// before the shown Thing's online).
	exposePresenceFeedThings(t, h)
	var states []string
	for len(states) == 0 || states[len(states)-1] != "online" {
		ev := withPresence.next()
		if ev.event != "thing_presence" {
			continue // directory events of the same stream
		}
		var p presenceFeedEvent
		if json.Unmarshal([]byte(ev.data), &p) != nil {
			t.Fatalf("thing_presence data %q", ev.data)
		}
		if p.ID != presenceFeedShown {
			t.Fatalf("the viewer got the presence of %q", p.ID)
		}
		states = append(states, p.State)
	}
	if states[0] != "offline" {
		t.Errorf("the viewer's presence events: %q, want offline first", states)
	}

	// A plain /events stream got none of it: a Thing registered after is
	// the next event it has, past any thing_updated of the re-exposed ones.
	sentinel := exposePresenceSentinel(t, h)
	for {
		ev := plain.next()
		if ev.event == "thing_presence" {
			t.Fatalf("a plain /events stream got %+v", ev)
		}
		if ev.event == "thing_created" && json.Valid([]byte(ev.data)) && contains(ev.data, sentinel) {
			break
		}
	}
}

// exposePresenceSentinel registers one more Thing (by a second agent
// connection of r-agent) and returns its ID.
func exposePresenceSentinel(t *testing.T, h *hub.Hub) string {
	t.Helper()
	const id = "urn:t:presence-sentinel"
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	cl := hubtest.Connect(t, hubtest.URL(h), "r-agent-2", func(o *wot.Options) { o.Username, o.Password = "r-agent", testPassword })
	thing, err := cl.Produce(wot.NewThing(id, "S").TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := thing.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}
