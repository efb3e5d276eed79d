package explorer_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// explorerBenchTD is a Thing of the kind a building has many of.
func explorerBenchTD(i int) string {
	return fmt.Sprintf(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"Sensor %04d","@type":["TemperatureSensor"],
"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc",
"properties":{"temperature":{"type":"number","readOnly":true,"unit":"celsius"},"setpoint":{"type":"number","minimum":5,"maximum":30},"on":{"type":"boolean"}},
"actions":{"calibrate":{"input":{"type":"object","properties":{"offset":{"type":"number"}}}}},
"events":{"alarm":{"data":{"type":"string"}}}}`, i)
}

// BenchmarkExplorerPages measures the server time of each page on a
// development hub with 1,000 Things (ten agents of 100, a temperature
// history of 1,000 values on the first), over loopback HTTP:
//
//	go test -run '^$' -bench ExplorerPages -benchtime 200x ./explorer
//
// docs/explorer.md has the figures.
func BenchmarkExplorerPages(b *testing.B) {
	h := hubtest.Start(b, func(o *hub.Options) {
		o.HTTPAddr = "127.0.0.1:0"
		o.Explorer = true
	})
	base := hubtest.HTTPURL(h)
	do := func(method, path, body, user string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.SetBasicAuth(user, "")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}
	const things = 1000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if code, body := do("PUT", fmt.Sprintf("/things/urn:dev:bench:%04d", i), explorerBenchTD(i), fmt.Sprintf("agent-%d", i/100)); code != http.StatusCreated {
					b.Errorf("register %d: %d %s", i, code, body)
				}
			}
		})
	}
	for i := range things {
		work <- i
	}
	close(work)
	wg.Wait()
	// A history of 1,000 temperatures on the first Thing: its agent
	// reports them over MQTT.
	agent := hubtest.Dial(b, h, "agent-0")
	for i := range 1000 {
		agent.MustPub("agents/agent-0/things/urn:dev:bench:0000/properties/temperature", []byte(fmt.Sprint(20+float64(i%50)/10)), nil)
	}
	hubtest.WaitFor(b, "1,000 temperatures stored", func() bool {
		_, body := do("GET", "/things/urn:dev:bench:0000/properties/temperature/history?limit=1000", "", "")
		return strings.Count(body, `"kind"`) == 1000
	})
	now := time.Now().UTC()
	for _, p := range []struct{ name, path string }{
		{"Things", "/explorer/things"},
		{"ThingsLastPage", "/explorer/things?offset=950"},
		{"ThingsSearch", "/explorer/things?q=sensor+0999"},
		{"ThingsRows", "/explorer/things?fragment=rows"},
		{"Thing", "/explorer/things/urn:dev:bench:0500"},
		{"HistoryChart1000", "/explorer/things/urn:dev:bench:0000/history?series=property:temperature&range=1h"},
		{"TimeTravel", "/explorer/things/urn:dev:bench:0000/at?t=" + now.Format(time.RFC3339)},
		{"Agents", "/explorer/agents"},
	} {
		b.Run(p.name, func(b *testing.B) {
			var bytes int
			for b.Loop() {
				code, body := do("GET", p.path, "", "")
				if code != http.StatusOK {
					b.Fatalf("%s: %d %s", p.path, code, body)
				}
				bytes = len(body)
			}
			b.ReportMetric(float64(bytes)/1024, "KiB/page")
		})
	}
}
