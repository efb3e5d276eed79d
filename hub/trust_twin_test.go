package hub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// twinEmptyProps is an agent TD with n empty properties, named p0000...
func twinEmptyProps(id string, n int) []byte {
	var b strings.Builder
	b.WriteString(`,"properties":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"p%04d":{}`, i)
	}
	b.WriteString(`}`)
	return tdWith(id, b.String())
}

// twinRegister publishes an agent TD and returns the PUBACK.
func twinRegister(c *client, agent, id string, body []byte) (byte, string) {
	c.TB.Helper()
	return c.publish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: agent, ThingID: id}.String(), body, nil)
}

// twinMaxPacket sets the client's Maximum Packet Size.
func twinMaxPacket(n uint32) dialOpt {
	return func(c *paho.Connect) {
		if c.Properties == nil {
			c.Properties = &paho.ConnectProperties{}
		}
		c.Properties.MaximumPacketSize = &n
	}
}

// TestTwinAmplification: what one agent's TD makes the hub hold and serve
// is bounded (affordances per TD, twin TD size), and twin TDs are compact.
func TestTwinAmplification(t *testing.T) {
	t.Run("TenThousandEmptyPropertiesRefusedWithQuota", func(t *testing.T) {
		h := startHub(t, t.TempDir(), withHTTP)
		agent := dial(t, h, "gw")
		body := twinEmptyProps("urn:big", 10000)
		rc, reason := twinRegister(agent, "gw", "urn:big", body)
		if rc != 0x97 || !strings.HasPrefix(reason, "quota: ") || !strings.Contains(reason, "10000 affordances") {
			t.Fatalf("TD of %d bytes with 10,000 properties: %#x %q, want 0x97 quota naming the count", len(body), rc, reason)
		}
		// Nothing retained: a sentinel Thing registered after it is the
		// only twin TD a new subscriber gets.
		agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "gw", ThingID: "urn:small"}.String(), tdWith("urn:small", ""), nil)
		c := dial(t, h, "viewer")
		c.subscribe("things/+/td")
		if m := c.next(""); m.Topic != wot.TDTopic("urn:small") {
			t.Fatalf("first retained twin TD on %s, want only the sentinel's", m.Topic)
		}
		// The HTTP binding refuses it the same way (429, quota).
		status, problem := twinHTTPPut(t, h, "urn:big", body)
		if status != 429 || !strings.Contains(problem, `"quota"`) {
			t.Errorf("HTTP PUT of the TD: %d %s, want 429 quota", status, problem)
		}
	})

	t.Run("AcceptedTwinReachesClientWithMaxPacketSizeOfMaxPayload", func(t *testing.T) {
		const maxPayload = 32 << 10
		h := startHub(t, t.TempDir(), withHTTP, func(o *hub.Options) { o.Limits.MaxPayload = maxPayload })
		agent := dial(t, h, "gw")
		// Grow a TD until the hub refuses it; its TD alone stays well
		// under max-payload, its twin does not.
		last, refused := 0, ""
		for n := 10; n <= 400; n += 10 {
			body := twinEmptyProps("urn:grow", n)
			if len(body) > maxPayload {
				t.Fatalf("agent TD of %d properties is %d bytes, over max-payload", n, len(body))
			}
			rc, reason := twinRegister(agent, "gw", "urn:grow", body)
			if rc >= 0x80 {
				if rc != 0x97 || !strings.HasPrefix(reason, "too_large: ") {
					t.Fatalf("TD of %d properties: %#x %q, want 0x97 too_large", n, rc, reason)
				}
				refused = reason
				break
			}
			last = n
		}
		if refused == "" {
			t.Fatalf("every TD up to 400 properties accepted; a twin TD over max-payload (%d) must be refused", maxPayload)
		}
		t.Logf("largest accepted: %d properties; refused with %q", last, refused)
		// The retained twin is the last accepted one, and a client whose
		// Maximum Packet Size is max-payload receives it.
		c := dial(t, h, "viewer", twinMaxPacket(maxPayload))
		c.subscribe(wot.TDTopic("urn:grow"))
		m := c.next(wot.TDTopic("urn:grow"))
		twin, err := td.Parse(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if len(twin.Properties) != last {
			t.Errorf("retained twin has %d properties, want %d (the last accepted TD)", len(twin.Properties), last)
		}
	})

	t.Run("LampTwinCompact", func(t *testing.T) {
		h := startHub(t, t.TempDir(), withHTTP)
		registerLamp(t, h)
		c := dial(t, h, "viewer")
		c.subscribe(wot.TDTopic(lampID))
		m := c.next(wot.TDTopic(lampID))
		twin, err := td.Parse(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		agentTD := compactJSON(t, lampTD(t))
		ratio := float64(len(m.Payload)) / float64(len(agentTD))
		t.Logf("lamp: agent TD %d bytes, twin TD %d bytes: %.1fx", len(agentTD), len(m.Payload), ratio)
		if ratio > 10 { // 14.9x with absolute hrefs and a form per op
			t.Errorf("lamp twin TD is %.1fx its agent TD, want at most 10x", ratio)
		}
		base, err := url.Parse(twin.Base)
		if err != nil || base.Scheme != "http" || !strings.HasSuffix(base.Path, "/things/"+lampID+"/") {
			t.Fatalf("base = %q, want the Thing's HTTP URL with a trailing slash", twin.Base)
		}
		for name, p := range twin.Properties {
			for _, f := range p.Forms {
				if strings.HasPrefix(f.Href, "http") {
					t.Errorf("property %s: absolute HTTP href %s, want one relative to base", name, f.Href)
				}
				if f.ContentType != "" {
					t.Errorf("property %s: contentType %q repeated, the default is application/json", name, f.ContentType)
				}
			}
			if max := 4; len(p.Forms) > max {
				t.Errorf("property %s has %d forms, want at most %d (one per URL and topic)", name, len(p.Forms), max)
			}
		}
		for name, a := range twin.Actions {
			if len(a.Forms) > 4 {
				t.Errorf("action %s has %d forms, want at most 4 (one HTTP, one per MQTT topic)", name, len(a.Forms))
			}
		}
		if got := twin.Href(twin.Properties["brightness"].Forms[0]); got != strings.TrimSuffix(twin.Base, "/")+"/properties/brightness" {
			t.Errorf("brightness resolves to %s", got)
		}
	})

	t.Run("AtTheCapAmplificationBounded", func(t *testing.T) {
		h := startHub(t, t.TempDir(), withHTTP, func(o *hub.Options) { o.Limits.MaxPayload = -1 })
		agent := dial(t, h, "gw")
		body := twinEmptyProps("urn:cap", twin.DefaultMaxAffordances)
		agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "gw", ThingID: "urn:cap"}.String(), body, nil)
		c := dial(t, h, "viewer")
		c.subscribe(wot.TDTopic("urn:cap"))
		m := c.next(wot.TDTopic("urn:cap"))
		ratio := float64(len(m.Payload)) / float64(len(body))
		t.Logf("%d empty properties: agent TD %d bytes, twin TD %d bytes: %.1fx", twin.DefaultMaxAffordances, len(body), len(m.Payload), ratio)
		if ratio > 60 { // 92x with absolute hrefs and a form per op
			t.Errorf("twin TD is %.1fx its agent TD, want at most 60x", ratio)
		}
		if rc, reason := twinRegister(agent, "gw", "urn:cap", twinEmptyProps("urn:cap", twin.DefaultMaxAffordances+1)); rc != 0x97 || !strings.HasPrefix(reason, "quota: ") {
			t.Errorf("one affordance over the cap: %#x %q, want 0x97 quota", rc, reason)
		}
	})
}

// compactJSON removes insignificant white space.
func compactJSON(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// twinHTTPPut registers a TD over HTTP and returns the status and body.
func twinHTTPPut(tb testing.TB, h *hub.Hub, id string, body []byte) (int, string) {
	tb.Helper()
	r := newWeb(tb, h).do("PUT", "/things/"+url.PathEscape(id), body, "Content-Type", "application/td+json")
	return r.status, string(r.body)
}
