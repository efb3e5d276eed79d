package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const bfPlugID = "urn:dev:tasmota:plug1"

// bfStart starts a hub with HTTP on 127.0.0.1 and its data in dir (so a
// second start keeps it).
func bfStart(t *testing.T, dir string) *hub.Hub {
	t.Helper()
	return hubtest.Start(t, func(o *hub.Options) {
		o.DataDir = dir
		o.HTTPAddr = "127.0.0.1:0"
		if os.Getenv("BF_DEBUG") != "" {
			l := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
			o.Logger = &l
		}
	})
}

// bfPlug is a Tasmota-style plug played by a plain MQTT client: it knows
// nothing of wotmq. It says Online (retained) on its LWT topic with a Will
// of Offline, obeys cmnd/plug1/POWER (ON, OFF, TOGGLE) and answers on
// stat/plug1/POWER; the test makes it send telemetry.
type bfPlug struct {
	c    *hubtest.Client
	conn net.Conn
	mu   sync.Mutex
	on   bool
	cmds []string // the commands it received, in order
	mute bool     // obeys without answering on stat/ (a device that lost the reply)
}

func bfDialPlug(t *testing.T, h *hub.Hub, on bool) *bfPlug {
	t.Helper()
	p := &bfPlug{on: on}
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	p.conn = conn
	p.c = hubtest.NewClient(t, conn, "plug1")
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	if _, err := p.c.Connect(ctx, &paho.Connect{ClientID: "plug1", CleanStart: true, KeepAlive: 30,
		WillMessage: &paho.WillMessage{Topic: "tele/plug1/LWT", Payload: []byte("Offline"), Retain: true, QoS: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.c.Publish(ctx, &paho.Publish{Topic: "tele/plug1/LWT", Payload: []byte("Online"), Retain: true, QoS: 1}); err != nil {
		t.Fatal(err)
	}
	p.c.Sub("cmnd/plug1/#")
	go p.serve()
	return p
}

func (p *bfPlug) serve() {
	for {
		select {
		case <-p.c.Done():
			return
		case m := <-p.c.Msgs:
			if m.Topic != "cmnd/plug1/POWER" {
				continue
			}
			p.mu.Lock()
			cmd := string(m.Payload)
			p.cmds = append(p.cmds, cmd)
			switch cmd {
			case "ON":
				p.on = true
			case "OFF":
				p.on = false
			case "TOGGLE":
				p.on = !p.on
			}
			state, mute := map[bool]string{true: "ON", false: "OFF"}[p.on], p.mute
			p.mu.Unlock()
			if !mute {
				ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
				_, _ = p.c.Publish(ctx, &paho.Publish{Topic: "stat/plug1/POWER", Payload: []byte(state), QoS: 1})
				cancel()
			}
		}
	}
}

func (p *bfPlug) commands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cmds...)
}

// bfHTTP sends an HTTP request as the dev-mode account user and returns
// the status and body.
func bfHTTP(t *testing.T, h *hub.Hub, user, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, hubtest.HTTPURL(h)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, "")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		if method == http.MethodPut && strings.Count(path, "/") == 2 {
			req.Header.Set("Content-Type", "application/td+json")
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func bfThingPath(id string) string { return "/things/" + url.PathEscape(id) }

func bfReadTD(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBrownfieldPlug: a plain MQTT client plays a Tasmota plug; an
// integrator registers the plug's TD over HTTP with "wotmq:proxy"; a
// consumer then uses the twin over MQTT and HTTP: presence from the LWT
// (retained before the TD came), read, observe, history, write and invoke
// (completed when the device reported the state), telemetry as a property
// and an event, and a command held while the device is offline that goes
// out when it comes back, across a restart of the hub.
func TestBrownfieldPlug(t *testing.T) {
	dir := t.TempDir()
	h := bfStart(t, dir)
	plug := bfDialPlug(t, h, false)

	code, body := bfHTTP(t, h, "integrator", http.MethodPut, bfThingPath(bfPlugID), bfReadTD(t, "tasmota/plug1.td.json"))
	if code != http.StatusCreated {
		t.Fatalf("PUT TD: %d %s", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app := hubtest.Connect(t, hubtest.URL(h), "app")
	thing, err := app.Thing(ctx, bfPlugID)
	if err != nil {
		t.Fatal(err)
	}
	// Presence: the device's LWT was retained before the TD was registered.
	hubtest.WaitFor(t, "presence online from the retained LWT", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/events/presence", "")
		if os.Getenv("BF_DEBUG") != "" {
			t.Logf("%d %s", code, body)
		}
		return code == http.StatusOK && bytes.Contains(body, []byte(`online`))
	})

	// Observe, then the device reports its state on its own topic.
	seen := make(chan string, 16)
	if _, err := thing.ObserveProperty(ctx, "power", func(m wot.Message) {
		if !m.Retained {
			seen <- string(m.Payload) + " " + m.Sender
		}
	}); err != nil {
		t.Fatal(err)
	}
	plug.c.MustPub("stat/plug1/POWER", []byte("OFF"), nil)
	if got := bfNext(t, seen); got != "false integrator" {
		t.Fatalf("observed %q, want false stamped by the integrator's account", got)
	}
	var on bool
	if err := thing.ReadProperty(ctx, "power", &on); err != nil || on {
		t.Fatalf("read power: %v %v, want false", on, err)
	}

	// Write over MQTT: completes once the device reported the new state.
	if err := thing.WriteProperty(ctx, "power", true); err != nil {
		t.Fatalf("write power: %v", err)
	}
	if got := plug.commands(); len(got) != 1 || got[0] != "ON" {
		t.Fatalf("device got %q, want [ON]", got)
	}
	if got := bfNext(t, seen); got != "true integrator" {
		t.Fatalf("observed %q after the write", got)
	}

	// Invoke over HTTP: TOGGLE, the output is the state the device reported.
	code, body = bfHTTP(t, h, "app", http.MethodPost, bfThingPath(bfPlugID)+"/actions/toggle", "")
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "false" {
		t.Fatalf("invoke toggle over HTTP: %d %s, want 200 false", code, body)
	}
	if got := bfNext(t, seen); got != "false integrator" {
		t.Fatalf("observed %q after the toggle", got)
	}
	// Read and write over HTTP.
	code, body = bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power", "")
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "false" {
		t.Fatalf("GET power: %d %s", code, body)
	}
	code, body = bfHTTP(t, h, "app", http.MethodPut, bfThingPath(bfPlugID)+"/properties/power", "true")
	if code != http.StatusNoContent {
		t.Fatalf("PUT power: %d %s", code, body)
	}
	if got := bfNext(t, seen); got != "true integrator" {
		t.Fatalf("observed %q after the HTTP write", got)
	}
	if got := plug.commands(); strings.Join(got, ",") != "ON,TOGGLE,ON" {
		t.Fatalf("device got %q, want ON, TOGGLE, ON", got)
	}

	// Telemetry: one JSON message is a property (a pointer into it) and an
	// event (another part of it).
	events := make(chan string, 4)
	if _, err := thing.SubscribeEvent(ctx, "energy", func(m wot.Message) { events <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	plug.c.MustPub("tele/plug1/SENSOR", []byte(`{"Time":"2026-12-07T06:00:00","ENERGY":{"Total":1.5,"Today":0.2,"Power":42.5,"Voltage":230,"Current":0.19}}`), nil)
	if got := bfNext(t, events); !strings.Contains(got, `"Power":42.5`) || strings.Contains(got, "Time") {
		t.Fatalf("energy event %s", got)
	}
	hubtest.WaitFor(t, "watts 42.5", func() bool {
		var w float64
		return thing.ReadProperty(ctx, "watts", &w) == nil && w == 42.5
	})
	// A message the TD does not describe is dropped; the twin keeps its value.
	plug.c.MustPub("stat/plug1/POWER", []byte("BROKEN"), nil)
	plug.c.MustPub("stat/plug1/POWER", []byte("ON"), nil)
	if got := bfNext(t, seen); got != "true integrator" {
		t.Fatalf("observed %q after a bad then a good report", got)
	}

	// History of the property, over MQTT and HTTP.
	page, err := thing.PropertyHistory(ctx, "power", wot.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, it := range page.Items {
		vals = append(vals, string(it.Value))
	}
	if strings.Join(vals, ",") != "false,true,false,true,true" {
		t.Fatalf("power history %v", vals)
	}
	code, body = bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/history", "")
	if code != http.StatusOK || bytes.Count(body, []byte(`"value"`)) != 5 {
		t.Fatalf("GET power history: %d %s", code, body)
	}

	// The device goes away: its Will says Offline and the twin follows.
	plug.conn.Close()
	hubtest.WaitFor(t, "presence offline from the Will", func() bool {
		var p wot.PresenceState
		return bfPresence(t, h, &p) && p.State == wot.PresenceOffline
	})
	// A write while the device is offline is held (waiting), and survives
	// a restart of the hub.
	st := bfWriteAsync(t, h, bfPlugID, "power", "false")
	hubtest.WaitFor(t, "the write waiting for the device", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"waiting"`))
	})
	app.Close(ctx)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h = bfStart(t, dir)
	code, body = bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"waiting"`)) {
		t.Fatalf("after the restart the write is %d %s, want waiting", code, body)
	}
	plug = bfDialPlug(t, h, true) // says Online: the held write goes out
	hubtest.WaitFor(t, "the held write completed", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"completed"`))
	})
	if got := plug.commands(); len(got) != 1 || got[0] != "OFF" {
		t.Fatalf("after the restart the device got %q, want [OFF]", got)
	}
	code, body = bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/history", "")
	if code != http.StatusOK || bytes.Count(body, []byte(`"value"`)) != 6 {
		t.Fatalf("history after the restart: %d %s", code, body)
	}

	// The hub restarts while the device is online: its retained "Online"
	// is restored, but the device is not connected yet, so a write made
	// now waits for it instead of going out to nobody.
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = bfStart(t, dir)
	st = bfWriteAsync(t, h, bfPlugID, "power", "true")
	hubtest.WaitFor(t, "the write waiting for the device to reconnect", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"waiting"`))
	})
	plug = bfDialPlug(t, h, false)
	hubtest.WaitFor(t, "the write completed once the device reconnected", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(bfPlugID)+"/properties/power/writes/"+st, "")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"completed"`))
	})
	if got := plug.commands(); len(got) != 1 || got[0] != "ON" {
		t.Fatalf("the reconnected device got %q, want [ON]", got)
	}
}

func bfNext(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(hubtest.Timeout):
		t.Fatal("nothing observed")
		return ""
	}
}

func bfPresence(t *testing.T, h *hub.Hub, p *wot.PresenceState) bool {
	t.Helper()
	return bfPresenceOf(t, h, bfPlugID, p)
}

// bfPresenceOf reads the last presence change of a Thing.
func bfPresenceOf(t *testing.T, h *hub.Hub, thingID string, p *wot.PresenceState) bool {
	t.Helper()
	code, body := bfHTTP(t, h, "app", http.MethodGet, bfThingPath(thingID)+"/events/presence", "")
	if code != http.StatusOK {
		return false
	}
	var page wot.HistoryPage
	if json.Unmarshal(body, &page) != nil || len(page.Items) == 0 {
		return false
	}
	return json.Unmarshal(page.Items[len(page.Items)-1].Value, p) == nil
}

// bfWriteAsync writes a property over MQTT without waiting for its
// outcome and returns the request's ID.
func bfWriteAsync(t *testing.T, h *hub.Hub, thingID, name, value string) string {
	t.Helper()
	c := hubtest.Dial(t, h, "writer")
	c.Sub("replies/writer/#")
	c.MustPub(wot.Topic{Kind: wot.TopicPropertySet, ThingID: thingID, Name: name}.String(), []byte(value),
		&paho.PublishProperties{ResponseTopic: "replies/writer/w", CorrelationData: []byte("w")})
	m := c.Next("replies/writer/w")
	for _, u := range m.Properties.User {
		if u.Key == wot.PropActionID {
			return u.Value
		}
	}
	t.Fatalf("no action ID in the write's reply")
	return ""
}
