package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

const statusStreamThing = "urn:t:status-stream"

// exposeStatusStreamThing connects the agent r-agent with the wot SDK and
// exposes a Thing whose action count reports progress twice before its
// outcome, and whose property level accepts writes.
func exposeStatusStreamThing(t *testing.T, h *hub.Hub) *wot.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	cl := hubtest.Connect(t, hubtest.URL(h), "r-agent", func(o *wot.Options) { o.Username, o.Password = "r-agent", testPassword })
	thing, err := cl.Produce(wot.NewThing(statusStreamThing, "Counter").
		Property("level", td.DataSchema{Type: td.TypeInteger}).
		Action("count", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).TD())
	if err != nil {
		t.Fatal(err)
	}
	thing.HandleAction("count", wot.ActionFunc(func(ctx context.Context, to int) (int, error) {
		req := wot.RequestFromContext(ctx)
		for step := 1; step <= 2; step++ {
			if err := req.Progress(ctx, map[string]int{"step": step}); err != nil {
				return 0, err
			}
		}
		return to, nil
	}))
	thing.HandleWrite("level", func(ctx context.Context, req *wot.Request) (any, error) { return nil, nil })
	if err := thing.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	return cl
}

// statusOf reads a status record from a status stream's event.
func statusOf(t *testing.T, ev sseEvent) wire.ActionStatus {
	t.Helper()
	var st wire.ActionStatus
	if ev.event != "" || json.Unmarshal([]byte(ev.data), &st) != nil {
		t.Fatalf("not a status event: %+v", ev)
	}
	return st
}

// TestHTTPStatusStream follows a request's whole timeline on its status
// URL as Server-Sent Events: made while the agent is offline (pending),
// delivered when it comes back, running twice with its progress, then
// completed with the output, after which the hub ends the stream. A
// property write's status URL streams the same way. Roles without
// queryaction are refused as the plain GET refuses them.
func TestHTTPStatusStream(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	ctx := context.Background()
	thingPath := "/things/" + statusStreamThing
	agent := exposeStatusStreamThing(t, h)
	if err := agent.Close(ctx); err != nil {
		t.Fatal(err)
	}
	op := newWeb(t, h, "Authorization", basic("r-manager", testPassword))
	hubtest.WaitFor(t, "the Thing offline", func() bool {
		var page wire.HistoryPage
		r := op.do("GET", thingPath+"/events/presence", nil)
		if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil || len(page.Items) == 0 {
			return false
		}
		return strings.Contains(string(page.Items[len(page.Items)-1].Value), `"offline"`)
	})

	invoked := op.do("POST", thingPath+"/actions/count?timeout=0", []byte("7"), "Content-Type", "application/json").want(t, http.StatusCreated)
	written := op.do("PUT", thingPath+"/properties/level?timeout=0", []byte("3"), "Content-Type", "application/json").want(t, http.StatusAccepted)
	invokeURL, writeURL := invoked.header.Get("Location"), written.header.Get("Location")
	if !strings.Contains(invokeURL, "/actions/count/") || !strings.Contains(writeURL, "/properties/level/writes/") {
		t.Fatalf("Location %q and %q", invokeURL, writeURL)
	}

	t.Run("RefusedWithoutQueryAction", func(t *testing.T) {
		for _, who := range []string{"r-viewer", "r-agent"} {
			w := newWeb(t, h, "Authorization", basic(who, testPassword))
			if _, r := w.tryStream(invokeURL); r.status != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403: %s", who, r.status, r.body)
			}
			if got := w.do("GET", invokeURL, nil).status; got != http.StatusForbidden {
				t.Errorf("%s: the plain GET: %d, want 403", who, got)
			}
		}
		anon := newWeb(t, h)
		if _, r := anon.tryStream(writeURL); r.status != http.StatusUnauthorized {
			t.Errorf("without credentials: status %d, want 401", r.status)
		}
	})

	actions := op.stream(invokeURL)
	writes := op.stream(writeURL)
	if st := statusOf(t, actions.next()); st.Status != wire.StatusPending || st.Op != wire.OpInvokeAction {
		t.Fatalf("the action stream starts with %+v, want pending", st)
	}
	if st := statusOf(t, writes.next()); st.Status != wire.StatusPending || st.Op != wire.OpWriteProperty {
		t.Fatalf("the write stream starts with %+v, want pending", st)
	}

	exposeStatusStreamThing(t, h) // the agent comes back: both are delivered
	var timeline []string
	for {
		st := statusOf(t, actions.next())
		entry := string(st.Status)
		if st.Status == wire.StatusRunning || st.Status == wire.StatusCompleted {
			entry += " " + string(st.Output)
		}
		timeline = append(timeline, entry)
		if st.Status.Final() {
			break
		}
	}
	want := []string{"delivered", `running {"step":1}`, `running {"step":2}`, "completed 7"}
	if strings.Join(timeline, ", ") != strings.Join(want, ", ") {
		t.Errorf("timeline %q, want %q", timeline, want)
	}
	actions.ended()

	var writeline []string
	for {
		st := statusOf(t, writes.next())
		writeline = append(writeline, string(st.Status))
		if st.Status.Final() {
			break
		}
	}
	if strings.Join(writeline, ", ") != "delivered, completed" {
		t.Errorf("write timeline %q", writeline)
	}
	writes.ended()

	t.Run("FinishedRequestGivesItsOutcomeAndEnds", func(t *testing.T) {
		s := op.stream(invokeURL)
		if st := statusOf(t, s.next()); st.Status != wire.StatusCompleted || string(st.Output) != "7" {
			t.Errorf("a finished request's stream: %+v", st)
		}
		s.ended()
	})

	t.Run("TokenInTheQuery", func(t *testing.T) {
		tok, _, err := h.Accounts().IssueToken("r-manager", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s := newWeb(t, h).stream(invokeURL + "?" + httpapi.TokenQuery + "=" + tok)
		if st := statusOf(t, s.next()); st.Status != wire.StatusCompleted {
			t.Errorf("with the token in the query: %+v", st)
		}
	})
}
