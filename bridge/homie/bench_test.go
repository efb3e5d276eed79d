package homie_test

import (
	"context"
	"testing"
	"time"

	"github.com/wotmq/wotmq/bridge/homie"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
	"github.com/wotmq/wotmq/wot"
)

// BenchmarkHomieValue measures a property value's way to a subscriber of
// the twin's topic and, with --homie, of the Homie device's topic: the
// agent publishes one value at a time and waits until the subscriber has
// it. It reports the mean latency of each (µs/value).
func BenchmarkHomieValue(b *testing.B) {
	for _, bridged := range []bool{false, true} {
		name := "twin-topic"
		if bridged {
			name = "homie-topic"
		}
		b.Run(name, func(b *testing.B) {
			h := hubtest.Start(b, func(o *hub.Options) { o.Homie = bridged })
			agent := hubtest.Connect(b, hubtest.URL(h), "bench-agent", func(o *wot.Options) { o.Username = "bench" })
			e, err := agent.Produce(wot.NewThing("bench-lamp", "Lamp").Property("level", td.DataSchema{Type: "integer"}).TD())
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Expose(context.Background()); err != nil {
				b.Fatal(err)
			}
			topic := wire.PropertyTopic(e.ID(), "level")
			if bridged {
				topic = homie.Root + "/" + homie.DeviceID(e.ID()) + "/properties/level"
			}
			sub := hubtest.Dial(b, h, "bench-sub")
			sub.Sub(topic)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if err := e.UpdateProperty(ctx, "level", i); err != nil {
					b.Fatal(err)
				}
				for m := sub.Next(topic); m.Retain; m = sub.Next(topic) { // a retained earlier value
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/value")
		})
	}
}
