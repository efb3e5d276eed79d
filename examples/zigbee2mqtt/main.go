// Command zigbee2mqtt is a simulated Zigbee2MQTT bridge with one climate
// sensor: a plain MQTT client (paho, no wotmq code) on Zigbee2MQTT's
// topics. The hub gives the sensor a twin from its TD, sensor1.td.json
// beside this file (docs/brownfield.md).
//
// Like Zigbee2MQTT it publishes the sensor's state as one JSON object on
// zigbee2mqtt/{name} (temperature, humidity, battery, linkquality and the
// sensor's report_interval), its availability as {"state":"online"}
// (retained) on zigbee2mqtt/{name}/availability, and takes commands as
// JSON objects on zigbee2mqtt/{name}/set ({"report_interval": 60},
// {"identify": "identify"}).
//
//	go run ./examples/zigbee2mqtt -broker mqtt://127.0.0.1:1883 -name sensor1
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// config is what the flags set.
type config struct {
	Broker   string // mqtt:// URL of the broker (the hub)
	Username string // MQTT credentials; none on a hub started with --dev
	Password string //
	Name     string // the sensor's friendly name
	// Unit is the unit of report_interval: a second for a real sensor,
	// shorter in tests.
	Unit time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", "mqtt://127.0.0.1:1883", "MQTT broker URL")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.Name, "name", "sensor1", "the sensor's friendly name")
	flag.DurationVar(&cfg.Unit, "unit", time.Second, "the unit of report_interval")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "zigbee2mqtt:", err)
		os.Exit(1)
	}
}

// reading is the sensor's state as Zigbee2MQTT publishes it.
type reading struct {
	Temperature    float64 `json:"temperature"`
	Humidity       float64 `json:"humidity"`
	Battery        int     `json:"battery"`
	LinkQuality    int     `json:"linkquality"`
	ReportInterval int     `json:"report_interval"`
}

// run connects, reports and serves commands until ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) error {
	u, err := url.Parse(cfg.Broker)
	if err != nil {
		return err
	}
	base := "zigbee2mqtt/" + cfg.Name
	avail := base + "/availability"
	cmds := make(chan []byte, 16)
	ups := make(chan *autopaho.ConnectionManager, 4)
	publish := func(cm *autopaho.ConnectionManager, topic string, payload []byte, retain bool) {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := cm.Publish(pctx, &paho.Publish{Topic: topic, Payload: payload, QoS: 1, Retain: retain}); err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "publish %s: %v\n", topic, err)
		}
	}
	cc := autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		ConnectUsername: cfg.Username, ConnectPassword: []byte(cfg.Password),
		WillMessage:      &paho.WillMessage{Topic: avail, Payload: []byte(`{"state":"offline"}`), QoS: 1, Retain: true},
		ReconnectBackoff: func(attempt int) time.Duration { return min(time.Duration(attempt), 1) * time.Second },
		OnConnectionUp:   func(cm *autopaho.ConnectionManager, _ *paho.Connack) { ups <- cm },
		OnConnectError:   func(err error) { fmt.Fprintf(out, "connect: %v\n", err) },
		ClientConfig: paho.ClientConfig{
			ClientID: "zigbee2mqtt-bridge",
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				cmds <- pr.Packet.Payload // handled below: a handler must not publish
				return true, nil
			}},
		},
	}
	connCtx, connCancel := context.WithCancel(context.Background()) // outlives ctx by the goodbye
	defer connCancel()
	cm, err := autopaho.NewConnection(connCtx, cc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "connecting to %s as the bridge of %s\n", cfg.Broker, cfg.Name)
	r := reading{Temperature: 21.0, Humidity: 45, Battery: 97, LinkQuality: 120, ReportInterval: 10}
	report := func() {
		r.Temperature = float64(int((r.Temperature+rand.Float64()-0.5)*10)) / 10
		r.Humidity = float64(int((r.Humidity+2*rand.Float64()-1)*10)) / 10
		b, _ := json.Marshal(r)
		publish(cm, base, b, false)
	}
	timer := time.NewTimer(time.Duration(r.ReportInterval) * cfg.Unit)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			publish(cm, avail, []byte(`{"state":"offline"}`), true)
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = cm.Disconnect(dctx)
			return nil
		case c := <-ups:
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := c.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: base + "/set", QoS: 1}}})
			cancel()
			if err != nil {
				fmt.Fprintf(out, "subscribe: %v\n", err)
				continue
			}
			publish(c, avail, []byte(`{"state":"online"}`), true)
			report()
			fmt.Fprintf(out, "online: %s reports every %d\n", cfg.Name, r.ReportInterval)
		case cmd := <-cmds:
			var set map[string]any
			if json.Unmarshal(cmd, &set) != nil {
				fmt.Fprintf(out, "ignored %q\n", cmd)
				continue
			}
			if v, ok := set["report_interval"].(float64); ok && v >= 10 && v <= 3600 {
				r.ReportInterval = int(v)
				timer.Reset(time.Duration(r.ReportInterval) * cfg.Unit)
				// Zigbee2MQTT publishes only what changed after a set.
				b, _ := json.Marshal(map[string]int{"report_interval": r.ReportInterval})
				publish(cm, base, b, false)
				fmt.Fprintf(out, "report_interval = %d\n", r.ReportInterval)
			}
			if set["identify"] == "identify" {
				fmt.Fprintln(out, "identify: blinking")
			}
		case <-timer.C:
			report()
			timer.Reset(time.Duration(r.ReportInterval) * cfg.Unit)
		}
	}
}
