package proxy_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// BenchmarkProxyReadings measures device readings turned into twin values
// through the proxy (a plain client publishes QoS 1 JSON on
// tele/plug1/SENSOR; the proxy maps /ENERGY/Power to the property watts and
// /ENERGY to the event energy: two stored records per reading), beside
// the same values published by an agent on its own topics (one record
// each). Each ends when the last value is readable.
func BenchmarkProxyReadings(b *testing.B) {
	for _, via := range []string{"proxy", "agent"} {
		b.Run(via, func(b *testing.B) {
			h := bfStartB(b)
			dev := hubtest.Dial(b, h, "plug1")
			topic := "tele/plug1/SENSOR"
			payload := func(i int) []byte { return []byte(`{"ENERGY":{"Power":` + strconv.Itoa(i) + `}}`) }
			if via == "agent" {
				dev.MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "plug1", ThingID: "urn:agent-plug"}.String(),
					[]byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"p","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",`+
						`"properties":{"watts":{"type":"number","readOnly":true}}}`), nil)
				topic = wot.Topic{Kind: wot.TopicAgentProperty, AgentID: "plug1", ThingID: "urn:agent-plug", Name: "watts"}.String()
				payload = func(i int) []byte { return []byte(strconv.Itoa(i)) }
			} else if code, body := bfHTTPB(b, h, bfThingPath(bfPlugID), bfReadTDB(b)); code != http.StatusCreated {
				b.Fatalf("PUT TD: %d %s", code, body)
			}
			thing := bfPlugID
			if via == "agent" {
				thing = "urn:agent-plug"
			}
			app := hubtest.Connect(b, hubtest.URL(h), "app")
			ctx := context.Background()
			ct, err := app.Thing(ctx, thing)
			if err != nil {
				b.Fatal(err)
			}
			last := make(chan struct{})
			want := strconv.Itoa(b.N)
			if _, err := ct.ObserveProperty(ctx, "watts", func(m wot.Message) {
				if string(m.Payload) == want {
					close(last)
				}
			}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				if _, err := dev.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload(i)}); err != nil {
					b.Fatal(err)
				}
			}
			<-last
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// bfStartB, bfHTTPB and bfReadTDB are the benchmark's forms of bfStart,
// bfHTTP and bfReadTD, with the plug's TD without availability (the twin
// is online while the hub runs).
func bfStartB(b *testing.B) *hub.Hub {
	b.Helper()
	dir := b.TempDir()
	return hubtest.Start(b, func(o *hub.Options) { o.DataDir, o.HTTPAddr = dir, "127.0.0.1:0" })
}

func bfHTTPB(b *testing.B, h *hub.Hub, path, body string) (int, string) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodPut, hubtest.HTTPURL(h)+path, strings.NewReader(body))
	req.SetBasicAuth("integrator", "")
	req.Header.Set("Content-Type", "application/td+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func bfReadTDB(b *testing.B) string {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "examples", "tasmota", "plug1.td.json"))
	if err != nil {
		b.Fatal(err)
	}
	return strings.Replace(string(raw), `"wotmq:availability"`, `"x-unused"`, 1)
}
