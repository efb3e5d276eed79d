package proxy_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// TestBrownfieldLeavesOtherAgentsAlone: the proxy hears every agent's
// requests topic but answers only for the accounts whose devices it
// proxies; an agent of its own, beside them, gets and answers its
// requests as before.
func TestBrownfieldLeavesOtherAgentsAlone(t *testing.T) {
	h := bfStart(t, t.TempDir())
	if code, body := bfHTTP(t, h, "integrator", http.MethodPut, bfThingPath(bfPlugID), bfReadTD(t, "tasmota/plug1.td.json")); code != http.StatusCreated {
		t.Fatalf("PUT TD: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent := hubtest.Connect(t, hubtest.URL(h), "lamp-agent")
	lamp, err := agent.Produce(&td.Thing{
		Context: td.NewContext(td.ContextV11), ID: "urn:lamp", Title: "lamp",
		SecurityDefinitions: map[string]*td.SecurityScheme{"n": {Scheme: "nosec"}}, Security: td.Strings{"n"},
		Actions: map[string]*td.ActionAffordance{"blink": {Output: &td.DataSchema{Type: "integer"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lamp.HandleAction("blink", func(context.Context, *wot.Request) (any, error) { return 3, nil })
	if err := lamp.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	app := hubtest.Connect(t, hubtest.URL(h), "app")
	thing, err := app.Thing(ctx, "urn:lamp")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the delivery window is small in tests: more than one
		var n int
		if err := thing.InvokeAction(ctx, "blink", nil, &n); err != nil || n != 3 {
			t.Fatalf("blink %d: %d, %v; want 3 from the lamp's own agent", i, n, err)
		}
	}
}
