package hubtest_test

import (
	"net/http"
	"testing"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// TestStart registers a Thing on a hub with HTTP on, reads its twin TD
// over MQTT and HTTP, and restarts the hub on its data.
func TestStart(t *testing.T) {
	dir := t.TempDir()
	h := hubtest.Start(t, func(o *hub.Options) { o.DataDir, o.HTTPAddr = dir, "127.0.0.1:0" })
	app := hubtest.Dial(t, h, "app")
	app.Sub(wot.TDTopic("urn:lamp"))
	hubtest.Dial(t, h, "lamp-agent").MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:lamp"}.String(), []byte(lampTD), nil)
	if m := app.Next(wot.TDTopic("urn:lamp")); len(m.Payload) == 0 {
		t.Error("empty twin TD")
	}
	resp, err := http.Get(hubtest.HTTPURL(h) + "/things/urn:lamp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET the twin TD: %s", resp.Status)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = hubtest.Start(t, func(o *hub.Options) { o.DataDir = dir })
	sdk := hubtest.Connect(t, hubtest.URL(h), "sdk-app")
	th, err := sdk.Thing(t.Context(), "urn:lamp")
	if err != nil || th.TD().Title != "Lamp" {
		t.Fatalf("the Thing after a restart: %v", err)
	}
	if hubtest.HTTPURL(h) != "" {
		t.Errorf("HTTP on by default: %s", hubtest.HTTPURL(h))
	}
}
